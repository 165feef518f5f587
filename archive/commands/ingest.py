"""The ingest pipeline: files → parse → fingerprint → match → store, one transaction per batch."""

from __future__ import annotations

import collections
import gc
import itertools
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from archive.config import DEFAULT_BATCH_SIZE
from archive.errors import ArchiveBusyError, environment_failure, first_line
from archive.linking import candidates, match, store
from archive.linking.method import Method
from archive.sources.article import BodyStatus
from archive.sources.chunks import (
    CHUNK_RECORDS,
    ErrorCap,
    WorkItem,
    batches,
    file_of,
    parse_item,
    work_items,
)
from archive.sources.paths import display_path
from archive.sources.records import ParsedRecord, ParseFailure, ParseResult
from archive.sources.walk import Refused, Shard, walk
from archive.storage.db import checkpoint, make_engine, writing
from archive.storage.models import IngestRun
from archive.storage.storable import log_failures, storable
from archive.wording import counted

logger = logging.getLogger(__name__)

# Batches the workers may prepare ahead of the writer: enough to even out slow files.
BATCHES_AHEAD = 2
# Failures a report keeps in memory to show (ingest_errors has them all, per-file capped).
MAX_FAILURES_KEPT = 1000
WORKER_NICENESS = 5
# How often a worker checks that the process it works for is still there.
WATCH_INTERVAL_S = 1.0
_COUNTERS = (
    "files_seen",
    "versions_stored",
    "new_stories",
    "linked",
    "exact",
    "duplicates_skipped",
    "stories_merged",
    "compilations",
    "page_text",
    "boilerplate_only",
    "failed",
)


@dataclass
class Report:
    """Counts of what an ingest run did, like black's report: a summary and an exit code."""

    files_seen: int = 0
    versions_stored: int = 0
    new_stories: int = 0
    linked: int = 0
    exact: int = 0
    duplicates_skipped: int = 0
    stories_merged: int = 0
    compilations: int = 0  # live blogs, digests, aggregator pages: linked to their kind only
    # stored without an article body told apart (kept, never linked): see BodyStatus
    page_text: int = 0
    boilerplate_only: int = 0
    failed: int = 0
    failures: list[ParseFailure] = field(default_factory=list)
    # how long this run held the writer lock, in seconds (measured for docs/performance.md)
    lock_held_seconds: float = 0.0
    run_id: int | None = None
    interrupted: bool = False  # stopped on request before all files were seen

    def stored(self, outcome: store.StoredVersion) -> None:
        self.versions_stored += 1
        if outcome.method == store.NEW_STORY:
            self.new_stories += 1
        else:
            self.linked += 1
            self.exact += outcome.method is Method.EXACT
        self.stories_merged += outcome.merged_stories
        self.compilations += outcome.body_status == BodyStatus.COMPILATION
        self.page_text += outcome.body_status == BodyStatus.PAGE_TEXT
        self.boilerplate_only += outcome.body_status == BodyStatus.BOILERPLATE_ONLY

    def failure(self, failure: ParseFailure) -> None:
        self.failed += 1
        if len(self.failures) < MAX_FAILURES_KEPT:
            self.failures.append(failure)

    def merge(self, other: Report) -> None:
        """Add the counts of ``other`` (one committed batch) to this report."""
        for name in _COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.failures.extend(other.failures[: max(0, MAX_FAILURES_KEPT - len(self.failures))])
        self.lock_held_seconds += other.lock_held_seconds

    @property
    def exit_code(self) -> int:
        """0 when every input was ingested or already archived, 1 when something failed."""
        return 1 if self.failed else 0

    def summary(self) -> str:
        exact = f", of which {counted(self.exact, 'exact copy', 'exact copies')}"
        merged = f"{counted(self.stories_merged, 'story', 'stories')} merged, "
        compilations = f"{counted(self.compilations, 'compilation')}, "
        return (
            f"{counted(self.files_seen, 'file')} seen: "
            f"{counted(self.versions_stored, 'version')} stored "
            f"({counted(self.new_stories, 'new story', 'new stories')}, "
            f"{self.linked} linked to an existing story{exact if self.exact else ''}), "
            f"{merged if self.stories_merged else ''}"
            f"{compilations if self.compilations else ''}"
            f"{self._unlinked()}"
            f"{self.duplicates_skipped} already archived, {self.failed} failed"
        )

    def _unlinked(self) -> str:
        """What was kept without an article body, never linked (empty when nothing was)."""
        parts = []
        if self.page_text:
            parts.append(f"{self.page_text} kept as page text")
        if self.boilerplate_only:
            parts.append(f"{self.boilerplate_only} boilerplate only")
        return f"{', '.join(parts)} (no article found, not linked), " if parts else ""


@dataclass(frozen=True)
class PreparedRecord:
    """One record of a file, parsed, fingerprinted and looked up: all the work that needs no
    writer (the fingerprint and lookup are None for a failure)."""

    result: ParseResult
    fingerprint: match.Fingerprint | None = None
    lookup: candidates.Lookup | None = None  # None when no archive was at hand to look it up in


@dataclass(frozen=True)
class PreparedFile:
    """One file's records, prepared; for a container file, one chunk of its records, ``last``
    when the file ends with them."""

    file_path: str
    records: list[PreparedRecord]
    last: bool = True


# The archive an ingest worker looks records up in: its own engine, opened by _worker_start.
_view: Engine | None = None


def prepare_file(item: WorkItem, view: Engine | None = None) -> PreparedFile:
    """Parse and fingerprint one file, or one chunk of a container file's records
    (:mod:`archive.sources.chunks`), and look its records up in ``view`` (by default the worker's
    archive, if any); a bug in an extractor fails that file, not the batch."""
    return prepare_files([item], view)[0]


def prepare_files(items: Sequence[WorkItem], view: Engine | None = None) -> list[PreparedFile]:
    """:func:`prepare_file` for several files (a worker's share of a batch): each parsed and
    fingerprinted, then all their records looked up together, on one connection against one
    snapshot, with one query for those archived already."""
    parsed: list[tuple[str, bool, list[PreparedRecord]]] = []
    for item in items:
        file_path, last = file_of(item)
        try:
            results = parse_item(item)
        except Exception as exc:
            parsed.append((file_path, last, [PreparedRecord(_internal_error(file_path, exc))]))
            continue
        parsed.append((file_path, last, _fingerprinted(results)))
    view = view if view is not None else _view
    if view is None:
        return [PreparedFile(file_path, records, last) for file_path, last, records in parsed]
    found = iter(_looked_up(view, [record for _, _, records in parsed for record in records]))
    return [
        PreparedFile(file_path, [next(found) for _ in records], last)
        for file_path, last, records in parsed
    ]


def prepare_records(
    results: Iterable[ParseResult], view: Engine | None = None
) -> list[PreparedRecord]:
    """Fingerprint parsed records and look them up in ``view`` (by default the worker's
    archive, if any): what :func:`prepare_file` does once a file is parsed, also for records
    that come from elsewhere (:mod:`archive.api`). A bug in fingerprinting fails the record."""
    records = _fingerprinted(results)
    view = view if view is not None else _view
    return records if view is None else _looked_up(view, records)


def _fingerprinted(results: Iterable[ParseResult]) -> list[PreparedRecord]:
    records: list[PreparedRecord] = []
    for result in results:
        if isinstance(result, ParseFailure):
            records.append(PreparedRecord(result))
            continue
        try:
            fingerprint = match.fingerprint(result.article)
        except Exception as exc:
            records.append(PreparedRecord(_internal_error(result.source_path, exc)))
            continue
        records.append(PreparedRecord(result, fingerprint))
        # Copies of a story arrive together: this body may be the next lookups' candidate.
        match.remember_profile(result.article.body, fingerprint.profile)
    return records


def _looked_up(view: Engine, records: list[PreparedRecord]) -> list[PreparedRecord]:
    """``records`` with their lookups in the committed archive (:func:`candidates.look_up`), all
    against one snapshot, except those already archived, which the writer will skip."""
    parsed = [record.result for record in records if isinstance(record.result, ParsedRecord)]
    if not parsed:
        return records
    found = []
    with view.connect() as connection:
        removals = candidates.removals_seen(connection)  # first: see look_up
        up_to = candidates.snapshot(connection)
        archived = store.archived_sources(connection, [result.source_path for result in parsed])
        for record in records:
            result, fingerprint = record.result, record.fingerprint
            if (
                isinstance(result, ParsedRecord)
                and fingerprint is not None
                and (result.source_path, result.content_sha256) not in archived
            ):
                lookup = candidates.look_up(connection, fingerprint, up_to=up_to, removals=removals)
                record = replace(record, lookup=lookup)
            found.append(record)
    return found


def _internal_error(source_path: str, exc: Exception) -> ParseFailure:
    return ParseFailure(display_path(source_path), f"internal error while parsing: {exc!r}")


def ingest(
    paths: Sequence[str | os.PathLike[str]],
    engine: Engine,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    workers: int = 1,
    on_file: Callable[[str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    follow_symlinks: bool = False,
    shard: Shard | None = None,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Ingest every file under ``paths`` into the archive behind ``engine``.

    Files are parsed and fingerprinted by ``workers`` processes, one batch ahead of this
    process, which alone writes to the database, batch after batch in input order: the result
    is the same for any number of workers. Each batch is one transaction, linked and written at
    once (:class:`archive.linking.store.BatchWriter`); when the database refuses it, the batch is
    redone record by record, each in a savepoint, so a record that fails is rolled back alone and
    logged in ``ingest_errors``, and the batch goes on.
    ``on_file`` is called for each file once its batch is committed, ``progress`` as soon as
    the file is parsed and fingerprinted (for a progress display). ``should_stop`` is asked after
    each batch: when it answers True the run ends there, marked ``interrupted``; running the
    same ingest again resumes it, since what is archived already is skipped.
    ``follow_symlinks`` follows links in walked folders that point outside the given paths
    (see :func:`archive.sources.walk.walk`); ``shard`` takes only that part of the files, so
    that several processes or machines can share one folder and one PostgreSQL archive.
    """
    report = Report()
    own_files = _database_files(engine)
    run_id = start_run(engine, paths)
    report.run_id = run_id
    status = "failed"
    # The archive never ingests its own database.
    files = (
        f
        for f in walk(paths, follow_symlinks=follow_symlinks, shard=shard)
        if os.path.abspath(f) not in own_files
    )
    recent = candidates.Recent()  # the versions written after the lookups' snapshots
    caps = ErrorCap()
    try:
        with fewer_collections():
            for batch in _prepared_batches(files, batch_size, workers, engine, progress):
                write_batch(engine, batch, run_id, report, on_file, recent, caps)
                if should_stop is not None and should_stop():
                    report.interrupted = True
                    break
        status = "interrupted" if report.interrupted else "finished"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    except ArchiveBusyError:
        status = ""  # marking the run would wait for the lock again: it stays `running`
        raise
    finally:
        if status:
            finish_run(engine, run_id, report, status)
    return report


def _prepared_batches(
    files: Iterator[str | Refused],
    batch_size: int,
    workers: int,
    engine: Engine,
    progress: Callable[[str], None] | None = None,
) -> Iterator[list[PreparedFile]]:
    """Batches of prepared files in input order; with workers, the next batches are prepared
    (and looked up, each worker on its own connection) while the caller writes this one, so
    memory holds ``BATCHES_AHEAD + 1`` batches at most. A container file's records come in
    chunks (:mod:`archive.sources.chunks`), so a batch holds about ``batch_size`` records
    whatever the files. ``progress`` is called with each file as its last piece comes out
    prepared."""
    chunks = batches(work_items(files, min(CHUNK_RECORDS, batch_size)), batch_size)
    if workers <= 1:
        for chunk in chunks:
            shares = _shares(chunk, 1)
            yield list(
                _reported((f for share in shares for f in prepare_files(share, engine)), progress)
            )
        return
    # forkserver: workers must not inherit this process's open database connections.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["archive.commands.ingest"])
    url = engine.url.render_as_string(hide_password=False)
    pool = ProcessPoolExecutor(
        workers, mp_context=context, initializer=_worker_start, initargs=(os.getpid(), url)
    )
    try:
        pending: collections.deque[Iterator[PreparedFile]] = collections.deque()
        for chunk in chunks:
            # Files go to the workers in shares: one message per file costs the writer more
            # than some files take to parse, and one lookup connection and snapshot per file
            # cost the worker more than some lookups.
            pending.append(
                itertools.chain.from_iterable(pool.map(prepare_files, _shares(chunk, workers)))
            )
            if len(pending) > BATCHES_AHEAD:
                yield list(_reported(pending.popleft(), progress))
        while pending:
            yield list(_reported(pending.popleft(), progress))
    finally:
        # Also when the run stops early (Ctrl-C, SIGTERM, an error): the batches prepared
        # ahead are dropped, not finished first.
        pool.shutdown(wait=True, cancel_futures=True)


def _shares(chunk: list[WorkItem], workers: int) -> list[list[WorkItem]]:
    """A batch cut in pieces for ``workers``: four each, so that a slow file holds up little."""
    size = max(1, len(chunk) // (4 * workers))
    return [chunk[start : start + size] for start in range(0, len(chunk), size)]


def _reported(
    prepared: Iterator[PreparedFile], progress: Callable[[str], None] | None
) -> Iterator[PreparedFile]:
    for item in prepared:
        if progress is not None and item.last:
            progress(item.file_path)
        yield item


# The cyclic garbage collector's thresholds while ingesting (CPython's are 700, 10, 10). An
# ingest makes many short-lived objects (rows, tuples, words), almost none in cycles, which
# reference counting frees anyway: with the default the collector ran every 700 allocations and
# took 30% of the writer's CPU inside the lock (docs/performance.md). Collected 70 times less
# often, the few cycles wait a little longer.
GC_THRESHOLDS = (50_000, 20, 100)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the block with :data:`GC_THRESHOLDS`, then put the caller's thresholds back (the
    Python API runs an ingest inside someone else's program)."""
    before = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _worker_start(writer_pid: int, url: str) -> None:
    global _view
    gc.set_threshold(*GC_THRESHOLDS)  # a worker process only ever ingests
    # Ctrl-C and SIGTERM (sent to the whole process group) are for the writer to handle
    # (finish the batch, or stop at once); a worker that died of them would only add
    # tracebacks. The writer shuts the workers down as it stops...
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # ... unless it is killed outright: then they stop by themselves within a second (with
    # them go the forkserver and the resource tracker, which live as long as they do).
    threading.Thread(target=_exit_when_gone, args=(writer_pid,), daemon=True).start()
    # The one writer is what a run waits for: when it and the workers want more cores than
    # there are, it goes first (the workers are batches ahead and catch up while it waits).
    if hasattr(os, "nice"):  # not on Windows
        os.nice(WORKER_NICENESS)
    _view = make_engine(url)


def _exit_when_gone(pid: int) -> None:
    while _alive(pid):
        time.sleep(WATCH_INTERVAL_S)
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed process its parent has not waited for yet is a zombie: gone all the same
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


@dataclass(frozen=True)
class Archived:
    """A record whose source and content are archived already: skipped, like a re-ingested
    file."""

    source_path: str
    content_sha256: str


RecordOutcome = store.StoredVersion | ParseFailure | Archived


def write_batch(
    engine: Engine,
    batch: list[PreparedFile],
    run_id: int,
    report: Report,
    on_file: Callable[[str], None] | None,
    recent: candidates.Recent,
    caps: ErrorCap | None = None,
) -> list[RecordOutcome]:
    """Write one batch of prepared files in one transaction (see :func:`ingest`), add its
    counts to ``report`` and to run ``run_id``; what became of each record, in batch order.
    ``recent`` is the run's :class:`candidates.Recent`; ``caps`` the run's :class:`ErrorCap`,
    which records a file's failures one by one up to its limit (by default a new one)."""
    caps = caps if caps is not None else ErrorCap()
    if _failures_past_the_cap(batch, caps):
        # Nothing to write but counts (2,000,000 bad lines of one file): no transaction; the
        # run's counts are written with the next batch that writes, or when it finishes.
        failed: list[RecordOutcome] = []
        for prepared in batch:
            for record in prepared.records:
                failure = cast(ParseFailure, record.result)
                caps.admit(prepared.file_path, failure)
                report.failed += 1
                failed.append(failure)
        return failed
    now = datetime.now(UTC)
    done = Report()
    # keys a writer that stopped left unwritten: until written, lookups' snapshots stay before
    # them
    with engine.begin() as connection:
        store.write_keys_left_behind(connection)
    with engine.connect() as connection:  # the largest read of catch_up, with no lock held
        recent.take_in(connection, [r.lookup for p in batch for r in p.records if r.lookup])
    try:
        with writing(engine) as session:
            locked_at = time.perf_counter()
            outcomes, held = _write_locked(session, batch, run_id, report, done, now, recent, caps)
    except BaseException:
        recent.rollback_to()
        raise
    recent.commit()
    done.lock_held_seconds = time.perf_counter() - locked_at  # committed: the lock is free
    checkpoint(engine)
    # Counts and progress move on once the batch is committed, never ahead of the database.
    report.merge(done)
    if on_file is not None:
        for prepared in batch:
            if prepared.last:
                on_file(prepared.file_path)
    if held is not None:
        store.write_held_keys(engine, held)
    return outcomes


def _failures_past_the_cap(batch: list[PreparedFile], caps: ErrorCap) -> bool:
    """Whether every record of ``batch`` is a failure of a file past its cap of recorded
    failures, in a chunk that does not end the file."""
    return all(
        not prepared.last
        and caps.full(prepared.file_path)
        and all(
            isinstance(r.result, ParseFailure) and caps.of_a_record(prepared.file_path, r.result)
            for r in prepared.records
        )
        for prepared in batch
    )


def _write_locked(
    session: Session,
    batch: list[PreparedFile],
    run_id: int,
    report: Report,
    done: Report,
    now: datetime,
    recent: candidates.Recent,
    caps: ErrorCap,
) -> tuple[list[RecordOutcome], store.HeldKeys | None]:
    """The write step of a batch, under the writer lock: skip what is archived, decide and
    store the rest, log failures (a file's first ones one by one, see :class:`ErrorCap`),
    count; what became of each record, and the stored versions' index keys when they are
    written after the commit (:func:`archive.linking.store.hold_keys`)."""
    archived = store.archived_sources(
        session,
        [
            r.result.source_path
            for p in batch
            for r in p.records
            if isinstance(r.result, ParsedRecord)
        ],
    )
    todo: list[_Todo] = []
    failures: list[ParseFailure] = []
    notes: list[ParseFailure] = []  # logged, not counted: how many more failures a file had
    skipped: list[ParseFailure | Archived | None] = []  # None: stored, in todo's order
    for prepared in batch:
        for record in prepared.records:
            result, fingerprint = record.result, record.fingerprint
            if isinstance(result, ParseFailure):
                if caps.admit(prepared.file_path, result):
                    failures.append(result)
                else:
                    done.failed += 1  # counted, not recorded one by one
                skipped.append(result)
            elif (result.source_path, result.content_sha256) in archived:
                done.duplicates_skipped += 1
                skipped.append(Archived(result.source_path, result.content_sha256))
            elif fingerprint is not None:  # prepare_file fingerprints every parsed record
                archived.add((result.source_path, result.content_sha256))
                todo.append((result, fingerprint, record.lookup))
                skipped.append(None)
        if prepared.last:
            done.files_seen += 1
            note = caps.close(prepared.file_path)
            notes += [note] if note else []
    recent.catch_up(session.connection(), [lookup for _, _, lookup in todo if lookup])
    stored = _store_records(session, todo, run_id, now, recent)
    indexed = [
        (outcome.version_id, fingerprint)
        for (_, fingerprint, _), outcome in zip(todo, stored, strict=True)
        if isinstance(outcome, store.StoredVersion)
    ]
    held = store.hold_keys(session.connection(), indexed)
    for outcome in stored:
        if isinstance(outcome, ParseFailure):
            failures.append(outcome)
        else:
            done.stored(outcome)
    failures = [ParseFailure(storable(f.source_path), storable(f.error)) for f in failures]
    for failure in failures:
        done.failure(failure)
    notes = [ParseFailure(storable(f.source_path), storable(f.error)) for f in notes]
    done.failures.extend(notes)
    log_failures(session, run_id, ((f.source_path, f.error) for f in failures + notes), now)
    _save_counts(session, run_id, report, done)
    written = iter(stored)
    return [next(written) if s is None else s for s in skipped], held


_Todo = tuple[ParsedRecord, match.Fingerprint, candidates.Lookup | None]


def _store_records(
    session: Session,
    records: list[_Todo],
    run_id: int,
    now: datetime,
    recent: candidates.Recent,
) -> list[store.StoredVersion | ParseFailure]:
    """Decide the links of ``records`` (their lookups rechecked against what was written since,
    see :class:`archive.linking.candidates.Recent`) and store them in order, all in one go; when the
    database refuses something, the batch is undone and each record is stored on its own, so
    that one bad record fails alone and leaves nothing half-written."""
    if not records:
        return []
    mark = recent.mark()
    try:
        with session.begin_nested():
            writer = store.BatchWriter(session, run_id=run_id, now=now, expected=len(records))
            writer.load_stories(recent.verified_stories())
            outcomes: list[store.StoredVersion | ParseFailure] = []
            for record, fingerprint, lookup in records:
                stored = writer.add(record, fingerprint, recent.decide(fingerprint, lookup))
                recent.add(stored.version_id, stored.story_id, fingerprint)
                outcomes.append(stored)
            writer.flush()
            return outcomes
    except SQLAlchemyError as exc:
        recent.rollback_to(mark)
        if environment_failure(exc) is not None:
            raise  # the database itself failed (gone, full, read-only): every record would
        if len(records) > 1:
            return [
                outcome
                for item in records
                for outcome in _store_records(session, [item], run_id, now, recent)
            ]
        # The driver's message alone: the statement and its parameters are the whole article.
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return [
            ParseFailure(
                records[0][0].source_path, f"database error: {exc.__class__.__name__}: {reason}"
            )
        ]


def _database_files(engine: Engine) -> frozenset[str]:
    """The files of a SQLite archive (database, WAL, shared memory, journal)."""
    database = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if not database or database == ":memory:":
        return frozenset()
    main = os.path.abspath(database)
    return frozenset({main, f"{main}-wal", f"{main}-shm", f"{main}-journal"})


def start_run(engine: Engine, paths: Sequence[str | os.PathLike[str]]) -> int:
    """A new row of ``ingest_runs``, ``running``, for ``paths``; its id."""
    with writing(engine) as session:
        run = IngestRun(
            started_at=datetime.now(UTC),
            status="running",
            paths=storable("\n".join(os.fsdecode(p) for p in paths)),
            files_seen=0,
            versions_stored=0,
            new_stories=0,
            linked=0,
            duplicates_skipped=0,
            failed=0,
        )
        session.add(run)
        session.flush()
        return run.id


def _save_counts(session: Session, run_id: int, before: Report, batch: Report) -> None:
    run = session.get_one(IngestRun, run_id)
    for name in ("files_seen", "versions_stored", "new_stories", "linked", "duplicates_skipped",
                 "failed"):  # fmt: skip
        setattr(run, name, getattr(before, name) + getattr(batch, name))


def finish_run(engine: Engine, run_id: int, report: Report, status: str) -> None:
    """Mark run ``run_id`` ``status`` (finished, interrupted or failed) and its end time, with
    its final counts. When the run failed because the database did (server gone, disk full),
    a failure to mark it is only logged: the run stays ``running`` (resumable)."""
    try:
        with writing(engine) as session:
            _save_counts(session, run_id, report, Report())
            run = session.get_one(IngestRun, run_id)
            run.status = status
            run.finished_at = datetime.now(UTC)
    except SQLAlchemyError as exc:
        if status != "failed" or environment_failure(exc) is None:
            raise
        # The run broke off because the database did (server gone, disk full): the error that
        # says so matters more than the run's status, which stays `running` (resumable).
        logger.warning("ingest run %s left as running: %s", run_id, first_line(exc))
