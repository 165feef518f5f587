"""Text that every database text column accepts, and failures logged so that none is lost.

PostgreSQL text cannot hold NUL, and no database driver can encode a lone surrogate: Python
writes the bytes of a file name that are not UTF-8 as surrogates (``os.fsdecode``), and JSON's
``"\\ud800"`` escapes make them too. Anything written to the database that came from outside
(paths, error messages quoting a link's target or a damaged file's bytes) goes through
:func:`storable` first, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from archive.storage.models import IngestError

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# What a refused value raises: the database's error, or the driver's when it cannot encode it.
_REFUSED = (SQLAlchemyError, UnicodeError, ValueError)


def storable(text: str) -> str:
    """``text`` without NUL, and with each lone surrogate written out: ``\\xNN`` for a byte of a
    file name that is not UTF-8 (``caf\\xe9.txt``), ``\\uDNNN`` for any other."""
    if _UNSTORABLE.search(text) is None:
        return text
    return _SURROGATE.sub(_escape, text.replace("\x00", ""))


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's stand-in for the byte code - 0xDC00
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def log_failures(
    session: Session, run_id: int, failures: Iterable[tuple[str, str]], now: datetime
) -> None:
    """Write ``(source_path, error)`` pairs to ``ingest_errors`` for run ``run_id``.

    The rows go in a savepoint; should the database still refuse one, each is written alone and
    a refused one again in plain ASCII, so a failure to record one error never takes the
    batch's other records (or errors) with it.
    """
    rows = [
        {"run_id": run_id, "source_path": storable(path), "error": storable(error),
         "occurred_at": now}
        for path, error in failures
    ]  # fmt: skip
    if not rows:
        return
    try:
        with session.begin_nested():
            session.execute(insert(IngestError), rows)
        return
    except _REFUSED:
        if len(rows) == 1:
            _log_ascii(session, rows[0])
            return
    for row in rows:
        try:
            with session.begin_nested():
                session.execute(insert(IngestError), [row])
        except _REFUSED:
            _log_ascii(session, row)


def _log_ascii(session: Session, row: dict[str, object]) -> None:
    def ascii_only(value: object) -> str:
        text = str(value).encode("ascii", "backslashreplace").decode("ascii")
        return text.replace("\x00", "")

    with session.begin_nested():
        session.execute(
            insert(IngestError),
            [{**row, "source_path": ascii_only(row["source_path"]),
              "error": ascii_only(row["error"])}],
        )  # fmt: skip
