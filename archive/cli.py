"""The ``archive`` command line: parses options, calls the library, prints results."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any, TypeVar

import click
from rich import box
from rich.console import Console, JustifyMethod
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError

from archive import __version__
from archive.config import (
    DATABASE_URL_ENV,
    DEFAULT_DATABASE_URL,
    database_url,
    display_url,
    mask_secrets,
)
from archive.db import open_archive
from archive.diff import diff_versions, render_plain, render_rich
from archive.errors import ArchiveBusyError, environment_failure
from archive.export import FORMATS, Format, export
from archive.ingest import DEFAULT_BATCH_SIZE, Report, collect_files, ingest
from archive.models import as_utc
from archive.parse import ParsedRecord, parse_file
from archive.queries import (
    NotFoundError,
    archive_stats,
    list_stories,
    show_story,
    stories_with_versions,
    to_jsonable,
)
from archive.relink import count_versions, relink
from archive.remove import remove_version
from archive.search import search_versions

MAX_FAILURES_SHOWN = 20
_PIPE_WIDTH = 1000
_DATE_FORMATS = ["%Y-%m-%d"]
_METHOD_LABELS = {
    "new story": "first of their story (new story)",
    "exact": "exact copies",
    "near": "near copies",
    "rewrite": "rewrites",
}
T = TypeVar("T")
_Columns = tuple[tuple[str, JustifyMethod], ...]

db_option = click.option(
    "--db",
    "db_url",
    metavar="URL",
    help=f"Database URL [default: ${DATABASE_URL_ENV}, else {DEFAULT_DATABASE_URL}]",
)


class _Commands(click.Group):
    """A failure of the database or the disk while a command runs (the server gone, a full
    disk, a read-only archive, the lock held too long; not one bad input, which is logged, and
    not a bug) ends it with one line and exit code 1, whatever the command."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException:
            raise  # a message already
        except Exception as exc:
            reason = environment_failure(exc)
            if reason is None:
                raise
            for url in _opened_urls:
                reason = mask_secrets(reason, url)
            command = ctx.invoked_subcommand or "archive"
            message = f"{command} stopped: {reason}."
            if command == "ingest":
                message += f" What was committed is kept. {RESUME_HINT}"
            raise click.ClickException(message) from exc


# The archives this command opened, whose secrets no message may show.
_opened_urls: list[str] = []


@click.group(cls=_Commands)
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
@click.option(
    "--follow-symlinks",
    is_flag=True,
    help="Follow links in folders also where they point outside the given paths.",
)
def ingest_command(
    paths: tuple[str, ...],
    db_url: str | None,
    quiet: bool,
    batch_size: int,
    workers: int,
    follow_symlinks: bool,
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
                total = sum(1 for _ in collect_files(paths, follow_symlinks=follow_symlinks))
                with _progress_bar(err) as progress:
                    task = progress.add_task("ingesting", total=total)
                    report = ingest(
                        paths,
                        engine,
                        batch_size=batch_size,
                        workers=workers,
                        on_file=lambda _: progress.advance(task),
                        should_stop=stop.requested,
                        follow_symlinks=follow_symlinks,
                    )
            else:
                report = ingest(
                    paths,
                    engine,
                    batch_size=batch_size,
                    workers=workers,
                    should_stop=stop.requested,
                    follow_symlinks=follow_symlinks,
                )
    except KeyboardInterrupt:
        err.print(f"Interrupted; the unfinished batch was rolled back. {RESUME_HINT}")
        sys.exit(stop.exit_code)
    _print_report(report, url, quiet, err)
    if report.interrupted:
        err.print(
            f"Interrupted after {report.files_seen} files ({report.versions_stored} versions "
            f"stored). {RESUME_HINT}"
        )
        sys.exit(stop.exit_code)
    if not quiet:
        _print_linked_stories(engine, report)
    sys.exit(report.exit_code)


RESUME_HINT = "Run the same command again to resume: what is archived already is skipped."


class _StopAfterBatch:
    """First Ctrl-C or SIGTERM: finish the batch being written, then stop (exit code 130 or
    143). Second: stop at once, the open batch rolled back."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._asked = False
        self.exit_code = 128 + signal.SIGINT

    def requested(self) -> bool:
        return self._asked

    @contextmanager
    def installed(self) -> Iterator[None]:
        previous = {
            signum: signal.signal(signum, self._on_interrupt)
            for signum in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _on_interrupt(self, signum: int, _frame: object) -> None:
        if self._asked:
            raise KeyboardInterrupt
        self._asked = True
        self.exit_code = 128 + signum
        again = "Ctrl-C" if signum == signal.SIGINT else "the signal"
        self._console.print(f"Stopping after the current batch ({again} again to stop at once).")


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


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


@main.command("stories")
@db_option
@click.option(
    "--min-versions",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Only stories with at least this many versions.",
)
@click.option(
    "--site", metavar="TEXT", help="Only stories with a version from a site containing TEXT."
)
@click.option("--title", metavar="TEXT", help="Only stories whose title contains TEXT.")
@click.option(
    "--since", type=click.DateTime(_DATE_FORMATS), help="First seen on or after this date (UTC)."
)
@click.option(
    "--until", type=click.DateTime(_DATE_FORMATS), help="First seen on or before this date (UTC)."
)
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(min=0),
    help="At most this many stories; 0 for all.",
)
@json_option
def stories_command(
    db_url: str | None,
    min_versions: int,
    site: str | None,
    title: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    as_json: bool,
) -> None:
    """List stories, newest first, with their version counts and sites."""
    engine = _open(database_url(db_url))
    stories = list_stories(
        engine,
        min_versions=min_versions,
        site=site,
        title=title,
        since=as_utc(since) if since else None,
        # --until names a day and includes it: the bound is the next midnight
        until=as_utc(until) + timedelta(days=1) if until else None,
        limit=limit or None,
    )
    if as_json:
        _echo_json(stories)
        return
    table = _table(_STORY_COLUMNS)
    for story in stories:
        table.add_row(
            str(story.story_id),
            _text(story.title),
            str(story.versions),
            _text(", ".join(story.sites)),
            _day(story.first_seen_at),
            _day(story.last_seen_at),
        )
    _console().print(table)
    if not stories:
        click.echo("no stories match", err=True)


@main.command("show")
@click.argument("story_id", metavar="STORY", type=int)
@db_option
@json_option
def show_command(story_id: int, db_url: str | None, as_json: bool) -> None:
    """Show a story: its canonical version, then every version and how it matched."""
    engine = _open(database_url(db_url))
    story = _found(lambda: show_story(engine, story_id))
    if as_json:
        _echo_json(story)
        return
    console = _console()
    if story.requested_id != story.story_id:
        console.print(f"story {story.requested_id} was merged into story {story.story_id}")
    console.print(Text.assemble((f"story {story.story_id}: ", "bold"), (story.title, "bold")))
    console.print(
        f"{len(story.versions)} versions, first seen {_time(story.first_seen_at)}, "
        f"last seen {_time(story.last_seen_at)}, canonical version {story.canonical_version_id}"
    )
    table = _table(_VERSION_COLUMNS)
    for version in story.versions:
        table.add_row(
            f"{version.version_id}{' *' if version.is_canonical else ''}",
            _text(version.site or ""),
            _day(version.published_at),
            _text(version.source_path),
            version.method,
            _number(version.matched_version_id),
            _share(version.similarity),
            _share(version.sentences),
            _text(version.title),
        )
    console.print(table)
    if story.links:
        links = _table(_LINK_COLUMNS, title="Links (every verified match between its versions)")
        for link in story.links:
            links.add_row(
                str(link.version_id),
                str(link.linked_version_id),
                link.method,
                _share(link.similarity),
                _share(link.sentences),
                str(link.distance),
            )
        console.print(links)
    console.print(
        "* canonical version; similarity and sentences are shares of 0-1, distance is in bits",
        style="dim",
    )


@main.command("diff")
@click.argument("a_id", metavar="VERSION", type=int)
@click.argument("b_id", metavar="VERSION", type=int)
@db_option
@json_option
def diff_command(a_id: int, b_id: int, db_url: str | None, as_json: bool) -> None:
    """Show word by word how the second VERSION's text differs from the first's."""
    engine = _open(database_url(db_url))
    diff = _found(lambda: diff_versions(engine, a_id, b_id))
    if as_json:
        _echo_json(diff)
        return
    header = (
        f"--- version {diff.a.version_id}: {diff.a.source_path} ({diff.a.words} words)\n"
        f"+++ version {diff.b.version_id}: {diff.b.source_path} ({diff.b.words} words)\n"
        f"{diff.shared_words:.0%} of the words unchanged"
    )
    if not diff.same_story:
        header += f" (different stories: {diff.a.story_id} and {diff.b.story_id})"
    if sys.stdout.isatty():
        console = _console()
        console.print(Text(header, style="bold"))
        console.print(Text("title: ").append_text(render_rich(diff.title)))
        console.print()
        console.print(render_rich(diff.body))
    else:
        click.echo(f"{header}\ntitle: {render_plain(diff.title)}\n\n{render_plain(diff.body)}")


@main.command("search")
@click.argument("words", nargs=-1, required=True)
@db_option
@click.option(
    "--limit", default=20, show_default=True, type=click.IntRange(min=1), help="At most this many."
)
@json_option
def search_command(words: tuple[str, ...], db_url: str | None, limit: int, as_json: bool) -> None:
    """Find versions whose title or body has all WORDS (word* for a prefix), best first."""
    engine = _open(database_url(db_url))
    try:
        hits = search_versions(engine, " ".join(words), limit=limit)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    if as_json:
        _echo_json(hits)
        return
    table = _table(_SEARCH_COLUMNS)
    for hit in hits:
        table.add_row(
            str(hit.version_id),
            str(hit.story_id),
            _text(hit.site or ""),
            _time(hit.published_at),
            _text(hit.title),
            _text(hit.snippet),
        )
    _console().print(table)
    if not hits:
        click.echo("no version has all of these words", err=True)


@main.command("stats")
@db_option
@click.option(
    "--top",
    default=10,
    show_default=True,
    type=click.IntRange(min=0),
    help="Biggest stories shown.",
)
@json_option
def stats_command(db_url: str | None, top: int, as_json: bool) -> None:
    """Totals of the archive and its biggest stories."""
    engine = _open(database_url(db_url))
    stats = archive_stats(engine, top=top)
    if as_json:
        _echo_json(stats)
        return
    totals = Table(box=box.SIMPLE_HEAD, show_header=False)
    totals.add_column(justify="right")
    totals.add_column()
    for value, label in (
        (stats.stories, "stories"),
        (stats.stories_with_copies, "stories with more than one version"),
        (stats.versions, "versions"),
        *((n, f"  {_METHOD_LABELS.get(m, m)}") for m, n in stats.versions_by_method.items()),
        (stats.links, "links between versions"),
        (stats.sites, "sites"),
        (stats.merged_story_ids, "story ids merged into others"),
        (stats.removed_versions, "versions removed"),
        (stats.ingest_runs, "ingest runs"),
        (stats.ingest_errors, "files or records that failed"),
    ):
        totals.add_row(str(value), label)
    console = _console()
    console.print(totals)
    if stats.first_seen_at is not None:
        console.print(f"seen from {_time(stats.first_seen_at)} to {_time(stats.last_seen_at)}")
    if stats.biggest_stories:
        biggest = _table(_BIGGEST_COLUMNS, title="Biggest stories")
        for story in stats.biggest_stories:
            biggest.add_row(
                str(story.story_id), str(story.versions), str(story.sites), _text(story.title)
            )
        console.print(biggest)


@main.command("export")
@db_option
@click.option(
    "--format",
    "format_",
    type=click.Choice(FORMATS),
    default="jsonl",
    show_default=True,
    help="jsonl: a story per line, its versions nested; csv: a version per row.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to this file instead of standard output.",
)
@click.option("--bodies/--no-bodies", default=True, show_default=True, help="Include the texts.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def export_command(
    db_url: str | None, format_: Format, out: str | None, bodies: bool, as_json: bool
) -> None:
    """Write every story and version as JSON Lines or CSV, streamed from the database."""
    engine = _open(database_url(db_url))
    if out is None:
        try:
            summary = export(engine, sys.stdout, format=format_, bodies=bodies)
            sys.stdout.flush()
        except BrokenPipeError:
            # the reader stopped early (| head): not an error, and no traceback either
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
    else:
        # newline="" leaves line ends to the writers: csv's own, one per JSON line
        with open(out, "w", encoding="utf-8", newline="") as stream:
            summary = export(engine, stream, format=format_, bodies=bodies)
    # With the data on stdout, the summary goes to stderr, where it cannot corrupt it.
    to_stderr = out is None
    if as_json:
        click.echo(json.dumps({**asdict(summary), "out": out}), err=to_stderr)
    else:
        click.echo(
            f"{summary.stories} stories, {summary.versions} versions written to "
            f"{out or 'standard output'} ({summary.format})",
            err=to_stderr,
        )


@main.command("remove")
@click.argument("version_id", metavar="VERSION", type=int)
@db_option
@json_option
def remove_command(version_id: int, db_url: str | None, as_json: bool) -> None:
    """Remove VERSION; its story is re-derived and split if the version held it together."""
    engine = _open(database_url(db_url))
    removal = _found(lambda: remove_version(engine, version_id))
    if as_json:
        _echo_json(removal)
        return
    lines = [
        f"removed version {removal.version_id} ({removal.source_path}) "
        f"from story {removal.story_id}"
    ]
    if removal.story_removed:
        lines.append(f"story {removal.story_id} had no other version and is gone")
    else:
        lines.append(
            f"story {removal.story_id} keeps {removal.remaining_versions} versions, "
            f"canonical version {removal.canonical_version_id}"
        )
    if removal.new_story_ids:
        ids = ", ".join(map(str, removal.new_story_ids))
        lines.append(f"the rest no longer links to it: split into new stories {ids}")
    click.echo("\n".join(lines))


_PROSE_COLUMNS = {"title", "found"}
_NAME_COLUMNS = {"site", "sites", "source"}
_BIGGEST_COLUMNS: _Columns = (
    ("story", "right"),
    ("versions", "right"),
    ("site count", "right"),
    ("title", "left"),
)
_STORY_COLUMNS: _Columns = (
    ("story", "right"),
    ("title", "left"),
    ("versions", "right"),
    ("sites", "left"),
    ("first seen", "left"),
    ("last seen", "left"),
)
_VERSION_COLUMNS: _Columns = (
    ("version", "right"),
    ("site", "left"),
    ("published", "left"),
    ("source", "left"),
    ("method", "left"),
    ("matched", "right"),
    ("similarity", "right"),
    ("sentences", "right"),
    ("title", "left"),
)
_LINK_COLUMNS: _Columns = (
    ("version", "right"),
    ("linked to", "right"),
    ("method", "left"),
    ("similarity", "right"),
    ("sentences", "right"),
    ("distance", "right"),
)
_SEARCH_COLUMNS: _Columns = (
    ("version", "right"),
    ("story", "right"),
    ("site", "left"),
    ("published", "left"),
    ("title", "left"),
    ("found", "left"),
)


def _table(columns: _Columns, title: str | None = None) -> Table:
    terminal = sys.stdout.isatty()
    flexible = terminal and any(name in _PROSE_COLUMNS for name, _ in columns)
    # On a terminal, ids, dates and numbers stay whole, names and paths wrap when they must, and
    # titles take what width is left, cut with …; piped output is wide enough for everything.
    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left", expand=flexible)
    for name, justify in columns:
        if not terminal:
            table.add_column(name, justify=justify)
        elif name in _PROSE_COLUMNS:
            table.add_column(name, justify=justify, ratio=1, no_wrap=True, overflow="ellipsis")
        elif name in _NAME_COLUMNS:
            table.add_column(name, justify=justify, overflow="fold")
        else:
            table.add_column(name, justify=justify, no_wrap=True)
    return table


def _found(lookup: Callable[[], T]) -> T:
    """The lookup's result; an unknown id becomes a one-line error and exit code 1."""
    try:
        return lookup()
    except NotFoundError as exc:
        raise click.ClickException(str(exc)) from exc


def _console() -> Console:
    # Piped output is not cut to 80 columns: a table row stays one line for grep and friends.
    return Console(highlight=False, width=None if sys.stdout.isatty() else _PIPE_WIDTH)


def _echo_json(value: object) -> None:
    click.echo(json.dumps(to_jsonable(value), ensure_ascii=False, indent=2))


def _text(value: str) -> Text:
    # Text, not a str: a title with [brackets] must not be read as rich markup
    return Text(value)


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def _day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


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
    _opened_urls.append(url)
    try:
        return open_archive(url)
    except (SQLAlchemyError, OSError, ValueError, ArchiveBusyError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise click.ClickException(
            f"cannot open the archive at {display_url(url)}: {mask_secrets(reason, url)}"
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
        # names and messages are the user's: "[bold]x.txt" is a file name, not rich markup
        err.print(
            f"[red]error[/red]: {escape(failure.source_path)}: {escape(failure.error)}",
            highlight=False,
        )
    if report.failed > MAX_FAILURES_SHOWN:
        err.print(
            f"... and {report.failed - MAX_FAILURES_SHOWN} more; all are in the ingest_errors "
            f"table (run_id = {report.run_id})"
        )
    if not quiet or report.failed:
        err.print(report.summary(), highlight=False)
        err.print(
            f"archive: {escape(display_url(url))} (ingest run {report.run_id})", highlight=False
        )


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
