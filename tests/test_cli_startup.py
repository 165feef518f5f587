"""`archive` starts at once: --help and --version load no database or parsing library, and a
query on an up-to-date archive no parsing library and no Alembic (measured the way
`python -X importtime` does, in a fresh interpreter)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from archive.commands.export import FORMATS
from archive.commands.ingest import ingest
from archive.storage.db import head_revision

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


def test_a_query_imports_no_parsing_library_and_no_alembic(tmp_path: Path) -> None:
    with module_database("sqlite", tmp_path) as (engine, url):
        ingest([str(SAMPLES / "harbour-barrier.txt")], engine)
    modules = imported_modules("--db", url, "stories")
    loaded = top_level(modules)
    assert "sqlalchemy" in loaded
    assert loaded.isdisjoint((*PARSING, "alembic")), loaded & {*PARSING, "alembic"}
    assert not {"archive.linking.store", "archive.sources.parse", "archive.linking.match"} & modules


def test_the_cli_knows_the_export_formats_and_the_schema_head_without_importing() -> None:
    from archive import cli

    assert cli._EXPORT_FORMATS == FORMATS
    assert head_revision() == _alembic_head()


def _alembic_head() -> str:
    from alembic.script import ScriptDirectory

    from archive.storage.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head
