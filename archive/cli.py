"""The ``archive`` command line: parses options, calls the library, prints results."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.exc import SQLAlchemyError

from archive import __version__
from archive.config import DATABASE_URL_ENV, DEFAULT_DATABASE_URL, database_url, display_url
from archive.db import open_archive
from archive.ingest import DEFAULT_BATCH_SIZE, Report, collect_files, ingest
from archive.parse import ParsedRecord, parse_file
from archive.queries import stories_with_versions
from archive.relink import count_versions, relink

MAX_FAILURES_SHOWN = 20

db_option = click.option(
    "--db",
    "db_url",
    metavar="URL",
    help=f"Database URL [default: ${DATABASE_URL_ENV}, else {DEFAULT_DATABASE_URL}]",
)


@click.group()
@click.version_option(__version__, prog_name="archive")
def main() -> None:
    """A news article archive that links copies, edits and rewrites of one story."""


@main.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@db_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary of stories.")
@click.option(
    "--batch-size",
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    type=click.IntRange(min=1),
    help="Files written per database transaction.",
)
@click.option(
    "--workers",
    default=os.cpu_count() or 1,
    show_default="all cores",
    type=click.IntRange(min=1),
    help="Processes that parse and fingerprint; one more writes. Results do not depend on it.",
)
def ingest_command(
    paths: tuple[str, ...], db_url: str | None, quiet: bool, batch_size: int, workers: int
) -> None:
    """Parse, fingerprint and link every article file under PATHS (folders recursively)."""
    url = database_url(db_url)
    err = Console(stderr=True, soft_wrap=True)
    engine = _open(url)
    show_progress = not quiet and sys.stderr.isatty()
    stop = _StopAfterBatch(err)
    try:
        with stop.installed():
            if show_progress:
                total = sum(1 for _ in collect_files(paths))
                with _progress_bar(err) as progress:
                    task = progress.add_task("ingesting", total=total)
                    report = ingest(
                        paths,
                        engine,
                        batch_size=batch_size,
                        workers=workers,
                        on_file=lambda _: progress.advance(task),
                        should_stop=stop.requested,
                    )
            else:
                report = ingest(
                    paths,
                    engine,
                    batch_size=batch_size,
                    workers=workers,
                    should_stop=stop.requested,
                )
    except KeyboardInterrupt:
        err.print(f"Interrupted; the unfinished batch was rolled back. {RESUME_HINT}")
        sys.exit(130)
    _print_report(report, url, quiet, err)
    if report.interrupted:
        err.print(f"Interrupted after {report.files_seen} files. {RESUME_HINT}")
        sys.exit(130)
    if not quiet:
        _print_linked_stories(engine, report)
    sys.exit(report.exit_code)


RESUME_HINT = "Run the same command again to resume: what is archived already is skipped."


class _StopAfterBatch:
    """First Ctrl-C: finish the batch being written, then stop. Second: stop at once."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._asked = False

    def requested(self) -> bool:
        return self._asked

    @contextmanager
    def installed(self) -> Iterator[None]:
        previous = signal.signal(signal.SIGINT, self._on_interrupt)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def _on_interrupt(self, _signum: int, _frame: object) -> None:
        if self._asked:
            raise KeyboardInterrupt
        self._asked = True
        self._console.print("Stopping after the current batch (Ctrl-C again to stop at once).")


@main.command("parse")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per record.")
def parse_command(file: str, as_json: bool) -> None:
    """Show what the parser extracts from FILE: title, body, URL, site, date and format."""
    failed = False
    for result in parse_file(file):
        if isinstance(result, ParsedRecord):
            fields = _record_fields(result)
        else:
            failed = True
            fields = {"source_path": result.source_path, "error": result.error}
        if as_json:
            click.echo(json.dumps(fields, ensure_ascii=False))
        else:
            for name, value in fields.items():
                if name != "body":
                    click.echo(f"{name}: {value}")
            if "body" in fields:
                click.echo("\n" + str(fields["body"]) + "\n")
    sys.exit(1 if failed else 0)


@main.command("relink")
@db_option
@click.option(
    "--threshold",
    type=click.FloatRange(0.0, 1.0),
    help="Rarity-weighted word overlap (0-1) that links a copy; default 0.5.",
)
@click.option(
    "--rewrites/--no-rewrites",
    default=True,
    show_default=True,
    help="Also link rewrites, by sentence-by-sentence correspondence.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def relink_command(
    db_url: str | None, threshold: float | None, rewrites: bool, quiet: bool
) -> None:
    """Recompute every link and story from the stored text, without reading any file."""
    url = database_url(db_url)
    engine = _open(url)
    if not quiet and sys.stderr.isatty():
        with _progress_bar(Console(stderr=True)) as progress:
            task = progress.add_task("relinking", total=count_versions(engine))
            report = relink(
                engine,
                threshold=threshold,
                rewrites=rewrites,
                on_version=lambda: progress.advance(task),
            )
    else:
        report = relink(engine, threshold=threshold, rewrites=rewrites)
    click.echo(report.summary(), err=True)


def _record_fields(record: ParsedRecord) -> dict[str, Any]:
    article = asdict(record.article)
    published = article.pop("published_at")
    return {
        "source_path": record.source_path,
        "format": record.format,
        **article,
        "published_at": published.isoformat() if published else None,
    }


def _open(url: str) -> Any:
    try:
        return open_archive(url)
    except (SQLAlchemyError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise click.ClickException(
            f"cannot open the archive at {display_url(url)}: {reason}"
        ) from exc


def _progress_bar(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def _print_report(report: Report, url: str, quiet: bool, err: Console) -> None:
    for failure in report.failures[:MAX_FAILURES_SHOWN]:
        err.print(f"[red]error[/red]: {failure.source_path}: {failure.error}", highlight=False)
    if report.failed > MAX_FAILURES_SHOWN:
        err.print(
            f"... and {report.failed - MAX_FAILURES_SHOWN} more; all are in the ingest_errors "
            f"table (run_id = {report.run_id})"
        )
    if not quiet or report.failed:
        err.print(report.summary(), highlight=False)
        err.print(f"archive: {display_url(url)} (ingest run {report.run_id})", highlight=False)


def _print_linked_stories(engine: Any, report: Report) -> None:
    stories = stories_with_versions(engine, run_id=report.run_id, limit=10)
    if not stories:
        return
    click.echo("Stories with more than one version:")
    for story in stories:
        click.echo(f"  story {story.story_id}: {story.title!r} ({story.versions} versions)")
        for source in story.sources:
            how = source.method
            if source.similarity is not None and source.method != "exact":
                how += f", overlap {source.similarity:.2f}"
            click.echo(f"    {source.source_path}  ({how})")
