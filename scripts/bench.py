#!/usr/bin/env python3
"""Benchmark ingest throughput, growth, lookup latency, memory and size, beside two references.

    python scripts/bench.py --scale 100000                  # SQLite and PostgreSQL
    python scripts/bench.py --scale 1000000 --db sqlite      # one database
    python scripts/bench.py --smoke                          # seconds; what CI runs

Generates a corpus with ``../shared/eval/make_corpus.py --scale N`` into a scratch folder (or
takes ``--corpus``), then, in this one process and on the same documents:

- reference (a): the ``simhash`` package computing ``Simhash(features)`` against
  ``archive.text.fingerprint.simhash64`` (checked bit for bit);
- reference (b): datasketch ``MinHashLSH`` (128 permutations) inserting and querying each
  document's word set in memory;
- ``archive.commands.ingest`` end to end (read, parse, fingerprint, link, commit) into a fresh
  SQLite file and/or a fresh PostgreSQL database (``--pg-url``, else ``$ARCHIVE_TEST_POSTGRES_URL``,
  a server URL under which a database is created, and dropped when the run ends unless
  ``--keep-databases``), with the cost of each tenth of the run,
  candidate-lookup latency at each checkpoint, peak RSS and database size per version (each
  stretch between checkpoints is ingested in a process of its own, as ``archive ingest`` runs,
  so that the peak RSS reported, the writer's and the largest worker's, is the ingest's and not
  this script's, which also holds the file list and the reference measures);
- with ``--api``, ``Archive.add_many`` of the same articles (extracted from the same files
  first, off the clock) into another fresh database of each kind, beside the file ingest.

Results go to stdout as Markdown, and to ``--out`` (``docs/performance.md``) when given: the
run replaces the previous one there, the text before it is kept. A run stopped early, at
``--time-limit`` or by Ctrl-C (or SIGTERM), ends after the batch in hand and reports what it
measured up to there, lookups included.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import platform
import queue
import random
import resource
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kit import DEFAULT_KIT, make_corpus  # noqa: E402
from proctree import memory_kb, tree  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from archive.commands.ingest import ingest  # noqa: E402
from archive.config import DEFAULT_BATCH_SIZE  # noqa: E402
from archive.linking import candidates, match  # noqa: E402
from archive.sources.parse import parse_file  # noqa: E402
from archive.sources.records import ParsedRecord  # noqa: E402
from archive.sources.walk import Shard, collect_files  # noqa: E402
from archive.storage.db import open_archive  # noqa: E402
from archive.text.fingerprint import features, simhash64  # noqa: E402
from archive.text.terms import analyse  # noqa: E402

SLICES = 10


@dataclass
class Run:
    """One database's ingest: throughput, per-slice cost, lookups, memory and size."""

    database: str
    planned: int = 0
    documents: int = 0
    seconds: float = 0.0
    slice_ms: list[float] = field(default_factory=list)
    # archive size: lookup p50 and p99 in ms, mean candidates compared
    lookups: dict[int, tuple[float, float, float]] = field(default_factory=dict)
    bytes_per_version: float = 0.0
    peak_writer_mb: float = 0.0
    peak_worker_mb: float = 0.0
    bench_rss_mb: float = 0.0  # this script's own process, lookups and references included


def main() -> int:
    args = _arguments()
    try:
        return _benchmark(args)
    finally:
        if not args.keep_databases:
            _drop_databases_made()


def _benchmark(args: argparse.Namespace) -> int:
    scratch = Path(args.workdir or tempfile.mkdtemp(prefix="archive-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    scale = 300 if args.smoke else args.scale
    corpus = (
        Path(args.corpus)
        if args.corpus
        else make_corpus(Path(args.kit), scratch / f"scale-{scale}", "--scale", str(scale))
    )
    files = list(collect_files([str(corpus / "corpus")]))[: args.limit]
    checkpoints = sorted({c for c in args.checkpoints if c < len(files)} | {len(files)})
    sample = _sample_articles(files, 200 if args.smoke else args.reference_docs)

    lines = [f"## Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "", _machine(), ""]
    command = f"python scripts/bench.py {' '.join(sys.argv[1:])}"
    lines.append(f"Command: `{command}`; corpus: {len(files):,} files.")
    lines += ["", *_references(sample), ""]
    stop = _Stop(args.time_limit)
    runs = []
    added: list[tuple[str, int, float]] = []  # database, articles, seconds of add_many
    for database in args.db:
        url = _database_url(database, scratch, args.pg_url)
        if url is None:
            lines.append(f"{database}: skipped (no server URL)")
            continue
        runs.append(
            _ingest_run(
                database, url, files, checkpoints, args.workers, args.lookups, stop, args.batch_size
            )
        )
        if stop():
            break
        if args.api:
            added.append(
                (
                    database,
                    *_add_many_run(
                        _database_url(database, scratch, args.pg_url, "api"), files, args.batch_size
                    ),
                )
            )
    lines += _run_tables(runs)
    lines += _api_table(runs, added, args.batch_size)
    if args.processes:
        lines += ["", *_scale_out(args, scratch, [str(corpus / "corpus")], len(files))]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        out = Path(args.out)
        existing = out.read_text(encoding="utf-8") if out.exists() else None
        out.write_text(_document(report, existing), encoding="utf-8")
    return 0


def _sample_articles(files: list[str], count: int) -> list:
    chosen = random.Random(1).sample(files, min(count, len(files)))
    return [r.article for f in chosen for r in parse_file(f) if isinstance(r, ParsedRecord)]


def _references(articles: list) -> list[str]:
    """Reference points on the same documents: the simhash package and datasketch."""
    from datasketch import MinHash, MinHashLSH
    from simhash import Simhash

    feature_lists = [features(analyse(a.body)) for a in articles]
    started = time.perf_counter()
    package = [Simhash(f).value for f in feature_lists]
    package_s = time.perf_counter() - started
    started = time.perf_counter()
    ours = [simhash64(f) for f in feature_lists]
    ours_s = time.perf_counter() - started
    if ours != package:
        raise SystemExit("simhash64 differs from the simhash package")

    started = time.perf_counter()
    for article in articles:
        match.fingerprint(article)
    fingerprint_s = time.perf_counter() - started

    lsh = MinHashLSH(threshold=0.5, num_perm=128)
    started = time.perf_counter()
    for number, article in enumerate(articles):
        minhash = MinHash(num_perm=128)
        minhash.update_batch([w.encode() for w in set(article.body.lower().split())])
        lsh.query(minhash)
        lsh.insert(str(number), minhash)
    lsh_s = time.perf_counter() - started
    n = len(articles)
    return [
        f"Reference points on {n:,} documents of the corpus (one process):",
        "",
        "| what | documents/s | ratio |",
        "|---|---|---|",
        f"| simhash package `Simhash(features)` | {n / package_s:,.0f} | 1 |",
        f"| `simhash64` (numpy; bit-identical, checked) | {n / ours_s:,.0f} "
        f"| {package_s / ours_s:.1f}x the package |",
        f"| `match.fingerprint` (analysis, SimHash, keys, profile) | {n / fingerprint_s:,.0f} | |",
        f"| datasketch `MinHashLSH` (128 perm) insert + query, in memory | {n / lsh_s:,.0f} | 1 |",
        "",
        f"LSH_DOCS_PER_S={n / lsh_s:.0f}",
    ]


def _ingest_run(
    database: str,
    url: str,
    files: list[str],
    checkpoints: list[int],
    workers: int,
    lookups: int,
    stop: _Stop,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Run:
    run = Run(database, planned=len(files))
    engine = open_archive(url)
    clock = _PausableClock()  # lookups are measured between chunks, off the ingest clock
    stamps = [clock.now()]
    done = 0
    context = multiprocessing.get_context("spawn")
    for checkpoint in checkpoints:
        # Each stretch is ingested in a process of its own, as `archive ingest` would be, so
        # that its peak memory is the ingest's: this process holds the corpus's file list,
        # the reference measures and the lookups' connection, which an ingest does not.
        results = context.Queue()
        segment = context.Process(
            target=_ingest_segment,
            args=(url, _as_folders(files[done:checkpoint], files), workers, batch_size),
            kwargs={"clock_offset": time.perf_counter() - clock.now(), "started": stamps[0],
                    "since": stamps[-1], "before": len(stamps) - 1, "total": len(files),
                    "seconds_left": stop.seconds_left(), "results": results},
        )  # fmt: skip
        segment.start()
        new_stamps, peak = _result_of(segment, results)
        segment.join()
        stamps += new_stamps
        run.peak_writer_mb = max(run.peak_writer_mb, peak.writer_mb)
        run.peak_worker_mb = max(run.peak_worker_mb, peak.worker_mb)
        done = len(stamps) - 1
        with clock.paused():
            run.lookups[done] = _lookup_latency(engine, files[:done], lookups)
        if stop() or peak.stopped:
            break
    run.documents = done
    run.seconds = stamps[-1] - stamps[0]
    run.slice_ms = _slice_costs(stamps, done)
    run.bytes_per_version = _database_bytes(engine) / max(1, done)
    run.bench_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    engine.dispose()
    return run


def _result_of(process: multiprocessing.process.BaseProcess, results: multiprocessing.Queue):
    """What ``process`` put on ``results``; an error, not a wait forever, if it died first."""
    while True:
        try:
            return results.get(timeout=1)
        except queue.Empty:
            if not process.is_alive():
                try:  # it may have put its result just before it ended
                    return results.get(timeout=1)
                except queue.Empty:
                    raise RuntimeError(
                        f"the ingest process ended without a result (exit code {process.exitcode})"
                    ) from None


@dataclass(frozen=True)
class _Peak:
    """Peak resident memory of one ingest: its writer process and its largest worker (MB), and
    whether it stopped early."""

    writer_mb: float
    worker_mb: float
    stopped: bool


def _ingest_segment(
    url: str,
    paths: list[str],
    workers: int,
    batch_size: int,
    *,
    clock_offset: float,
    started: float,
    since: float,
    before: int,
    total: int,
    seconds_left: float | None,
    results: multiprocessing.Queue,
) -> None:
    """One stretch of :func:`_ingest_run`, in a process of its own: ``ingest`` of ``paths``
    after ``before`` files of ``total`` were done, the last at ``since`` (in a run that
    ``started`` then), then (the time each
    file was done, :class:`_Peak`) to ``results``. Times are on the caller's clock:
    ``perf_counter`` less ``clock_offset``."""
    stop = _Stop(seconds_left)
    watcher = _MemoryWatch()
    engine = open_archive(url)
    stamps = [since]
    ingest(
        paths,
        engine,
        workers=workers,
        batch_size=batch_size,
        on_file=lambda _: _progress(
            stamps, time.perf_counter() - clock_offset, total, before, started
        ),
        should_stop=stop,
    )
    engine.dispose()
    writer_mb, worker_mb = watcher.stop()
    results.put((stamps[1:], _Peak(writer_mb, worker_mb, stop())))


class _MemoryWatch:
    """The peak RSS of this process and of the largest of its descendants (the ingest's
    workers, started by a forkserver: not this process's children, so ``RUSAGE_CHILDREN``
    never sees them), read from ``/proc`` every half second. Where there is no ``/proc``,
    the workers' peak is reported as 0."""

    def __init__(self) -> None:
        self._worker_kb = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def stop(self) -> tuple[float, float]:
        """(this process's peak, the largest descendant's peak), in MB."""
        self._done.set()
        self._thread.join()
        own_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return own_kb / 1024, self._worker_kb / 1024

    def _watch(self) -> None:
        while not self._done.wait(0.5):
            for pid in tree(os.getpid())[1:]:
                self._worker_kb = max(self._worker_kb, memory_kb(pid, "VmHWM"))


def _add_many_run(
    url: str, files: list[str], batch_size: int = DEFAULT_BATCH_SIZE
) -> tuple[int, float]:
    """How many articles ``Archive.add_many`` added from ``files`` into the fresh archive at
    ``url``, and in how many seconds: the articles are extracted from the files as they are
    handed over, and the time that takes is not counted (the API takes articles, not files)."""
    from archive import Archive, NewArticle

    extracting = 0.0

    def articles() -> Iterator[NewArticle]:
        nonlocal extracting
        for path in files:
            started = time.perf_counter()
            found = [
                NewArticle(
                    title=r.article.title,
                    body=r.article.body,
                    url=r.article.url,
                    site=r.article.site,
                    published=r.article.published_at,
                    source=r.source_path,
                )
                for r in parse_file(path)
                if isinstance(r, ParsedRecord)
            ]
            extracting += time.perf_counter() - started
            yield from found

    with Archive(url) as archive:
        started = time.perf_counter()
        results = archive.add_many(articles(), batch_size=batch_size)
        seconds = time.perf_counter() - started - extracting
        failed = [r for r in results if r.status == "failed"]
        if failed:
            raise SystemExit(f"add_many failed {len(failed)} articles: {failed[0].error}")
    return len(results), seconds


def _api_table(
    runs: list[Run], added: list[tuple[str, int, float]], batch_size: int = DEFAULT_BATCH_SIZE
) -> list[str]:
    if not added:
        return []
    by_database = {run.database: run for run in runs}
    lines = [
        "",
        "`Archive.add_many` (`--api`): the same articles, extracted from the files as they are "
        "handed over (extraction not timed), added in batches of "
        f"{batch_size:,} by one process into a fresh database:",
        "",
        "| database | articles | add_many documents/s | file ingest documents/s | ratio |",
        "|---|---|---|---|---|",
    ]
    for database, articles, seconds in added:
        run = by_database[database]
        files_rate = run.documents / run.seconds if run.seconds else 0.0
        rate = articles / seconds if seconds else 0.0
        ratio = f"{rate / files_rate:.2f}x" if files_rate else "-"
        lines.append(f"| {database} | {articles:,} | {rate:,.0f} | {files_rate:,.0f} | {ratio} |")
    return lines


def _scale_out(args: argparse.Namespace, scratch: Path, paths: list[str], total: int) -> list[str]:
    """Ingest the corpus with 1, 2, 4... concurrent ``archive ingest --shard I/N`` processes
    into one fresh archive per count, and report each process's share of wall time holding
    the writer lock: what bounds how far more processes (or machines) can go (Amdahl)."""
    lines = [
        f"Scale-out: N processes, each `ingest --shard I/N --workers {args.shard_workers}`, "
        f"{total:,} documents into one archive.",
        "",
        "| database | processes | documents/s | wall s | share of wall time holding the lock |",
        "|---|---|---|---|---|",
    ]
    context = multiprocessing.get_context("spawn")
    for database in args.db:
        for count in args.processes:
            url = _database_url(database, scratch, args.pg_url)
            if url is None:
                continue
            open_archive(url).dispose()  # migrated once, before the processes race
            results = context.Queue()
            started = time.perf_counter()
            processes = [
                context.Process(
                    target=_shard_run,
                    args=(url, paths, n, count, args.shard_workers, args.batch_size, results),
                )
                for n in range(1, count + 1)
            ]
            for process in processes:
                process.start()
            shares = [results.get() for _ in processes]
            for process in processes:
                process.join()
            wall = time.perf_counter() - started
            documents = sum(stored for stored, _ in shares)
            held = ", ".join(f"{share:.0%}" for _, share in sorted(shares, key=lambda s: s[1]))
            lines.append(
                f"| {database} | {count} | {documents / wall:,.0f} | {wall:,.1f} | {held} |"
            )
    return lines


def _shard_run(
    url: str, paths: list[str], number: int, count: int, workers: int, batch_size: int, results
) -> None:
    """One process of :func:`_scale_out`: its shard, then (documents, lock share) to ``results``."""
    engine = open_archive(url)
    started = time.perf_counter()
    report = ingest(
        paths, engine, workers=workers, batch_size=batch_size, shard=Shard(number, count)
    )
    wall = time.perf_counter() - started
    engine.dispose()
    results.put((report.versions_stored, report.lock_held_seconds / wall))


def _progress(stamps: list[float], now: float, total: int, before: int, started: float) -> None:
    """Record that one more file is done (``stamps``: when the stretch's first file was
    started, then when each since was done; ``before`` files were done before those, in a run
    that ``started`` then); every 50,000 files, say how the run goes (stderr), so a long run
    can be watched and a stopped one still leaves its figures."""
    stamps.append(now)
    done = before + len(stamps) - 1
    if done % 50_000 == 0 or done == total:
        recent = stamps[-10_001:]
        ms = 1000 * (recent[-1] - recent[0]) / max(1, len(recent) - 1)
        print(
            f"progress: {done:,} of {total:,} files, {now - started:,.0f} s, "
            f"{ms:.2f} ms/file over the last {len(recent) - 1:,}, "
            f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB",
            file=sys.stderr,
            flush=True,
        )


def _as_folders(segment: list[str], files: list[str]) -> list[str]:
    """``segment`` with each folder whose files all lie in it given as the folder: the run's
    record of the paths it was given stays small (1,000 paths at 1,000,000 files, not a
    million), and the folder is walked in the same sorted order."""
    per_folder: dict[str, int] = {}
    for path in files:
        folder = os.path.dirname(path)
        per_folder[folder] = per_folder.get(folder, 0) + 1
    paths: list[str] = []
    for folder, group in itertools.groupby(segment, key=os.path.dirname):
        members = list(group)
        if len(members) == per_folder[folder] and folder:
            paths.append(folder)
        else:
            paths.extend(members)
    return paths


class _Stop:
    """Whether the run should end early: at a deadline, or when asked to by a signal."""

    def __init__(self, seconds: float | None) -> None:
        self._deadline = time.monotonic() + seconds if seconds else None
        self._asked = False
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, self._ask)

    def _ask(self, number: int, frame: object) -> None:
        if self._asked:  # asked twice: stop at once
            raise KeyboardInterrupt
        print("stopping after this batch (again to stop at once)", file=sys.stderr, flush=True)
        self._asked = True

    def __call__(self) -> bool:
        return self._asked or (self._deadline is not None and time.monotonic() >= self._deadline)

    def seconds_left(self) -> float | None:
        """What is left of the time limit (None: none; a hair above 0 once it is past)."""
        if self._asked:
            return 1e-9
        if self._deadline is None:
            return None
        return max(1e-9, self._deadline - time.monotonic())


class _PausableClock:
    def __init__(self) -> None:
        self._paused = 0.0

    def now(self) -> float:
        return time.perf_counter() - self._paused

    @contextmanager
    def paused(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self._paused += time.perf_counter() - started


def _slice_costs(stamps: list[float], total: int) -> list[float]:
    """Milliseconds per document in each tenth of the run; ``stamps[k]`` is when k files were
    done. Files are counted as their batch commits, so a slice is at least a batch long."""
    edges = [round(total * k / SLICES) for k in range(SLICES + 1)]
    return [
        1000 * (stamps[high] - stamps[low]) / (high - low)
        for low, high in itertools.pairwise(edges)
        if high > low and high < len(stamps)
    ]


def _lookup_latency(engine, files: list[str], count: int) -> tuple[float, float, float]:
    """p50 and p99 of the candidate lookup of ``candidates.look_up`` (``index_hits`` and
    ``choose``, what an ingest worker runs per document before verifying) for documents of the
    archive, in ms, and the mean number of candidates whose bodies are then compared."""
    chosen = random.Random(len(files)).sample(files, min(count, len(files)))
    fingerprints = [
        match.fingerprint(r.article)
        for f in chosen
        for r in parse_file(f)
        if isinstance(r, ParsedRecord)
    ]
    latencies = []
    found = 0
    with engine.connect() as connection:
        up_to = candidates.snapshot(connection)
        for fingerprint in fingerprints:
            started = time.perf_counter()
            found += len(
                candidates.choose(
                    fingerprint, candidates.index_hits(connection, fingerprint, up_to)
                )
            )
            latencies.append(1000 * (time.perf_counter() - started))
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
    return statistics.median(latencies), p99, found / max(1, len(fingerprints))


def _database_bytes(engine) -> int:
    if engine.dialect.name == "sqlite":
        path = Path(engine.url.database)
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    with engine.connect() as connection:
        return int(connection.scalar(text("SELECT pg_database_size(current_database())")))


def _database_url(
    database: str, scratch: Path, pg_url: str | None, name: str = "bench"
) -> str | None:
    if database == "sqlite":
        path = scratch / f"{name}.db"
        for stale in scratch.glob(f"{name}.db*"):
            stale.unlink()
        return f"sqlite:///{path}"
    server = pg_url or os.environ.get("ARCHIVE_TEST_POSTGRES_URL")
    if not server:
        return None
    name = f"archive_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    _DATABASES_MADE.append((server, name))
    return make_url(server).set(database=name).render_as_string(hide_password=False)


# The PostgreSQL databases this run made (server URL, name): dropped when it ends, however it
# ends, unless --keep-databases (one of 1,000,000 documents takes about 9 GB of the server).
_DATABASES_MADE: list[tuple[str, str]] = []


def _drop_databases_made() -> None:
    while _DATABASES_MADE:
        server, name = _DATABASES_MADE.pop()
        admin = create_engine(make_url(server), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()


def _run_tables(runs: list[Run]) -> list[str]:
    if not runs:
        return []
    checkpoints = sorted({c for run in runs for c in run.lookups})
    lines = [
        "| database | documents | documents/s | first 10% ms/doc | last 10% ms/doc | last/first "
        "| peak RSS MB: writer / largest worker | bytes/version |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        first, last = (run.slice_ms[0], run.slice_ms[-1]) if run.slice_ms else (0.0, 0.0)
        lines.append(
            f"| {run.database} | {_documents(run)} | {run.documents / run.seconds:,.0f} | "
            f"{first:.2f} | {last:.2f} | {last / first if first else 0:.2f} | "
            f"{run.peak_writer_mb:,.0f} / {run.peak_worker_mb:,.0f} | "
            f"{run.bytes_per_version:,.0f} |"
        )
    lines += [
        "",
        "Peak RSS is that of the ingest's own processes (each stretch between checkpoints is "
        "ingested in a process of its own, as `archive ingest` runs). This script's process, "
        "which holds the corpus's file list, the reference measures and the lookups' "
        "connection: "
        + ", ".join(f"{run.database} {run.bench_rss_mb:,.0f} MB" for run in runs)
        + ".",
    ]
    lines += ["", "Cost per document in each tenth of the run (ms):", ""]
    for run in runs:
        lines.append(f"- {run.database}: " + ", ".join(f"{c:.2f}" for c in run.slice_ms))
    header = " | ".join(f"at {c:,}: lookup p50 / p99 (ms), candidates" for c in checkpoints)
    lines += ["", f"| database | {header} |"]
    lines.append("|---|" + "---|" * len(checkpoints))
    for run in runs:
        cells = [
            f"{run.lookups[c][0]:.2f} / {run.lookups[c][1]:.2f}, {run.lookups[c][2]:.1f}"
            if c in run.lookups
            else "-"
            for c in checkpoints
        ]
        lines.append(f"| {run.database} | " + " | ".join(cells) + " |")
    return lines


def _documents(run: Run) -> str:
    if run.documents == run.planned:
        return f"{run.documents:,}"
    return f"{run.documents:,} of {run.planned:,} (stopped)"


def _machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    python = platform.python_version()
    return f"Machine: {os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, Python {python}."


def _document(report: str, existing: str | None) -> str:
    """The performance document with ``report`` as its run: what stands before the first run
    (the targets and their status, written by hand) is kept."""
    head = "# Performance\n\nMeasured with `scripts/bench.py` (see its docstring).\n\n"
    if existing and "\n## Run of " in existing:
        head = existing.split("\n## Run of ", 1)[0] + "\n"
    return head + report


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kit", default=str(DEFAULT_KIT), help="eval kit")
    parser.add_argument("--scale", type=int, default=10_000, help="documents to generate")
    parser.add_argument("--corpus", help="a corpus folder made by make_corpus.py --scale")
    parser.add_argument("--limit", type=int, help="ingest only the corpus's first N files")
    parser.add_argument(
        "--db", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"]
    )
    parser.add_argument("--pg-url", help="PostgreSQL server URL to create a database under")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="records per transaction"
    )
    parser.add_argument("--checkpoints", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    # 1,000: the p99 of 200 timings is their second slowest, one hiccup of the machine.
    parser.add_argument("--lookups", type=int, default=1000, help="lookups timed per checkpoint")
    parser.add_argument("--reference-docs", type=int, default=5000, help="docs for references")
    parser.add_argument(
        "--time-limit", type=float, help="stop ingesting after this many seconds and report"
    )
    parser.add_argument("--workdir", help="scratch folder (default: a new temporary one)")
    parser.add_argument("--out", help="write the report to this Markdown file")
    parser.add_argument("--smoke", action="store_true", help="300 documents: a check it runs")
    parser.add_argument(
        "--api", action="store_true", help="also time Archive.add_many of the same articles"
    )
    parser.add_argument(
        "--processes",
        type=int,
        nargs="*",
        default=[],
        help="also ingest with this many concurrent --shard processes (e.g. 1 2 4), per database",
    )
    parser.add_argument(
        "--shard-workers", type=int, default=1, help="parsing workers of each --processes process"
    )
    parser.add_argument(
        "--keep-databases",
        action="store_true",
        help="leave the PostgreSQL databases the run made (by default dropped at its end)",
    )
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
