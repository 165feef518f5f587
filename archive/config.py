"""Where the archive database is: one rule shared by the CLI, the library and Alembic.

Also the one limit on input size (:func:`max_article_bytes`), read here so that the worker
processes of an ingest see the same value as the process that started them, and how long a
writer waits for another (:func:`lock_timeout`).
"""

from __future__ import annotations

import os
import re
from urllib.parse import quote, quote_plus, unquote, urlsplit

# SQLAlchemy is imported where a URL is parsed, not here: `archive --help` reads this module and
# should not pay a third of a second for it.

DEFAULT_DATABASE_URL = "sqlite:///archive.db"
DATABASE_URL_ENV = "ARCHIVE_DB"
# Files written per database transaction by an ingest.
DEFAULT_BATCH_SIZE = 1000
# "postgresql+psycopg:", "sqlite:": a scheme of two letters or more (one is a Windows drive).
_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:")

MASK = "***"
# libpq and most drivers also take credentials as query parameters: ?password=, ?sslpassword=
_SECRET_PARAMETER = re.compile(r"pass|secret|token|credential", re.IGNORECASE)

MEGABYTE = 1_000_000
# One article (a text, HTML or JSON document, a JSONL line, a WARC record's page) larger than
# this is refused without being read whole. Extraction and fingerprinting take about 50 bytes of
# memory per byte of text and about a second per megabyte, so the limit bounds a worker
# at about 250 MB and 5 s a file; a long-form news article is well under 1 MB of text, a heavy
# news page under 5 MB of HTML. Container files (JSONL, WARC) have no limit: they are streamed.
DEFAULT_MAX_ARTICLE_MB = 5
MAX_ARTICLE_MB_ENV = "ARCHIVE_MAX_ARTICLE_MB"

# How long a writer waits for another one to finish its transaction before it gives up: long,
# since the writer may be another program; the waiting writer says so meanwhile.
LOCK_TIMEOUT_ENV = "ARCHIVE_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT_S = 3600.0
# A writer says it waits for the lock once it has waited this long, not at once: with several
# processes ingesting into one archive, each waits a moment for the others' write steps at
# nearly every batch, and saying so each time buried everything else a run had to say.
LOCK_NOTICE_S = 1.0


def database_url(explicit: str | None = None) -> str:
    """The database URL: ``explicit`` (``--db``), else ``$ARCHIVE_DB``, else ``archive.db`` here.

    Each may be a URL or the path of a SQLite file (see :func:`as_url`)."""
    return as_url(explicit or os.environ.get(DATABASE_URL_ENV) or DEFAULT_DATABASE_URL)


def as_url(location: str) -> str:
    """``location`` as a database URL: a URL as it is, a file path (``archive.db``,
    ``/data/news.db``) as the URL of that SQLite file."""
    if _URL_SCHEME.match(location):
        return location
    return f"sqlite:///{location}"


def sqlite_file(url: str) -> str | None:
    """The file of a SQLite URL (as the URL names it), None for another database, an in-memory
    SQLite database or a URL that cannot be parsed."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return None
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if parsed.query.get("uri") == "true" and database.startswith("file:"):
        # sqlite:///file:PATH?mode=ro&uri=true: SQLite's own URI, whose path is the file
        database = unquote(urlsplit(database).path)
    if database in {"", ":memory:"} or parsed.query.get("mode") == "memory":
        return None
    return database


# The URLs the archive works with: SQLite through the standard library, PostgreSQL through
# psycopg 3 (the bare scheme is taken to mean it).
SUPPORTED_DRIVERS = {"sqlite": "pysqlite", "postgresql": "psycopg"}
SUPPORTED_URLS = "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE"


class DatabaseURLError(ValueError):
    """A database URL the archive cannot use; the message never quotes its user part."""


def check_database_url(url: str) -> None:
    """Raise :class:`DatabaseURLError` for a URL that is not one of :data:`SUPPORTED_URLS`:
    another database or driver (``mysql://``, ``postgresql+psycopg2://``), or a user part with
    an ``@`` left unencoded (which would make part of the password look like the host)."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception as exc:
        raise DatabaseURLError(f"not a database URL; use {SUPPORTED_URLS}") from exc
    if _userinfo_in_host(parsed.host):
        raise DatabaseURLError(
            "the URL has more than one '@' before the host: percent-encode an '@' in the user "
            "name or password as %40 (user:pa%40ss@host)"
        )
    backend, _, driver = parsed.drivername.partition("+")
    if backend not in SUPPORTED_DRIVERS or driver not in ("", SUPPORTED_DRIVERS[backend]):
        raise DatabaseURLError(
            f"unsupported database {parsed.drivername!r}: the archive works with {SUPPORTED_URLS}"
        )


def _userinfo_in_host(host: str | None) -> bool:
    return host is not None and "@" in host


def display_url(url: str) -> str:
    """The URL with any password masked (in the user part and in query parameters), fit for
    messages and logs."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        # An unparseable URL may still hold a password somewhere: show none of it.
        return "<unparseable database URL>"
    if _userinfo_in_host(parsed.host):
        # "u:pa@ss@host" read as host "ss@host": all of the user part is masked, also its tail.
        assert parsed.host is not None
        parsed = parsed.set(username=MASK, password=None, host=parsed.host.rsplit("@", 1)[1])
    query = {
        key: (MASK if _SECRET_PARAMETER.search(key) else value)
        for key, value in parsed.query.items()
    }
    shown = parsed.set(query=query).render_as_string(hide_password=True)
    return shown.replace(quote(MASK, safe=""), MASK)  # the mask, not its percent-encoding


def mask_secrets(text: str, url: str) -> str:
    """``text`` (an error message, say) with every secret of the database ``url`` masked."""
    for secret in _secrets_of(url):
        text = text.replace(secret, MASK)
    return text


def _secrets_of(url: str) -> list[str]:
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        # Cannot tell the password apart: mask everything between "://" and "@" instead.
        match = re.search(r"://([^@/]*)@", url)
        return [match.group(1)] if match and match.group(1) else []
    secrets = [parsed.password] if parsed.password else []
    if _userinfo_in_host(parsed.host):
        assert parsed.host is not None
        tail = parsed.host.rsplit("@", 1)[0]  # the part of the user part read as the host
        secrets += [tail, f"{parsed.password or ''}@{tail}", *tail.split("@")]
    for key, value in parsed.query.items():
        if _SECRET_PARAMETER.search(key):
            secrets.extend([value] if isinstance(value, str) else value)
    # A secret is also printed percent-encoded, as it stands in the URL itself.
    encoded = [quote(s, safe="") for s in secrets] + [quote_plus(s, safe="") for s in secrets]
    return sorted({s for s in secrets + encoded if s}, key=len, reverse=True)


def max_article_bytes() -> int:
    """The size limit of one article: ``$ARCHIVE_MAX_ARTICLE_MB`` megabytes, else
    :data:`DEFAULT_MAX_ARTICLE_MB`. Raises ValueError when the variable is not a positive
    number."""
    value = os.environ.get(MAX_ARTICLE_MB_ENV, "").strip()
    if not value:
        return DEFAULT_MAX_ARTICLE_MB * MEGABYTE
    try:
        megabytes = float(value)
    except ValueError:
        megabytes = 0.0
    if not 0 < megabytes < float("inf"):
        raise ValueError(
            f"{MAX_ARTICLE_MB_ENV} must be a positive number of megabytes, not {value!r}"
        )
    return int(megabytes * MEGABYTE)


def lock_timeout() -> float:
    """Seconds a writer waits for the archive's write lock: ``$ARCHIVE_LOCK_TIMEOUT``, else
    :data:`DEFAULT_LOCK_TIMEOUT_S`. Raises ValueError when the variable is not a number of
    seconds."""
    value = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not value:
        return DEFAULT_LOCK_TIMEOUT_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise ValueError(f"{LOCK_TIMEOUT_ENV} must be a number of seconds, not {value!r}")
    return seconds
