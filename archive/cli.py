"""The ``archive`` command line: parses options, calls the Python API, prints results.

A thin layer over :mod:`archive.api`, what scripts use too: every command gets its data from
an :class:`~archive.api.Archive` (or :func:`~archive.api.parse`), and only words, formats and
prints it, and turns errors into one-line messages; there is no second way of doing anything.
Apart from the API it imports only presentation helpers (tables, wording, the link methods'
names, the diff's renderers) and settings; tests/test_cli_layers.py keeps it that way.

Every command should start at once, so this module imports only click and small modules of its
own: the API (SQLAlchemy, and behind ingest and parse trafilatura, numpy, warcio, wordfreq
and the like) is imported inside the commands that use it. ``archive --help`` and
``archive --version`` load none of it; a query on an up-to-date SQLite archive is read with
sqlite3 and loads no SQLAlchemy either (archive.storage.sqlite_read), one elsewhere no
parsing code and no Alembic; tests/test_cli_startup.py keeps it that way.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime, timedelta
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from archive import __version__
from archive.config import DATABASE_URL_ENV, DEFAULT_BATCH_SIZE, database_url
from archive.linking.method import Method
from archive.tables import Column
from archive.wording import counted

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from archive.api import Archive, ArchiveStats, ParsedRecord, Report

MAX_FAILURES_SHOWN = 20
# Where output is not a terminal, tables are as wide as their content (up to this at least):
# a row stays one line for grep and friends.
_PIPE_WIDTH = 1000
_DATE_FORMATS = ["%Y-%m-%d"]
# archive.commands.export.FORMATS, here so that `archive export --help` need not import the
# exporter
_EXPORT_FORMATS = ("jsonl", "csv")
# The source path of a page read from standard input by `archive parse -`.
STDIN_NAME = "<stdin>"
_METHOD_LABELS: dict[str, tuple[str, str]] = {
    Method.NEW_STORY: ("first of its story (new story)", "first of their story (new story)"),
    Method.EXACT: ("exact copy", "exact copies"),
    Method.NEAR: ("near copy", "near copies"),
    Method.REWRITE: ("rewrite", "rewrites"),
    Method.CONTAINED: ("contained copy (trimmed, teaser)", "contained copies (trimmed, teasers)"),
}
RESUME_HINT = "Run the same command again to resume: what is archived already is skipped."
RELINK_HINT = "Links and stories are as they were; run archive relink again to relink."
T = TypeVar("T")


class _Group(click.Group):
    """Commands listed in the order they are defined (the order of a session), not sorted.

    A failure of the database or the disk while a command runs (the server gone, a full disk,
    a read-only archive, the lock held too long; not one bad input, which is logged, and not a
    bug) ends it with one line and exit code 1, whatever the command."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # a message already, or --help, or Ctrl-C at a prompt
        except Exception as exc:
            from archive.config import mask_secrets
            from archive.errors import environment_failure

            reason = environment_failure(exc)
            if reason is None:
                raise
            for url in _opened_urls:
                reason = mask_secrets(reason, url)
            command = ctx.invoked_subcommand or "archive"
            message = f"{command} stopped: {reason}."
            if command == "ingest":
                message += f" What was committed is kept. {RESUME_HINT}"
            elif command == "relink":
                message += f" {RELINK_HINT}"
            raise click.ClickException(message) from exc


# The archives this command opened, whose secrets no message may show.
_opened_urls: list[str] = []


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    "db_url",
    metavar="PATH|URL",
    help=f"The archive, for every command: a SQLite file or a database URL "
    f"[default: ${DATABASE_URL_ENV}, else archive.db].",
)
@click.version_option(__version__, prog_name="archive")
@click.pass_context
def main(ctx: click.Context, db_url: str | None) -> None:
    """A news article archive that links copies, edits and rewrites of one story.

    \b
    Start with:
      archive ingest FOLDER          parse and link every article file in FOLDER
      archive stories                the stories, newest first
      archive show STORY             a story's versions and how they matched
    """
    ctx.obj = db_url


db_option = click.option(
    "--db",
    "db_url",
    metavar="PATH|URL",
    help=f"The archive: a SQLite file (archive.db) or a database URL "
    f"(postgresql+psycopg://user@host/name) [default: ${DATABASE_URL_ENV}, else archive.db].",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


def output_options(piped: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--table, --tsv, --csv and --json for a command that prints rows; without any, a table on
    a terminal and ``piped`` ("tsv" or "table") elsewhere."""
    lists = piped == "tsv"
    helps = {
        "table": f"A table fitted to the terminal [default{' on a terminal' if lists else ''}].",
        "tsv": f"Tab-separated values with a header line{' [default elsewhere]' if lists else ''}.",
        "csv": "Comma-separated values with a header line.",
        "json": "JSON.",
    }

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for name in reversed(helps):
            command = click.option(f"--{name}", "output", flag_value=name, help=helps[name])(
                command
            )
        return command

    return decorate


# --- ingest --------------------------------------------------------------------------------


@main.command("ingest")
@click.argument("paths", nargs=-1, type=click.Path())
@db_option
@click.option(
    "--from-file",
    metavar="FILE",
    type=click.File("rb"),
    help="Also ingest the paths listed in FILE, one a line (or NUL-separated, as find -print0 "
    "writes them); - reads the list from standard input, like a PATH of -.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but failures.")
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
@click.option(
    "--shard",
    metavar="I/N",
    help="Take only part I of N of the files (by a hash of each path), so that N processes "
    "or machines given the same PATHS share them with no other coordination.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of text.")
def ingest_command(
    paths: tuple[str, ...],
    db_url: str | None,
    from_file: IO[bytes] | None,
    quiet: bool,
    batch_size: int,
    workers: int,
    follow_symlinks: bool,
    shard: str | None,
    as_json: bool,
) -> None:
    """Parse, fingerprint and link every article file under PATHS (folders recursively).

    A PATH of - reads the paths to ingest from standard input, one a line:

    \b
      find news/ -name '*.html' -newer last-run | archive ingest -
    """
    from archive.api import Shard, files

    try:
        part = Shard.parse(shard) if shard is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--shard") from None
    given = _paths_to_ingest(paths, from_file)
    url = _url(db_url)
    from rich.console import Console

    err = Console(
        stderr=True, soft_wrap=True, highlight=False, force_terminal=_is_terminal(sys.stderr)
    )
    stop = _StopAfterBatch(err)
    with _archive(url, create=True) as archive:

        def run(progress: Callable[[str], None] | None = None) -> Report:
            return archive.ingest(
                given,
                batch_size=batch_size,
                workers=workers,
                progress=progress,
                should_stop=stop.requested,
                follow_symlinks=follow_symlinks,
                shard=part,
            )

        try:
            with stop.installed():
                if not quiet and _is_terminal(sys.stderr):
                    total = sum(
                        1 for _ in files(given, follow_symlinks=follow_symlinks, shard=part)
                    )
                    with _progress_bar(err, "files") as bar:
                        task = bar.add_task("ingesting", total=total)
                        report = run(progress=lambda _: bar.advance(task))
                else:
                    report = run()
        except KeyboardInterrupt:
            err.print(f"Interrupted; the unfinished batch was rolled back. {RESUME_HINT}")
            sys.exit(stop.exit_code)
        if as_json:
            _echo_json_report(archive, report, url)
        else:
            _print_report(report, url, quiet, err)
        if report.interrupted:
            err.print(
                f"Interrupted after {counted(report.files_seen, 'file')} "
                f"({counted(report.versions_stored, 'version')} stored). {RESUME_HINT}"
            )
            sys.exit(stop.exit_code)
        if not quiet and not as_json:
            _print_linked_stories(archive, report)
    sys.exit(report.exit_code)


def _paths_to_ingest(paths: tuple[str, ...], from_file: IO[bytes] | None) -> list[str]:
    """The paths an ingest was given, with those listed in --from-file or on standard input
    (for a PATH of -); a one-line error, before anything is created, when one does not exist."""
    if not paths and from_file is None:
        raise click.UsageError("give the PATHS to ingest, or --from-file FILE")
    # click.File("rb") opens "-" as this very stream
    stdin = sys.stdin.buffer
    lists = [from_file] if from_file is not None else []
    if "-" in paths:
        if from_file is stdin:
            raise click.UsageError("standard input can be read once: give - or --from-file -")
        lists.append(stdin)
    listed = [path for stream in lists for path in _path_list(stream.read())]
    given = [p for p in paths if p != "-"] + listed
    if not given:
        click.echo("nothing to ingest: the list of paths is empty", err=True)
        sys.exit(0)
    missing = [p for p in given if not os.path.lexists(p)]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        hint = (
            " (a list of paths, one a line, was read; archive parse - reads a page)"
            if missing[0] in listed
            else ""
        )
        raise click.ClickException(
            f"no such file or folder: {missing[0]}{more}; nothing was ingested{hint}"
        )
    return given


def _path_list(data: bytes) -> list[str]:
    """The paths in a list: NUL-separated when there is a NUL (find -print0), else one a line.
    Names are decoded as the file system does, so that any name can be read back."""
    if b"\0" in data:
        entries = data.split(b"\0")
    else:
        entries = [line.removesuffix(b"\r") for line in data.split(b"\n")]
    return [os.fsdecode(entry) for entry in entries if entry]


class _Interrupt:
    """Which signal stopped a command: its exit code is 128 + the signal's number."""

    exit_code = 128 + signal.SIGINT


@contextmanager
def _stopped_at_once() -> Iterator[_Interrupt]:
    """Ctrl-C and SIGTERM stop the command at once (KeyboardInterrupt, so that the open
    transaction is rolled back)."""
    stop = _Interrupt()

    def on_signal(signum: int, _frame: object) -> None:
        stop.exit_code = 128 + signum
        raise KeyboardInterrupt

    previous = {
        signum: signal.signal(signum, on_signal) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


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


def _print_report(report: Report, url: str, quiet: bool, err: Console) -> None:
    from archive.config import display_url

    for failure in report.failures[:MAX_FAILURES_SHOWN]:
        err.print(f"Error: {failure.source_path}: {failure.error}", markup=False)
    if report.failed > MAX_FAILURES_SHOWN:
        err.print(
            f"... and {report.failed - MAX_FAILURES_SHOWN} more; all are in the ingest_errors "
            f"table (run_id = {report.run_id})"
        )
    if not quiet or report.failed:
        err.print(report.summary(), markup=False)
        err.print(f"archive: {display_url(url)} (ingest run {report.run_id})", markup=False)


def _print_linked_stories(archive: Archive, report: Report) -> None:
    stories = archive.linked_stories(run_id=report.run_id, limit=10)
    if not stories:
        return
    click.echo("Stories with more than one version:")
    for story in stories:
        click.echo(
            f"  story {story.story_id}: {story.title!r} ({counted(story.versions, 'version')})"
        )
        for source in story.sources:
            how = source.method
            if source.similarity is not None and source.method != Method.EXACT:
                how += f", similarity {source.similarity:.2f}"
            click.echo(f"    {source.source_path}  ({how})")


def _echo_json_report(archive: Archive, report: Report, url: str) -> None:
    from archive.config import display_url

    _echo_json(
        {
            "archive": display_url(url),
            **_fields_of(report),
            "exit_code": report.exit_code,
            "linked_stories": archive.linked_stories(run_id=report.run_id, limit=10),
        }
    )


# --- parse and relink ----------------------------------------------------------------------


@main.command("parse")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per record.")
def parse_command(file: str, as_json: bool) -> None:
    """Show what the parser extracts from FILE (- for a page on standard input): title, body,
    URL, site, date and format. Nothing is stored.

    \b
      curl -s https://example.com/news/1 | archive parse -
    """
    from archive.api import ParseFailure, parse

    results = parse(sys.stdin.buffer.read(), name=STDIN_NAME) if file == "-" else parse(file)
    failed = False
    for result in results:
        if isinstance(result, ParseFailure):
            failed = True
            if as_json:  # data for a program reading the lines, like the records
                click.echo(json.dumps({"source_path": result.source_path, "error": result.error}))
            else:
                click.echo(f"Error: {result.source_path}: {result.error}", err=True)
            continue
        values = _record_fields(result)
        if as_json:
            click.echo(json.dumps(values, ensure_ascii=False))
            continue
        for name, value in values.items():
            if name != "body":
                click.echo(f"{name}: {value}")
        click.echo("\n" + str(values["body"]) + "\n")
    sys.exit(1 if failed else 0)


def _record_fields(record: ParsedRecord) -> dict[str, Any]:
    from dataclasses import asdict

    article = asdict(record.article)
    published = article.pop("published_at")
    return {
        "source_path": record.source_path,
        "format": record.format,
        **article,
        "published_at": published.isoformat() if published else None,
    }


@main.command("relink")
@db_option
@click.option(
    "--threshold",
    type=click.FloatRange(0.0, 1.0),
    help="Similarity (rarity-weighted word overlap, 0-1) that links a copy; default 0.5.",
)
@click.option(
    "--rewrites/--no-rewrites",
    default=True,
    show_default=True,
    help="Also link rewrites, by sentence-by-sentence correspondence.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@json_option
def relink_command(
    db_url: str | None, threshold: float | None, rewrites: bool, quiet: bool, as_json: bool
) -> None:
    """Recompute every link and story from the stored text, without reading any file.

    Other commands can write while it runs; its links and stories replace the old ones at its
    end, at once. Stopped before (Ctrl-C, SIGTERM, a lock held too long), it leaves them as
    they were: run it again."""
    with _archive(_url(db_url)) as archive, _stopped_at_once() as stop:
        try:
            if not quiet and _is_terminal(sys.stderr):
                from rich.console import Console

                console = Console(stderr=True, force_terminal=True)
                with _progress_bar(console, "versions") as progress:
                    task = progress.add_task("relinking", total=archive.count_versions())
                    report = archive.relink(
                        threshold=threshold,
                        rewrites=rewrites,
                        on_version=lambda: progress.advance(task),
                    )
            else:
                report = archive.relink(threshold=threshold, rewrites=rewrites)
        except KeyboardInterrupt:
            click.echo(f"Interrupted. {RELINK_HINT}", err=True)
            sys.exit(stop.exit_code)
    if as_json:
        _echo_json(report)
        return
    click.echo(
        f"{counted(report.versions, 'version')} relinked: {counted(report.links, 'link')}, "
        f"{counted(report.stories_before, 'story', 'stories')} before, {report.stories_after} "
        f"after, {counted(report.versions_moved, 'version')} moved to another story",
        err=True,
    )


# --- reading -------------------------------------------------------------------------------

_STORY_COLUMNS = (
    Column("story", justify="right"),
    Column("title", "text", priority=1, min_width=30, weight=3),
    Column("versions", justify="right", priority=2),
    Column("sites", "text", priority=3, min_width=10),
    Column("first seen", priority=4),
    Column("last seen", priority=5),
)


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
@output_options(piped="tsv")
def stories_command(
    db_url: str | None,
    min_versions: int,
    site: str | None,
    title: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    output: str | None,
) -> None:
    """List stories, newest first, with their version counts and sites."""
    from archive.api import StoryListing

    with _archive(_url(db_url)) as archive:
        stories = archive.stories(
            min_versions=min_versions,
            site=site,
            title=title,
            since=since,  # click's dates are naive: UTC days
            # --until names a day and includes it: the bound is the next midnight
            until=until + timedelta(days=1) if until else None,
            limit=limit or None,
        )
    _print_list(
        stories,
        StoryListing,
        output,
        _STORY_COLUMNS,
        lambda s: (
            str(s.story_id),
            s.title,
            str(s.versions),
            ", ".join(s.sites),
            _day(s.first_seen_at),
            _day(s.last_seen_at),
        ),
        empty="no stories match",
    )


_VERSION_COLUMNS = (
    Column("version", justify="right"),
    Column("site", "text", priority=5, min_width=8),
    Column("published", priority=6),
    Column("source", "path", priority=2, min_width=14, weight=2),
    Column("method", priority=3),
    Column("matched", justify="right", priority=7),
    Column("similarity", justify="right", priority=4),
    Column("sentences", justify="right", priority=8),
    Column("title", "text", priority=1, min_width=16, weight=2),
)
_LINK_COLUMNS = (
    Column("version", justify="right"),
    Column("linked to", justify="right"),
    Column("method", priority=1),
    Column("similarity", justify="right", priority=2),
    Column("sentences", justify="right", priority=3),
    Column("distance", justify="right", priority=4),
)


@main.command("show")
@click.argument("story_id", metavar="STORY", type=int)
@db_option
@output_options(piped="table")
def show_command(story_id: int, db_url: str | None, output: str | None) -> None:
    """Show a story: its canonical version, then every version and how it matched.

    --tsv and --csv give its versions, one a row; --json the story with its versions and links.
    """
    from archive.api import VersionDetail

    with _archive(_url(db_url)) as archive:
        story = _found(lambda: archive.story(story_id))
    if output == "json":
        _echo_json(story)
        return
    if output in {"tsv", "csv"}:
        names = ["story_id", *(f.name for f in fields(VersionDetail))]
        records = [{"story_id": story.story_id, **_fields_of(v)} for v in story.versions]
        _write_records(records, names, output)
        return
    console = _console()
    if story.requested_id != story.story_id:
        console.print(f"story {story.requested_id} was merged into story {story.story_id}")
    from rich.text import Text

    console.print(Text.assemble((f"story {story.story_id}: ", "bold"), (story.title, "bold")))
    console.print(
        f"{counted(len(story.versions), 'version')}, canonical version "
        f"{story.canonical_version_id}\n"
        f"seen from {_time(story.first_seen_at)} to {_time(story.last_seen_at)}"
    )
    _print_table(
        _VERSION_COLUMNS,
        [
            (
                f"{v.version_id}{' *' if v.is_canonical else ''}",
                v.site or "",
                _day(v.published_at),
                v.source_path,
                v.method,
                _number(v.matched_version_id),
                _share(v.similarity),
                _share(v.sentences),
                v.title,
            )
            for v in story.versions
        ],
        console=console,
    )
    if story.links:
        _print_table(
            _LINK_COLUMNS,
            [
                (
                    str(link.version_id),
                    str(link.linked_version_id),
                    link.method,
                    _share(link.similarity),
                    _share(link.sentences),
                    str(link.distance),
                )
                for link in story.links
            ],
            title="Links (every verified match between its versions)",
            console=console,
        )
    console.print(
        "* canonical version; similarity and sentences are 0-1, distance in bits",
        style="dim",
    )


@main.command("diff")
@click.argument("a_id", metavar="VERSION", type=int)
@click.argument("b_id", metavar="VERSION", type=int)
@db_option
@json_option
def diff_command(a_id: int, b_id: int, db_url: str | None, as_json: bool) -> None:
    """Show word by word how the second VERSION's text differs from the first's."""
    from archive.commands.diff import render_plain, render_rich

    with _archive(_url(db_url)) as archive:
        diff = _found(lambda: archive.diff(a_id, b_id))
    if as_json:
        _echo_json(diff)
        return
    header = (
        f"--- version {diff.a.version_id}: {diff.a.source_path} "
        f"({counted(diff.a.words, 'word')})\n"
        f"+++ version {diff.b.version_id}: {diff.b.source_path} "
        f"({counted(diff.b.words, 'word')})\n"
        f"{diff.shared_words:.0%} of the words unchanged"
    )
    if not diff.same_story:
        header += f" (different stories: {diff.a.story_id} and {diff.b.story_id})"
    if _is_terminal():
        from rich.text import Text

        console = _console()
        console.print(Text(header, style="bold"))
        console.print(Text("title: ").append_text(render_rich(diff.title)))
        console.print()
        console.print(render_rich(diff.body))
    else:
        click.echo(f"{header}\ntitle: {render_plain(diff.title)}\n\n{render_plain(diff.body)}")


_SEARCH_COLUMNS = (
    Column("version", justify="right"),
    Column("story", justify="right", priority=1),
    Column("site", "text", priority=5, min_width=8),
    Column("published", priority=4),
    Column("title", "text", priority=2, min_width=20, weight=2),
    Column("found", "text", priority=3, min_width=30, weight=3),
)


@main.command("search")
@click.argument("words", nargs=-1, required=True)
@db_option
@click.option(
    "--limit", default=20, show_default=True, type=click.IntRange(min=1), help="At most this many."
)
@output_options(piped="tsv")
def search_command(
    words: tuple[str, ...], db_url: str | None, limit: int, output: str | None
) -> None:
    """Find versions whose title or body has all WORDS (word* for a prefix), best first."""
    from archive.api import SearchHit

    with _archive(_url(db_url)) as archive:
        try:
            hits = archive.search(" ".join(words), limit=limit)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc
    _print_list(
        hits,
        SearchHit,
        output,
        _SEARCH_COLUMNS,
        lambda h: (
            str(h.version_id),
            str(h.story_id),
            h.site or "",
            _day(h.published_at),
            h.title,
            h.snippet,
        ),
        empty="no version has all of these words",
    )


_BIGGEST_COLUMNS = (
    Column("story", justify="right"),
    Column("versions", justify="right", priority=1),
    Column("sites", justify="right", priority=2),
    Column("title", "text", priority=1, min_width=20),
)


@main.command("stats")
@db_option
@click.option(
    "--top",
    default=10,
    show_default=True,
    type=click.IntRange(min=0),
    help="Biggest stories shown.",
)
@output_options(piped="table")
def stats_command(db_url: str | None, top: int, output: str | None) -> None:
    """Totals of the archive and its biggest stories.

    --tsv and --csv give the totals, one a row (measure and value, named as in --json);
    --json the totals and the biggest stories.
    """
    from rich import box
    from rich.table import Table

    with _archive(_url(db_url)) as archive:
        stats = archive.stats(top=top)
    if output == "json":
        _echo_json(stats)
        return
    if output in {"tsv", "csv"}:
        _write_records(_measures(stats), ["measure", "value"], output)
        return
    totals = Table(box=box.SIMPLE_HEAD, show_header=False, show_edge=False, pad_edge=False)
    totals.add_column(justify="right")
    totals.add_column()
    for value, label in (
        (stats.stories, _noun(stats.stories, "story", "stories")),
        (
            stats.stories_with_copies,
            f"{_noun(stats.stories_with_copies, 'story', 'stories')} with more than one version",
        ),
        (stats.versions, _noun(stats.versions, "version", "versions")),
        *(
            (n, f"  {_noun(n, *_METHOD_LABELS.get(m, (m, m)))}")
            for m, n in stats.versions_by_method.items()
        ),
        (stats.links, _noun(stats.links, "link", "links") + " between versions"),
        (stats.sites, _noun(stats.sites, "site", "sites")),
        (
            stats.merged_story_ids,
            _noun(
                stats.merged_story_ids,
                "story id merged into another",
                "story ids merged into others",
            ),
        ),
        (stats.removed_versions, _noun(stats.removed_versions, "version", "versions") + " removed"),
        (stats.ingest_runs, _noun(stats.ingest_runs, "ingest run", "ingest runs")),
        (
            stats.ingest_errors,
            _noun(
                stats.ingest_errors, "file or record that failed", "files or records that failed"
            ),
        ),
    ):
        totals.add_row(str(value), label)
    console = _console()
    console.print(totals)
    if stats.first_seen_at is not None:
        console.print(f"seen from {_time(stats.first_seen_at)} to {_time(stats.last_seen_at)}")
    if stats.biggest_stories:
        console.print()
        _print_table(
            _BIGGEST_COLUMNS,
            [
                (str(s.story_id), str(s.versions), str(s.sites), s.title)
                for s in stats.biggest_stories
            ],
            title="Biggest stories",
            console=console,
        )


def _measures(stats: ArchiveStats) -> list[dict[str, Any]]:
    """The totals of ``stats`` as records of a measure and its value, named as the fields of
    ``stats --json`` are (``versions_by_method.exact``)."""
    records = []
    for name, value in _fields_of(stats).items():
        if name == "biggest_stories":
            continue
        if isinstance(value, dict):
            records += [{"measure": f"{name}.{k}", "value": v} for k, v in value.items()]
        else:
            records.append({"measure": name, "value": value})
    return records


@main.command("export")
@db_option
@click.option(
    "--format",
    "format_",
    type=click.Choice(_EXPORT_FORMATS),
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
    db_url: str | None, format_: Any, out: str | None, bodies: bool, as_json: bool
) -> None:
    """Write every story and version as JSON Lines or CSV, streamed from the database."""
    from dataclasses import asdict

    with _archive(_url(db_url)) as archive:
        if out is None:
            try:
                summary = archive.export(sys.stdout, format=format_, bodies=bodies)
                sys.stdout.flush()
            except BrokenPipeError:
                # the reader stopped early (| head): not an error, and no traceback either
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                sys.exit(0)
        else:
            # newline="" leaves line ends to the writers: csv's own, one per JSON line
            with open(out, "w", encoding="utf-8", newline="") as stream:
                summary = archive.export(stream, format=format_, bodies=bodies)
    # With the data on stdout, the summary goes to stderr, where it cannot corrupt it.
    to_stderr = out is None
    if as_json:
        click.echo(json.dumps({**asdict(summary), "out": out}), err=to_stderr)
    else:
        click.echo(
            f"{counted(summary.stories, 'story', 'stories')}, "
            f"{counted(summary.versions, 'version')} written to "
            f"{out or 'standard output'} ({summary.format})",
            err=to_stderr,
        )


@main.command("remove")
@click.argument("version_id", metavar="VERSION", type=int)
@db_option
@json_option
def remove_command(version_id: int, db_url: str | None, as_json: bool) -> None:
    """Remove VERSION; its story is re-derived and split if the version held it together."""
    with _archive(_url(db_url)) as archive:
        removal = _found(lambda: archive.remove(version_id))
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
            f"story {removal.story_id} keeps {counted(removal.remaining_versions, 'version')}, "
            f"canonical version {removal.canonical_version_id}"
        )
    if removal.new_story_ids:
        ids = ", ".join(map(str, removal.new_story_ids))
        lines.append(f"the rest no longer links to it: split into new stories {ids}")
    click.echo("\n".join(lines))


# --- helpers -------------------------------------------------------------------------------


def _url(db_url: str | None) -> str:
    """The database URL: this command's --db, else the one given before the command
    (archive --db X stories), else $ARCHIVE_DB, else archive.db."""
    before = click.get_current_context().find_root().obj
    return database_url(db_url or before)


def _archive(url: str, *, create: bool = False) -> Archive:
    """The archive at ``url``; only with ``create`` (ingest) is a missing one made. A database
    that cannot be opened, or holds no archive, is a one-line error with exit code 1."""
    from archive.api import Archive, NoArchiveError

    _opened_urls.append(url)
    try:
        return Archive(url, create=create)
    except NoArchiveError as exc:
        raise click.ClickException(f"{exc} (archive ingest creates one)") from exc
    except Exception as exc:
        # SQLAlchemy is imported here, when opening failed: a query on an up-to-date SQLite
        # archive does not load it (archive.storage.sqlite_read)
        from sqlalchemy.exc import ArgumentError, SQLAlchemyError

        from archive.config import display_url, mask_secrets
        from archive.errors import ArchiveBusyError

        if not isinstance(exc, SQLAlchemyError | OSError | ValueError | ArchiveBusyError):
            raise
        # a URL that does not parse (the database URL check says so by raising from it)
        if isinstance(exc, ArgumentError) or isinstance(exc.__cause__, ArgumentError):
            raise click.ClickException(
                f"--db {mask_secrets(url, url)} is neither a file path nor a database URL "
                "(such as postgresql+psycopg://user@host/archive)"
            ) from exc
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise click.ClickException(
            f"cannot open the archive at {display_url(url)}: {mask_secrets(reason, url)}"
        ) from exc


def _found(lookup: Callable[[], T]) -> T:
    """The lookup's result; an unknown id becomes a one-line error and exit code 1."""
    from archive.api import NotFoundError

    try:
        return lookup()
    except NotFoundError as exc:
        raise click.ClickException(str(exc)) from exc


def _is_terminal(stream: IO[str] | None = None) -> bool:
    """Whether ``stream`` (standard output) is a terminal. TTY_COMPATIBLE=1 or 0 (rich's
    switch) says so instead: for tests, and for a pager that shows colours."""
    forced = os.environ.get("TTY_COMPATIBLE", "")
    if forced in {"0", "1"}:
        return forced == "1"
    return (stream or sys.stdout).isatty()


def _terminal_width() -> int | None:
    """The width of the terminal output goes to (``$COLUMNS`` first); None when not one."""
    if not _is_terminal():
        return None
    return shutil.get_terminal_size().columns


def _console(width: int | None = None) -> Console:
    from rich.console import Console

    terminal = _is_terminal()
    return Console(
        highlight=False,
        force_terminal=terminal,
        width=_terminal_width() if terminal else max(width or 0, _PIPE_WIDTH),
    )


def _print_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    *,
    title: str | None = None,
    console: Console | None = None,
) -> None:
    from archive.tables import natural_width, table

    width = _terminal_width()
    if console is None or (width is None and natural_width(columns, rows) > console.width):
        console = _console(natural_width(columns, rows))
    console.print(table(columns, rows, width, title=title))


def _print_list(
    items: Sequence[Any],
    kind: type,
    output: str | None,
    columns: Sequence[Column],
    cells: Callable[[Any], Sequence[str]],
    *,
    empty: str,
) -> None:
    """A list command's output: JSON, TSV or CSV with the fields of ``kind`` (a dataclass), or
    a table of ``cells`` of each item. An empty list prints no table, and says so on stderr."""
    output = output or ("table" if _is_terminal() else "tsv")
    if output == "json":
        _echo_json(list(items))
    elif output in {"tsv", "csv"}:
        names = [f.name for f in fields(kind)]
        _write_records([_fields_of(item) for item in items], names, output)
    elif items:
        _print_table(columns, [cells(item) for item in items])
    if not items:
        click.echo(empty, err=True)


def _write_records(records: list[dict[str, Any]], names: Sequence[str], output: str) -> None:
    from archive.tables import write_records

    write_records(records, names, output, sys.stdout)


def _fields_of(value: Any) -> dict[str, Any]:
    return {f.name: getattr(value, f.name) for f in fields(value)}


def _echo_json(value: object) -> None:
    from archive.api import to_jsonable

    click.echo(json.dumps(to_jsonable(value), ensure_ascii=False, indent=2))


def _noun(n: int, singular: str, plural: str) -> str:
    return singular if n == 1 else plural


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def _day(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _progress_bar(console: Console, unit: str) -> Progress:
    """A bar on ``console`` that counts ``unit`` (files, versions), with the rate and the time
    left; gone when done."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        Task,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text(
                "" if speed is None else f"{speed:,.1f} {unit}/s", style="progress.data.speed"
            )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        RateColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


if __name__ == "__main__":  # python -m archive.cli, as from a checkout without installing
    main()
