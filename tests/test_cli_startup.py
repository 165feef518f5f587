"""`archive` starts at once: --help and --version load no database or parsing library, a query on
an up-to-date SQLite archive not even SQLAlchemy (it reads with sqlite3:
archive/storage/sqlite_read.py), and a query elsewhere no parsing library and no Alembic
(measured the way `python -X importtime` does, in a fresh interpreter)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from archive.commands.export import FORMATS
from archive.commands.ingest import ingest
from archive.storage.db import downgrade, open_archive
from archive.storage.schema import HEAD_REVISION

from .conftest import REPO, SAMPLES
from .module_db import module_database

# What `archive ingest` and `archive parse` need and nothing else should pay for.
PARSING = ("trafilatura", "lxml", "numpy", "warcio", "wordfreq", "py3langid", "regex", "simhash")
DATABASE = ("sqlalchemy", "alembic", "psycopg")


def imported_modules(*args: str) -> set[str]:
    """The modules a fresh ``archive ARGS`` imports, as ``python -X importtime`` lists them."""
    code = "import sys; from archive.cli import main; main(sys.argv[1:], prog_name='archive')"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return {
        line.split("|")[-1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


def top_level(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["stories", "--help"]])
def test_help_and_version_import_no_database_or_parsing_library(args: list[str]) -> None:
    modules = imported_modules(*args)
    loaded = top_level(modules)
    assert "click" in loaded  # the measurement sees imports at all
    assert loaded.isdisjoint(PARSING + DATABASE), loaded & {*PARSING, *DATABASE}
    assert not {"rich.console", "rich.table", "rich.progress"} & modules  # rich.cells is cheap


# The commands that only read, as a small archive answers them (version 1 and 2 exist).
READ_COMMANDS = [
    ["stories"],
    ["stories", "--table"],
    ["show", "1"],
    ["show", "1", "--json"],
    ["stats"],
    ["search", "barrier"],
    ["diff", "1", "2"],
]


def loaded_modules(*args: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules in ``sys.modules`` after a fresh ``archive ARGS`` ran."""
    code = (
        "import sys\n"
        "from archive.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:], prog_name='archive')\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        cwd=REPO,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return set(done.stderr.split("\n")[-2].split())


@pytest.fixture(scope="module")
def small_sqlite_archive(tmp_path_factory: pytest.TempPathFactory) -> str:
    with module_database("sqlite", tmp_path_factory.mktemp("small")) as (engine, url):
        report = ingest(
            [str(SAMPLES / "harbour-barrier.txt"), str(SAMPLES / "library-closures.txt")], engine
        )
        assert report.versions_stored == 2
    return url


@pytest.mark.parametrize("args", READ_COMMANDS, ids=" ".join)
def test_a_query_on_a_sqlite_archive_does_not_import_sqlalchemy(
    small_sqlite_archive: str, args: list[str]
) -> None:
    env = {"TTY_COMPATIBLE": "1", "COLUMNS": "100"} if "--table" in args else None
    modules = loaded_modules("--db", small_sqlite_archive, *args, env=env)
    assert "archive.cli" in modules and "archive.storage.reader" in modules  # it ran a query
    loaded = top_level(modules)
    assert loaded.isdisjoint((*PARSING, *DATABASE)), loaded & {*PARSING, *DATABASE}
    assert not {"archive.storage.db", "archive.storage.models", "archive.linking.store"} & modules


def test_an_archive_to_migrate_is_opened_the_usual_way(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = open_archive(url)
    downgrade(engine, "0008_match_keys_without_rowid")
    engine.dispose()
    modules = loaded_modules("--db", url, "stories")
    assert {"sqlalchemy", "alembic"} <= top_level(modules)  # migrated: now at the head
    assert "sqlalchemy" not in top_level(loaded_modules("--db", url, "stories"))


@pytest.mark.postgres
def test_a_query_on_postgresql_imports_no_parsing_library_and_no_alembic(
    tmp_path: Path,
) -> None:
    with module_database("postgres", tmp_path) as (engine, url):
        ingest([str(SAMPLES / "harbour-barrier.txt")], engine)
        modules = imported_modules("--db", url, "stories")
    loaded = top_level(modules)
    assert "sqlalchemy" in loaded
    assert loaded.isdisjoint((*PARSING, "alembic")), loaded & {*PARSING, "alembic"}
    assert not {"archive.linking.store", "archive.sources.parse", "archive.linking.match"} & modules


def test_the_cli_knows_the_export_formats_and_the_schema_head_without_importing() -> None:
    from archive import cli

    assert cli._EXPORT_FORMATS == FORMATS
    assert _alembic_head() == HEAD_REVISION


def _alembic_head() -> str:
    from alembic.script import ScriptDirectory

    from archive.storage.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head
