"""The command line: options, output and exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive import __version__
from archive.cli import main

from .conftest import REPO, SAMPLES, SEEDS


def test_ingest_prints_a_summary_and_the_linked_stories(db_url: str) -> None:
    result = CliRunner().invoke(main, ["ingest", str(SAMPLES), "--db", db_url])
    assert result.exit_code == 0, result.output
    assert "versions stored" in result.output
    assert "0 failed" in result.output
    assert "Stories with more than one version" in result.output
    assert "meridian-kim-russia.html" in result.output


def test_ingest_uses_archive_db_from_the_environment(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ARCHIVE_DB", sqlite_url)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["ingest", "--quiet", str(SEEDS[0])])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "archive.db").exists()  # the test's database is also named archive.db
    assert sqlite_url.endswith(str(tmp_path / "archive.db"))


def test_ingest_defaults_to_archive_db_in_the_working_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ARCHIVE_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["ingest", "-q", str(SEEDS[0])])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "archive.db").stat().st_size > 0


def test_ingest_exits_non_zero_when_a_file_failed(sqlite_url: str, tmp_path: Path) -> None:
    shutil.copy(SEEDS[0], tmp_path / "good.txt")
    (tmp_path / "bad.json").write_text("{oops")
    # the database is in the ingested folder too: the archive must leave its own files alone
    result = CliRunner().invoke(main, ["ingest", str(tmp_path), "--db", sqlite_url])
    assert result.exit_code == 1
    assert "bad.json" in result.output
    assert "1 failed" in result.output
    assert "archive.db:" not in result.output


def test_unreachable_database_is_a_clean_error_without_the_password() -> None:
    url = "postgresql+psycopg://someone:hunter2@127.0.0.1:1/nothing"
    result = CliRunner().invoke(main, ["ingest", str(SEEDS[0]), "--db", url])
    assert result.exit_code != 0
    assert "cannot open the archive" in result.output
    assert "hunter2" not in result.output
    assert "Traceback" not in result.output


def test_parse_json_shows_what_was_extracted() -> None:
    seed = next(p for p in SEEDS if p.name.startswith("002_"))
    result = CliRunner().invoke(main, ["parse", str(seed), "--json"])
    assert result.exit_code == 0, result.output
    fields = json.loads(result.output)
    assert set(fields) >= {"title", "body", "url", "site", "published_at", "format"}
    assert fields["title"].startswith("North Korea’s Kim sets forth steps")
    assert fields["format"] == "text"
    assert fields["published_at"].startswith("2025-04-06")


def test_parse_json_prints_one_line_per_record() -> None:
    result = CliRunner().invoke(main, ["parse", str(SAMPLES / "regional-feed.jsonl"), "--json"])
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["source_path"].rsplit("#", 1)[1] for line in lines] == ["0", "1", "2"]


def test_python_m_archive_cli_runs_the_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "archive.cli", "--version"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (0, f"archive, version {__version__}\n")
