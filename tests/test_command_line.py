"""The command line as people use it (issue 18): --db as a path or a URL anywhere, no archive
made by mistake, tables that fit the terminal, output for programs, progress per file, paths
and pages on standard input, and wording."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rich.cells import cell_len
from sqlalchemy import Engine, create_engine, func, inspect, select
from sqlalchemy.orm import Session

from archive.cli import main
from archive.commands.ingest import ingest
from archive.commands.queries import show_story
from archive.storage.models import IngestRun

from .conftest import SAMPLES
from .module_db import BOTH_DATABASES, module_database

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SEED_HTML = SAMPLES / "meridian-kim-russia.html"
READ_COMMANDS = (
    ["stories"],
    ["show", "1"],
    ["diff", "1", "2"],
    ["search", "barrier"],
    ["stats"],
    ["export"],
    ["remove", "1"],
    ["relink"],
)


def invoke(
    args: Sequence[str], *, width: int | None = None, input: bytes | str | None = None
) -> Result:
    """Run ``archive ARGS``; with ``width``, as if on a terminal that wide, else piped."""
    env = {"TTY_COMPATIBLE": "1", "COLUMNS": str(width)} if width else {"TTY_COMPATIBLE": "0"}
    result = CliRunner().invoke(main, list(args), input=input, env=env)
    assert "Traceback" not in result.output, result.output
    return result


def screen(text: str) -> list[str]:
    """The lines of terminal output, colours removed."""
    return ANSI.sub("", text).splitlines()


@pytest.fixture(scope="module", params=BOTH_DATABASES)
def samples(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, str]]:
    """The bundled samples, ingested once for the tests that only read them."""
    with module_database(request.param, tmp_path_factory.mktemp("samples")) as (engine, url):
        assert ingest([str(SAMPLES)], engine).failed == 0
        yield engine, url


@pytest.fixture(scope="module")
def sample_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The samples in a SQLite archive, as the path of its file."""
    folder = tmp_path_factory.mktemp("file")
    with module_database("sqlite", folder):
        assert ingest([str(SAMPLES)], create_engine(f"sqlite:///{folder / 'archive.db'}"))
    yield folder / "archive.db"


# --- --db: a path or a URL, before or after the command; never an archive made by mistake ---


def test_db_is_a_file_path_or_a_url_before_or_after_the_command(
    sample_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = invoke(["stories", "--json", "--db", f"sqlite:///{sample_file}"])
    assert expected.exit_code == 0, expected.output
    assert len(json.loads(expected.stdout)) == 6
    for args in (
        ["stories", "--json", "--db", str(sample_file)],
        ["--db", str(sample_file), "stories", "--json"],
        ["--db", f"sqlite:///{sample_file}", "stories", "--json"],
        ["--db", "elsewhere.db", "stories", "--json", "--db", str(sample_file)],  # nearest wins
    ):
        assert invoke(args).stdout == expected.stdout, args
    monkeypatch.chdir(sample_file.parent)
    assert invoke(["--db", "archive.db", "stories", "--json"]).stdout == expected.stdout
    monkeypatch.setenv("ARCHIVE_DB", str(sample_file))
    monkeypatch.chdir(SAMPLES)
    assert invoke(["stories", "--json"]).stdout == expected.stdout


def test_db_before_the_command_works_for_postgresql_too(samples: tuple[Engine, str]) -> None:
    result = invoke(["--db", samples[1], "show", "1", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["story_id"] == 1


@pytest.mark.parametrize("command", READ_COMMANDS, ids=lambda c: c[0])
def test_commands_on_a_missing_archive_fail_in_one_line_without_creating_it(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for db in ("typo.db", "sqlite:///typo.db", str(tmp_path / "typo.db")):
        result = invoke([*command, "--db", db])
        assert result.exit_code == 1, result.output
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1
        assert result.stderr.startswith("Error: no archive at ")
        assert "typo.db: no such file" in result.stderr
    monkeypatch.delenv("ARCHIVE_DB", raising=False)
    result = invoke(command)  # the default, archive.db here
    assert result.exit_code == 1 and "no archive at archive.db" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.postgres
def test_commands_on_an_empty_postgresql_database_leave_it_empty(postgres_url: str) -> None:
    result = invoke(["stories", "--db", postgres_url])
    assert result.exit_code == 1
    assert "the database has no archive tables" in result.stderr
    engine = create_engine(postgres_url)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_ingest_of_a_missing_path_fails_before_creating_anything(tmp_path: Path) -> None:
    database = tmp_path / "archive.db"
    result = invoke(["ingest", str(SEED_HTML), str(tmp_path / "typo-path"), "--db", str(database)])
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"Error: no such file or folder: {tmp_path / 'typo-path'}; nothing was ingested\n"
    )
    assert not database.exists()
    # and in an archive that exists, no run is recorded
    assert invoke(["ingest", "-q", str(SEED_HTML), "--db", str(database)]).exit_code == 0
    invoke(["ingest", str(tmp_path / "a"), str(tmp_path / "b"), "--db", str(database)])
    engine = create_engine(f"sqlite:///{database}")
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(IngestRun)) == 1
    engine.dispose()


def test_a_db_that_is_neither_path_nor_url_says_what_it_takes() -> None:
    result = invoke(["stories", "--db", "postgres:/nowhere"])
    assert result.exit_code == 1
    assert "is neither a file path nor a database URL" in result.stderr


# --- tables that fit the terminal ----------------------------------------------------------


def table_rows(lines: list[str], ids: Sequence[str]) -> dict[str, str]:
    """The line of each id (a table row starts with its id, right-aligned)."""
    return {i: next(line for line in lines if line.split()[:1] == [i]) for i in ids}


def test_stories_fit_80_columns_with_titles_worth_reading(samples: tuple[Engine, str]) -> None:
    result = invoke(["stories", "--db", samples[1]], width=80)
    assert result.exit_code == 0, result.output
    lines = screen(result.stdout)
    assert all(cell_len(line) <= 80 for line in lines)
    assert lines[0].split()[:2] == ["story", "title"]
    rows = table_rows(lines, ["1", "2", "3", "4", "5", "6"])
    assert "North Korea’s Kim sets forth…" in rows["1"]  # cut at a word
    assert "2023-09-22" in rows["1"] and "3" in rows["1"].split()
    assert "Cove Line adds winter ferry…" in rows["3"]
    wide = screen(invoke(["stories", "--db", samples[1]], width=160).stdout)
    wide_row = table_rows(wide, ["1"])["1"]
    assert (
        "North Korea’s Kim sets forth steps to boost Russia ties as US and Seoul warn" in wide_row
    )
    assert wide[0].split()[-2:] == ["last", "seen"]


def test_show_tells_versions_apart_in_80_columns_and_keeps_a_row_a_line(
    samples: tuple[Engine, str],
) -> None:
    story = show_story(samples[0], 1)
    ids = [str(v.version_id) for v in story.versions]
    for width in (80, 100, 120):
        lines = screen(invoke(["show", "1", "--db", samples[1]], width=width).stdout)
        assert all(cell_len(line) <= width for line in lines), width
        header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["version", "site"])
        assert lines[header].split()[-1] == "title"
        rows = lines[header + 2 : header + 2 + len(ids)]  # after the header and its rule
        assert [row.split()[0] for row in rows] == ids, width  # one line per version
        for row, version in zip(rows, story.versions, strict=True):
            assert Path(version.source_path).name[-9:] in row  # the end of the file name
            assert version.method in row
            assert version.title[:8] in row
        if width >= 100:
            assert "The Merid" in rows[0]  # the site
            assert "0.42" in " ".join(rows)


def test_piped_lists_are_tsv_and_tables_are_never_cut(samples: tuple[Engine, str]) -> None:
    result = invoke(["stories", "--db", samples[1]])
    lines = result.stdout.splitlines()
    assert lines[0].split("\t") == [
        "story_id",
        "title",
        "versions",
        "sites",
        "first_seen_at",
        "last_seen_at",
        "canonical_version_id",
    ]
    first = dict(zip(lines[0].split("\t"), lines[-1].split("\t"), strict=True))
    assert first["title"].endswith("as US and Seoul warn about weapons deals")
    assert first["first_seen_at"] == "2023-09-22T06:05:00+00:00"
    show = invoke(["show", "1", "--db", samples[1]]).stdout
    assert "…" not in show and "samples/002_224e29597f2f497a.txt" in show


def test_every_list_has_table_tsv_csv_and_json(samples: tuple[Engine, str]) -> None:
    db = ["--db", samples[1]]
    for command, key, count in (
        (["stories", "--min-versions", "2"], "story_id", 4),
        (["search", "portwell", "barrier"], "version_id", 3),
        (["show", "1"], "version_id", 3),
    ):
        as_json = json.loads(invoke([*command, *db, "--json"]).stdout)
        items = as_json["versions"] if command[0] == "show" else as_json
        as_csv = list(csv.DictReader(io.StringIO(invoke([*command, *db, "--csv"]).stdout)))
        as_tsv = list(
            csv.DictReader(io.StringIO(invoke([*command, *db, "--tsv"]).stdout), delimiter="\t")
        )
        assert len(items) == len(as_csv) == len(as_tsv) == count, command
        assert [str(i[key]) for i in items] == [r[key] for r in as_csv] == [r[key] for r in as_tsv]
        table = invoke([*command, *db, "--table"]).stdout
        assert "─" in table, command


def test_stats_totals_are_tsv_and_csv_as_json_names_them(samples: tuple[Engine, str]) -> None:
    db = ["--db", samples[1]]
    as_json = json.loads(invoke(["stats", *db, "--json"]).stdout)
    as_csv = list(csv.reader(io.StringIO(invoke(["stats", *db, "--csv"]).stdout)))
    as_tsv = [line.split("\t") for line in invoke(["stats", *db, "--tsv"]).stdout.splitlines()]
    assert as_csv == as_tsv
    assert as_csv[0] == ["measure", "value"]
    measures = dict(as_csv[1:])
    assert len(measures) == len(as_csv) - 1  # each measure once
    by_method = as_json.pop("versions_by_method")
    assert as_json.pop("biggest_stories")  # --json only: a list of its own
    assert measures == {
        **{name: str(value) for name, value in as_json.items()},
        **{f"versions_by_method.{m}": str(n) for m, n in by_method.items()},
    }
    assert measures["versions"] == "11" and measures["versions_by_method.new story"] == "6"
    assert measures["first_seen_at"] == "2023-09-22T06:05:00+00:00"
    assert "─" in invoke(["stats", *db]).stdout  # a table by default, also piped


def test_an_empty_result_prints_no_table_and_says_so_on_stderr(
    samples: tuple[Engine, str],
) -> None:
    for command, message in (
        (["stories", "--title", "no such title"], "no stories match\n"),
        (["search", "zzyzx"], "no version has all of these words\n"),
    ):
        result = invoke([*command, "--db", samples[1]], width=80)
        assert (result.stdout, result.stderr) == ("", message)
        as_csv = invoke([*command, "--db", samples[1], "--csv"])
        assert as_csv.stdout.count("\n") == 1  # the header alone
        assert invoke([*command, "--db", samples[1], "--json"]).stdout.strip() == "[]"


# --- progress ------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2])
def test_progress_is_told_per_file_before_the_batch_is_written(
    engine: Engine, tmp_path: Path, workers: int
) -> None:
    files = [SAMPLES / name for name in ("harbour-barrier.txt", "library-closures.txt")]
    files += [SEED_HTML, SAMPLES / "regional-feed.jsonl"]
    events: list[tuple[str, str]] = []
    ingest(
        [str(f) for f in files],
        engine,
        workers=workers,
        batch_size=10,  # one batch for all four
        progress=lambda path: events.append(("parsed", path)),
        on_file=lambda path: events.append(("written", path)),
    )
    assert events == [("parsed", str(f)) for f in files] + [("written", str(f)) for f in files]


def test_ingest_shows_files_rate_and_time_left_on_a_terminal_only(tmp_path: Path) -> None:
    database = tmp_path / "archive.db"
    args = ["ingest", str(SAMPLES), "--db", str(database), "--workers", "1"]
    on_terminal = invoke(args, width=100)
    assert on_terminal.exit_code == 0, on_terminal.output
    bar = ANSI.sub("", on_terminal.stderr)
    assert "8/8 files" in bar and "files/s" in bar and "0:00:00" in bar
    database.unlink()
    piped = invoke(args)
    assert "files/s" not in piped.stderr and "━" not in piped.stderr


# --- standard input ------------------------------------------------------------------------


def test_parse_reads_a_page_on_standard_input() -> None:
    result = invoke(["parse", "-", "--json"], input=SEED_HTML.read_bytes())
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["source_path"] == "<stdin>"
    assert record["format"] == "html" and record["site"] == "The Meridian Post"


def test_ingest_reads_paths_from_standard_input_or_a_file(tmp_path: Path) -> None:
    database = str(tmp_path / "archive.db")
    listed = f"{SAMPLES / 'harbour-barrier.txt'}\n\n{SAMPLES / 'library-closures.txt'}\n"
    result = invoke(["ingest", "-", "--db", database, "--json"], input=listed)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["versions_stored"] == 2
    # NUL-separated, as find -print0 writes, from a file; a name with a newline in it
    odd = tmp_path / "in" / "two\nlines.json"
    odd.parent.mkdir()
    shutil.copy(SAMPLES / "portwell-barrier-wire.json", odd)
    listing = tmp_path / "list"
    listing.write_bytes(b"\0".join([bytes(odd), bytes(SEED_HTML)]) + b"\0")
    result = invoke(["ingest", "--from-file", str(listing), "--db", database, "--json"])
    assert json.loads(result.stdout)["versions_stored"] == 2
    result = invoke(["ingest", "--from-file", "-", "--db", database, "--json"], input="")
    assert result.exit_code == 0 and "the list of paths is empty" in result.stderr


def test_a_page_given_to_ingest_dash_says_how_to_parse_it(tmp_path: Path) -> None:
    database = tmp_path / "archive.db"
    result = invoke(["ingest", "-", "--db", str(database)], input=SEED_HTML.read_bytes())
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no such file or folder: <!DOCTYPE html>")
    assert "archive parse - reads a page" in result.stderr
    assert not database.exists()


# --- wording -------------------------------------------------------------------------------


def test_counts_read_as_english(tmp_path: Path) -> None:
    database = str(tmp_path / "archive.db")
    result = invoke(["ingest", str(SAMPLES / "harbour-barrier.txt"), "--db", database])
    assert result.stderr.startswith(
        "1 file seen: 1 version stored (1 new story, 0 linked to an existing story), "
        "0 already archived, 0 failed\n"
    )
    assert "1 version, canonical version 1\n" in invoke(["show", "1", "--db", database]).stdout
    stats = invoke(["stats", "--db", database]).stdout
    assert re.search(r"1 +story *\n", stats) and re.search(r"1 +ingest run *\n", stats)
    assert "1 story, 1 version written" in invoke(["export", "--db", database]).stderr
    relinked = invoke(["relink", "--db", database]).stderr
    assert relinked == (
        "1 version relinked: 0 links, 1 story before, 1 after, 0 versions moved to another story\n"
    )


def test_one_word_for_similarity_and_one_error_prefix_on_stderr(tmp_path: Path) -> None:
    database = str(tmp_path / "archive.db")
    result = invoke(["ingest", str(SAMPLES), "--db", database])
    assert "overlap" not in result.output
    assert "(near, similarity 0.90)" in result.stdout
    (tmp_path / "bad.json").write_text("{oops")
    failed = invoke(["ingest", str(tmp_path / "bad.json"), "--db", database])
    assert failed.exit_code == 1
    assert failed.stderr.startswith(f"Error: {tmp_path / 'bad.json'}: invalid JSON")
    assert "bad.json" not in failed.stdout
    parsed = invoke(["parse", str(tmp_path / "bad.json")])
    assert (parsed.exit_code, parsed.stdout) == (1, "")
    assert parsed.stderr.startswith(f"Error: {tmp_path / 'bad.json'}: invalid JSON")
    unknown = invoke(["show", "404", "--db", database])
    assert unknown.stderr == "Error: no story 404 in the archive\n"


def test_ingest_and_relink_report_as_json(tmp_path: Path) -> None:
    database = str(tmp_path / "archive.db")
    report = json.loads(invoke(["ingest", str(SAMPLES), "--db", database, "--json"]).stdout)
    assert report["files_seen"] == 8 and report["failed"] == 0 and report["exit_code"] == 0
    assert report["archive"].endswith("archive.db")
    assert [s["story_id"] for s in report["linked_stories"]][:1] == [1]
    relinked = json.loads(invoke(["relink", "--db", database, "--json"]).stdout)
    assert relinked["versions"] == 11 and relinked["stories_after"] == 6


def test_standard_input_is_read_once(tmp_path: Path) -> None:
    result = invoke(["ingest", "-", "--from-file", "-", "--db", str(tmp_path / "a.db")], input="")
    assert result.exit_code == 2 and "standard input can be read once" in result.stderr
    assert invoke(["ingest", "--db", str(tmp_path / "a.db")]).exit_code == 2  # nothing given
    assert list(tmp_path.iterdir()) == []
