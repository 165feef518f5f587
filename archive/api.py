"""The archive from Python: ``Archive("news.db")`` takes articles from memory, ingests files and
answers the questions the ``archive`` commands ask, through the same library functions.

Articles added here go down the ingest pipeline of files (:mod:`archive.commands.ingest`):
extracted as a JSON record is (or as an HTML page, for raw HTML), fingerprinted, looked up
(:func:`archive.linking.candidates.look_up`), rechecked and written a batch per transaction
(:func:`archive.commands.ingest.write_batch`). So they join the stories, and record the
evidence, that the same articles ingested as files would. See docs/python.md.

Importing this module is cheap: the pipeline and the queries are imported when first used, and
so are the result and error types it names (``archive.api.NotFoundError``, ``StoryListing``...),
read from the modules that define them on first use. The ``archive`` command line is a thin
layer over this module: every command is one of its calls (tests/test_cli_layers.py).
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, TextIO
from urllib.parse import urlsplit

from archive.config import DEFAULT_BATCH_SIZE

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from archive.commands.diff import VersionDiff as VersionDiff
    from archive.commands.export import ExportSummary as ExportSummary
    from archive.commands.export import Format as ExportFormat
    from archive.commands.ingest import RecordOutcome
    from archive.commands.ingest import Report as Report
    from archive.commands.queries import ArchiveStats as ArchiveStats
    from archive.commands.queries import NotFoundError as NotFoundError
    from archive.commands.queries import StoryDetail as StoryDetail
    from archive.commands.queries import StoryListing as StoryListing
    from archive.commands.queries import StorySummary as StorySummary
    from archive.commands.queries import VersionDetail as VersionDetail
    from archive.commands.queries import VersionListing as VersionListing
    from archive.commands.relink import RelinkReport as RelinkReport
    from archive.commands.remove import Removal as Removal
    from archive.commands.search import SearchHit as SearchHit
    from archive.errors import NoArchiveError as NoArchiveError
    from archive.linking.candidates import Recent
    from archive.sources.article import Article
    from archive.sources.records import ParsedRecord as ParsedRecord
    from archive.sources.records import ParseFailure as ParseFailure
    from archive.sources.records import ParseResult as ParseResult
    from archive.sources.walk import Shard as Shard
    from archive.storage.reader import Reader

# The types the API's calls return or raise, each read from its module on first use (importing
# them all would load the queries, and ``ParseFailure`` the parsers, for every script).
_TYPES = {
    "NoArchiveError": "archive.errors",
    "VersionDiff": "archive.commands.diff",
    "ExportSummary": "archive.commands.export",
    "Report": "archive.commands.ingest",
    "Shard": "archive.sources.walk",
    "ParsedRecord": "archive.sources.records",
    "ParseFailure": "archive.sources.records",
    "ParseResult": "archive.sources.records",
    "ArchiveStats": "archive.commands.queries",
    "NotFoundError": "archive.commands.queries",
    "StoryDetail": "archive.commands.queries",
    "StoryListing": "archive.commands.queries",
    "StorySummary": "archive.commands.queries",
    "VersionDetail": "archive.commands.queries",
    "VersionListing": "archive.commands.queries",
    "RelinkReport": "archive.commands.relink",
    "Removal": "archive.commands.remove",
    "SearchHit": "archive.commands.search",
}


def __getattr__(name: str) -> Any:
    module = _TYPES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


# What ``ingest_runs.paths`` says for the run of an Archive's added articles.
ADDED_RUN_PATHS = "(articles added from Python)"
# ``versions.format`` of an article added with a body, and with the HTML of its page.
BODY_FORMAT = "api"
HTML_FORMAT = "api-html"
_CHUNK = 500

Status = Literal["stored", "archived", "failed"]


@dataclass(frozen=True)
class NewArticle:
    """An article to add: its text (``body``, or the page's ``html`` to extract it from) and
    what is known of it.

    ``source`` names it in the archive (``versions.source_path``), as a file's path does: the
    same source with the same content is added once; with other content it is a new version.
    It defaults to ``url``. ``published`` is a datetime (naive means UTC), a date string in any
    common form, or a Unix timestamp; one that cannot be read is no date, as in files. ``site``
    defaults to the page's site name (HTML) or the URL's host.
    """

    title: str | None = None
    body: str | None = None
    url: str | None = None
    site: str | None = None
    published: datetime | str | int | float | None = None
    source: str | None = None
    html: str | None = None

    def __post_init__(self) -> None:
        for name in ("title", "body", "url", "site", "source", "html"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"article {name} must be a string, not {type(value).__name__}")
        published = self.published
        if isinstance(published, bool) or not isinstance(
            published, datetime | str | int | float | None
        ):
            raise TypeError(
                "article published must be a datetime, a string or a Unix timestamp, "
                f"not {type(published).__name__}"
            )
        if self.body is not None and self.html is not None:
            raise ValueError("give an article a body or its page's html, not both")

    @classmethod
    def of(cls, value: NewArticle | Mapping[str, Any]) -> NewArticle:
        """``value`` as an article: a :class:`NewArticle` as it is, a mapping by its keys (each
        one of the fields)."""
        if isinstance(value, NewArticle):
            return value
        if not isinstance(value, Mapping):
            raise TypeError(
                f"expected an article (NewArticle or a dict), not {type(value).__name__}"
            )
        unknown = sorted(str(key) for key in value if key not in _FIELDS)
        if unknown:
            raise TypeError(
                f"unknown article field {', '.join(map(repr, unknown))}: "
                f"an article has {', '.join(_FIELDS)}"
            )
        return cls(**value)


_FIELDS = tuple(f.name for f in fields(NewArticle))


@dataclass(frozen=True)
class Added:
    """What became of one article given to :meth:`Archive.add`, as the archive stores it.

    ``status`` is ``stored`` (a new version), ``archived`` (its source and content were
    archived already: the version it is) or ``failed`` (nothing stored; ``error`` says why, and
    ``ingest_errors`` has it). The rest is the version's row: its story (the story it is in
    once its batch is written: a later article of the batch may merge stories), how it matched
    (``method`` ``exact``, ``near``, ``rewrite`` or ``new story``; the best matched version,
    Hamming ``distance``, word overlap ``similarity``, ``sentences`` share) and
    ``body_status`` (``article``, ``compilation``, ``page-text``, ``boilerplate-only``).
    """

    source: str
    status: Status
    version_id: int | None = None
    story_id: int | None = None
    method: str | None = None
    matched_version_id: int | None = None
    distance: int | None = None
    similarity: float | None = None
    sentences: float | None = None
    body_status: str | None = None
    merged_stories: int = 0  # other stories this version's links merged into its story
    error: str | None = None

    @property
    def new_story(self) -> bool:
        """Whether this call stored the article as the first version of a new story."""
        return self.status == "stored" and self.method == "new story"

    @property
    def linked(self) -> bool:
        """Whether this call stored the article as a version of a story the archive had."""
        return self.status == "stored" and self.method not in (None, "new story")


class ArchiveClosedError(RuntimeError):
    """The :class:`Archive` was closed: open a new one."""


class Archive:
    """The archive at ``db``: a SQLite file path (``"news.db"``, a :class:`pathlib.Path`) or a
    database URL (``"postgresql+psycopg://user@host/news"``); by default ``$ARCHIVE_DB``, else
    ``archive.db`` here, like the ``archive`` command. A new database is created and brought to
    the current schema; with ``create=False`` there must be an archive there already (as for
    the commands that only read: a mistyped path leaves no empty archive behind), else
    :class:`NoArchiveError` (a LookupError) is raised.

    Use it in a ``with`` block, or call :meth:`close`: the articles an Archive adds make one
    ingest run (``ingest_runs``), marked ``finished`` on close. Not for use from several threads
    at once; several processes may each open their own.

    A SQLite archive that exists at the current schema is read with the standard library's
    sqlite3 (:mod:`archive.storage.sqlite_read`), and SQLAlchemy is loaded only to write or for
    :attr:`engine`: a script that only reads starts at once. The queries and answers are the
    same either way.
    """

    def __init__(self, db: str | os.PathLike[str] | None = None, *, create: bool = True) -> None:
        from archive.config import lock_timeout
        from archive.storage.sqlite_read import archive_file

        self.url = database_url_of(db)
        lock_timeout()  # a bad $ARCHIVE_LOCK_TIMEOUT is an error now, not at the first write
        self._file = archive_file(self.url)  # when it can be read with sqlite3 alone
        self._engine: Engine | None = None
        if self._file is None:
            from archive.storage.db import open_archive, open_existing_archive

            self._engine = open_archive(self.url) if create else open_existing_archive(self.url)
        self._closed = False
        self._run_id: int | None = None
        self._report: Report | None = None
        self._recent: Recent | None = None  # the run's versions written after its lookups

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, for queries of your own (see docs/schema.md); made on first
        use when the archive was opened to be read with sqlite3."""
        if self._closed:
            raise ArchiveClosedError(f"{self!r} is closed")
        if self._engine is None:
            from archive.storage.db import make_engine

            self._engine = make_engine(self.url)  # at the current schema: nothing to migrate
        return self._engine

    @contextmanager
    def _reading(self) -> Iterator[Reader]:
        """A reader for one query (:mod:`archive.commands.queries`): sqlite3's where the
        archive can be read with it alone, else a connection of the engine."""
        if self._closed:
            raise ArchiveClosedError(f"{self!r} is closed")
        if self._file is not None:
            from archive.storage.sqlite_read import reading

            with reading(self._file) as reader:
                yield reader
        else:
            from archive.storage.reader import reading as engine_reading

            with engine_reading(self.engine) as reader:
                yield reader

    @property
    def run_id(self) -> int | None:
        """The ``ingest_runs`` id of this Archive's added articles (None before the first)."""
        return self._run_id

    def __repr__(self) -> str:
        from archive.config import display_url

        return f"Archive({display_url(self.url)!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.close(
                status="interrupted" if issubclass(exc_type, KeyboardInterrupt) else "failed"
            )

    def close(self, *, status: str = "finished") -> None:
        """End the run of added articles, marked ``status`` (``finished``, ``interrupted`` or
        ``failed``), and release the database connections. Closing twice does nothing."""
        if self._closed:
            return
        self._closed = True
        engine, self._engine = self._engine, None
        if engine is None:
            return
        try:
            if self._run_id is not None and self._report is not None:
                from archive.commands.ingest import finish_run

                finish_run(engine, self._run_id, self._report, status)
        finally:
            engine.dispose()

    # -- adding ----------------------------------------------------------------------------

    def add(self, article: NewArticle | Mapping[str, Any]) -> Added:
        """Add one article (a :class:`NewArticle`, or a dict of its fields) in a transaction
        of its own; what became of it. For many articles :meth:`add_many` is much faster."""
        return self.add_many([article])[0]

    def add_many(
        self,
        articles: Iterable[NewArticle | Mapping[str, Any]],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> list[Added]:
        """Add ``articles`` (an iterable: a list, a generator over a feed), ``batch_size`` per
        transaction; what became of each, in order.

        Each article is linked to the stored versions it is a copy or rewrite of, as a file
        would be. An article that cannot be stored (no text, no source, an extractor bug, a
        value the database refuses) fails alone: it comes back with status ``failed`` and its
        error, logged in ``ingest_errors``, and the others are stored. An item that is not an
        article (another type, an unknown field) raises TypeError, before its batch is written;
        earlier batches stay added.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, not {batch_size!r}")
        if isinstance(articles, NewArticle | Mapping | str | bytes):
            raise TypeError("add_many takes an iterable of articles; add() takes one")
        engine = self.engine
        results: list[Added] = []
        items = iter(articles)
        while chunk := list(itertools.islice(items, batch_size)):
            batch = [NewArticle.of(item) for item in chunk]
            results += self._add_batch(engine, batch, first=len(results))
        return results

    def _add_batch(self, engine: Engine, batch: list[NewArticle], first: int) -> list[Added]:
        from archive.commands.ingest import (
            PreparedFile,
            Report,
            fewer_collections,
            prepare_records,
            start_run,
            write_batch,
        )
        from archive.linking.candidates import Recent

        if self._run_id is None:
            self._run_id = start_run(engine, [ADDED_RUN_PATHS])
            self._report = Report(run_id=self._run_id)
            self._recent = Recent()
        assert self._report is not None and self._recent is not None
        with fewer_collections():
            records = prepare_records(
                [record_of(article, first + n) for n, article in enumerate(batch)], engine
            )
            prepared = [PreparedFile(record.result.source_path, [record]) for record in records]
            outcomes = write_batch(engine, prepared, self._run_id, self._report, None, self._recent)
        return _results(engine, outcomes, [r.result.source_path for r in records])

    def ingest(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        workers: int = 1,
        follow_symlinks: bool = False,
        on_file: Callable[[str], None] | None = None,
        shard: Shard | str | None = None,
        progress: Callable[[str], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Report:
        """Ingest the files under ``paths`` as ``archive ingest`` does (its own run); the report
        it prints (``report.summary()``, counts, ``failures``). ``workers`` processes parse
        and fingerprint; ``on_file`` is called with each file's path once it is written,
        ``progress`` as soon as it is parsed. ``shard`` (``"2/4"``) takes only that part of the
        files (:func:`files`). ``should_stop`` is asked after each batch: when it answers True
        the run ends there, marked ``interrupted`` (``report.interrupted``); the same ingest
        again resumes it."""
        from archive.commands.ingest import ingest

        if isinstance(paths, str | bytes | os.PathLike):
            raise TypeError("ingest takes a list of paths: ingest([path])")
        _positive("batch_size", batch_size)
        _positive("workers", workers)
        return ingest(
            paths,
            self.engine,
            batch_size=batch_size,
            workers=workers,
            on_file=on_file,
            should_stop=should_stop,
            follow_symlinks=follow_symlinks,
            shard=_shard(shard),
            progress=progress,
        )

    def linked_stories(self, *, run_id: int | None = None, limit: int = 10) -> list[StorySummary]:
        """The stories with more than one version, biggest first, each with the source and match
        of every version; with ``run_id`` (an ingest's ``report.run_id``) only those that run
        added a version to: what ``archive ingest`` lists after its report."""
        from archive.commands.queries import stories_with_versions

        run = None if run_id is None else _id("run_id", run_id)
        _positive("limit", limit, zero=True)
        with self._reading() as db:
            return stories_with_versions(db, run_id=run, limit=limit)

    # -- reading ---------------------------------------------------------------------------

    def stories(
        self,
        *,
        min_versions: int = 1,
        site: str | None = None,
        title: str | None = None,
        since: datetime | date | str | None = None,
        until: datetime | date | str | None = None,
        limit: int | None = 50,
    ) -> list[StoryListing]:
        """Stories, newest first (by first seen), with their version counts and sites, as
        ``archive stories`` lists them. ``site`` and ``title`` match part of the name, any case;
        a story is listed when first seen at or after ``since`` and before ``until`` (datetimes,
        dates or ISO 8601 strings; naive means UTC). ``limit=None`` lists all."""
        from archive.commands.queries import list_stories

        _positive("min_versions", min_versions)
        bounds = _moment("since", since), _moment("until", until)
        with self._reading() as db:
            return list_stories(
                db,
                min_versions=min_versions,
                site=site,
                title=title,
                since=bounds[0],
                until=bounds[1],
                limit=_limit(limit),
            )

    def story(self, story_id: int) -> StoryDetail:
        """Story ``story_id`` (or the story it was merged into) with every version, canonical
        first, and its links, as ``archive show`` prints it. Raises
        :class:`archive.commands.queries.NotFoundError` (a LookupError) for an unknown id."""
        from archive.commands.queries import show_story

        _id("story_id", story_id)
        with self._reading() as db:
            return show_story(db, story_id)

    def versions(
        self,
        *,
        story_id: int | None = None,
        site: str | None = None,
        source: str | None = None,
        limit: int | None = 50,
    ) -> list[VersionListing]:
        """Versions, newest first, each with its story and how it matched: those of story
        ``story_id``, of sites whose name contains ``site`` (any case), of the source
        ``source`` (a file's path, an added article's source)."""
        from archive.commands.queries import list_versions

        story = None if story_id is None else _id("story_id", story_id)
        with self._reading() as db:
            return list_versions(db, story_id=story, site=site, source=source, limit=_limit(limit))

    def search(self, query: str, *, limit: int = 20) -> list[SearchHit]:
        """Versions whose title or body has every word of ``query`` (whole words, any case;
        ``word*`` for a prefix), best first, as ``archive search`` finds them. Raises
        ValueError when ``query`` has no word."""
        from archive.commands.search import search_versions

        if not isinstance(query, str):
            raise TypeError(f"search query must be a string, not {type(query).__name__}")
        _positive("limit", limit)
        with self._reading() as db:
            return search_versions(db, query, limit=limit)

    def diff(self, a: int, b: int) -> VersionDiff:
        """How version ``b``'s title and body differ from version ``a``'s, word by word, as
        ``archive diff`` shows it (:func:`archive.commands.diff.render_plain` renders a side)."""
        from archive.commands.diff import diff_versions

        _id("a", a), _id("b", b)
        with self._reading() as db:
            return diff_versions(db, a, b)

    def stats(self, *, top: int = 10) -> ArchiveStats:
        """Totals of the archive and its ``top`` biggest stories, as ``archive stats``."""
        from archive.commands.queries import archive_stats

        _positive("top", top, zero=True)
        with self._reading() as db:
            return archive_stats(db, top=top)

    def remove(self, version_id: int) -> Removal:
        """Delete version ``version_id`` with its links, as ``archive remove`` does: its story
        is re-derived, split when the version held it together, and the removal logged."""
        from archive.commands.remove import remove_version

        return remove_version(self.engine, _id("version_id", version_id))

    def relink(
        self,
        *,
        threshold: float | None = None,
        rewrites: bool = True,
        on_version: Callable[[], None] | None = None,
    ) -> RelinkReport:
        """Recompute every link and story from the stored text, as ``archive relink``:
        ``threshold`` is the word overlap (0-1) a copy needs, ``rewrites=False`` links copies
        only; ``on_version`` is called after each version (:meth:`count_versions` of them, and
        those other writers add meanwhile). Holds the writer lock only for short transactions;
        the links and stories change at the end, at once, or not at all when it is stopped
        (:mod:`archive.commands.relink`)."""
        from archive.commands.relink import relink

        if threshold is not None and not (
            isinstance(threshold, int | float) and 0.0 <= threshold <= 1.0
        ):
            raise ValueError(f"threshold must be between 0 and 1, not {threshold!r}")
        return relink(self.engine, threshold=threshold, rewrites=rewrites, on_version=on_version)

    def count_versions(self) -> int:
        """How many versions the archive holds (what :meth:`relink` goes through)."""
        from archive.commands.relink import count_versions

        return count_versions(self.engine)

    def export(
        self, out: TextIO, *, format: ExportFormat = "jsonl", bodies: bool = True
    ) -> ExportSummary:
        """Write every story and version to ``out`` (a text file), streamed, as ``archive
        export``: ``format="jsonl"`` a story per line with its versions nested, ``"csv"`` a
        version per row with its story's fields; ``bodies=False`` leaves the texts out. Times
        are ISO 8601 in UTC. Open a file with ``newline=""``: each format writes its own line
        ends."""
        from archive.commands.export import export

        return export(self.engine, out, format=format, bodies=bodies)


def database_url_of(db: str | os.PathLike[str] | None) -> str:
    """The database URL of ``db``: a URL as it is, a path as its SQLite file's URL, None as
    ``$ARCHIVE_DB`` or else ``archive.db``, as ``--db`` (:func:`archive.config.database_url`)."""
    from archive.config import as_url, database_url

    if isinstance(db, os.PathLike):
        return as_url(os.fspath(db))
    if db is not None and (not isinstance(db, str) or not db):
        raise TypeError(f"db must be a path or a database URL, not {db!r}")
    return database_url(db)


def files(
    paths: Sequence[str | os.PathLike[str]],
    *,
    follow_symlinks: bool = False,
    shard: Shard | str | None = None,
) -> Iterator[str]:
    """The files :meth:`Archive.ingest` of ``paths`` reads, in its order: files as given,
    folders walked recursively (hidden entries skipped); with ``shard`` (``"2/4"``) only that
    part of them. Nothing is read or opened."""
    from archive.sources.walk import collect_files

    return collect_files(paths, follow_symlinks=follow_symlinks, shard=_shard(shard))


def parse(
    source: str | os.PathLike[str] | bytes, *, name: str = "<bytes>"
) -> Iterator[ParseResult]:
    """What the parser makes of a file, as ``archive parse`` shows it: each article record in
    the file at path ``source`` (one for a page, one per line, element or record of JSONL, a
    JSON array, WARC), or in ``source`` as bytes, the content of a file called ``name``.
    Each is a :class:`ParsedRecord` (its ``article``) or a :class:`ParseFailure` (its
    ``error``): failures are yielded, never raised. Nothing is stored."""
    from archive.sources.parse import parse_bytes, parse_file

    if isinstance(source, bytes):
        return parse_bytes(source, name)
    return parse_file(source)


def to_jsonable(value: Any) -> Any:
    """What this API returns (dataclasses, lists, datetimes) as plain JSON data, times in ISO
    8601: ``json.dumps(to_jsonable(archive.stories()))``."""
    from archive.commands.queries import to_jsonable as jsonable

    return jsonable(value)


def record_of(article: NewArticle, position: int = 0) -> ParseResult:
    """``article`` as the record the ingest pipeline takes: extracted as a JSON record with
    these fields is, or with raw HTML as a page is (the fields given win over the page's own);
    a :class:`~archive.parse.ParseFailure` when it has no source or no text.
    ``position`` names an article without a source in its failure."""
    from archive.config import max_article_bytes
    from archive.sources.jsonrecords import RecordError, article_from_record
    from archive.sources.paths import display_path
    from archive.sources.records import ParseFailure, checked_record

    name = article.source or article.url
    if not name:
        return ParseFailure(
            f"<article {position}>", "no source: give the article a source or a url"
        )
    source = display_path(name)
    text = article.html if article.html is not None else article.body
    if not (text or "").strip():
        return ParseFailure(source, "no article text: the body is empty")
    limit = max_article_bytes()
    size = len(text.encode("utf-8", "surrogatepass")) if text else 0
    if size > limit:
        return ParseFailure(
            source, f"article too large: {size / 1e6:.1f} MB > {limit / 1e6:g} MB limit"
        )
    try:
        if article.html is not None:
            extracted, fmt = _from_html(article), HTML_FORMAT
            if not extracted.body.strip():
                return ParseFailure(source, "no article text found in the HTML")
        else:
            extracted, fmt = article_from_record(_record_fields(article)), BODY_FORMAT
    except RecordError as exc:
        return ParseFailure(source, str(exc))
    except Exception as exc:  # a bug in an extractor fails the article, not the batch
        return ParseFailure(source, f"internal error while parsing: {exc!r}")
    record = checked_record(source, fmt, content_sha256(article), extracted)
    if isinstance(record, ParseFailure):  # only characters no database stores
        return ParseFailure(source, "no article text: none a database can store")
    return record


def content_sha256(article: NewArticle) -> str:
    """The hash of what an article says (all but its source): the same source with the same
    hash is archived already."""
    content = {f: getattr(article, f) for f in _FIELDS if f != "source"}
    if isinstance(article.published, datetime):
        content["published"] = article.published.isoformat()
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _record_fields(article: NewArticle) -> dict[str, object]:
    published = article.published
    return {
        "title": article.title,
        "body": article.body,
        "url": article.url,
        "site": article.site,
        "published": published.isoformat() if isinstance(published, datetime) else published,
    }


def _from_html(article: NewArticle) -> Article:
    from archive.sources.compilation import as_compilation
    from archive.sources.dates import parse_date
    from archive.sources.htmlpage import extract_html

    assert article.html is not None
    page = extract_html(article.html, url=article.url)
    published = article.published
    if not isinstance(published, datetime):
        try:
            published = parse_date(published)
        except (OverflowError, ValueError):
            published = None
    url = article.url or page.url
    found = replace(
        page,
        title=(article.title or "").strip() or page.title,
        url=url,
        site=article.site or page.site or _host(url),
        published_at=published or page.published_at,
    )
    # The title given may be a compilation's ("The Latest: ..."), as in a JSON record.
    return as_compilation(found, found.body.splitlines())


def _host(url: str | None) -> str | None:
    try:
        host = urlsplit(url).hostname if url else None
    except ValueError:
        return None
    return host.removeprefix("www.") if host else None


def _results(engine: Engine, outcomes: list[RecordOutcome], sources: list[str]) -> list[Added]:
    """Each outcome (of the record from ``sources``) as an :class:`Added`, from the rows as
    the batch left them."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from archive.commands.ingest import Archived
    from archive.sources.records import ParseFailure
    from archive.storage.models import Version
    from archive.storage.schema import path_sha256

    columns = (
        Version.id,
        Version.story_id,
        Version.source_path,
        Version.content_sha256,
        Version.match_method,
        Version.matched_version_id,
        Version.match_distance,
        Version.match_similarity,
        Version.match_sentences,
        Version.body_status,
    )
    stored_ids = [o.version_id for o in outcomes if not isinstance(o, ParseFailure | Archived)]
    archived = [o.source_path for o in outcomes if isinstance(o, Archived)]
    by_id: dict[int, Any] = {}
    by_content: dict[tuple[str, str], Any] = {}
    with Session(engine) as session:
        for chunk in _chunks(stored_ids):
            rows = session.execute(select(*columns).where(Version.id.in_(chunk)))
            by_id.update((row.id, row) for row in rows)
        for paths in _chunks(sorted(set(archived))):
            # through the unique index on the path's hash (versions.source_path_sha256)
            hashes = [path_sha256(path) for path in paths]
            rows = session.execute(select(*columns).where(Version.source_path_sha256.in_(hashes)))
            by_content.update(((row.source_path, row.content_sha256), row) for row in rows)
    results = []
    for source, outcome in zip(sources, outcomes, strict=True):
        if isinstance(outcome, ParseFailure):
            results.append(Added(outcome.source_path, "failed", error=outcome.error))
            continue
        if isinstance(outcome, Archived):
            row = by_content.get((outcome.source_path, outcome.content_sha256))
            status: Status = "archived"
            merged = 0
        else:
            row = by_id.get(outcome.version_id)
            status, merged = "stored", outcome.merged_stories
        if row is None:  # removed by another process since its batch was written
            results.append(Added(source, "failed", error="removed since it was written"))
            continue
        results.append(
            Added(
                source=row.source_path,
                status=status,
                version_id=row.id,
                story_id=row.story_id,
                method=row.match_method,
                matched_version_id=row.matched_version_id,
                distance=row.match_distance,
                similarity=row.match_similarity,
                sentences=row.match_sentences,
                body_status=row.body_status,
                merged_stories=merged,
            )
        )
    return results


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _positive(name: str, value: int, *, zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if zero else 1):
        least = "0 or more" if zero else "1 or more"
        raise ValueError(f"{name} must be an integer, {least}, not {value!r}")
    return value


def _shard(shard: Shard | str | None) -> Shard | None:
    from archive.sources.walk import Shard

    return Shard.parse(shard) if isinstance(shard, str) else shard


def _limit(limit: int | None) -> int | None:
    return None if limit is None else _positive("limit", limit, zero=True)


def _id(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer id, not {value!r}")
    return value


def _moment(name: str, value: datetime | date | str | None) -> datetime | None:
    """A datetime bound from a datetime, a date (its midnight) or an ISO 8601 string; UTC when
    naive."""
    from archive.storage.schema import as_utc

    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"{name} must be an ISO 8601 date or time, not {value!r}") from exc
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    raise TypeError(f"{name} must be a datetime, a date or an ISO 8601 string, not {value!r}")
