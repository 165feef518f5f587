"""Test fixtures: a fresh archive database per test, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from archive.storage.db import make_engine, open_archive

# Hypothesis' per-example deadline is a timed assertion, and speed is scripts/bench.py's to
# measure: the first example of a test may load a language's word table (0.65 s when the
# machine is busy), which failed a property test that holds.
settings.register_profile("archive", deadline=None)
settings.load_profile("archive")

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
SEEDS = sorted(SAMPLES.glob("00[02]_*.txt"))
POSTGRES_URL_ENV = "ARCHIVE_TEST_POSTGRES_URL"


@pytest.fixture(scope="session", autouse=True)
def neutral_working_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests run in an empty folder of their own: the files they make (under ``tmp_path``) and
    the samples are then outside the working directory, so their ``source_path`` is the
    absolute path the tests expect (inside it, the path relative to it would be stored)."""
    before = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    try:
        yield
    finally:
        os.chdir(before)


def _postgres_admin_url() -> str:
    url = os.environ.get(POSTGRES_URL_ENV)
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail(f"{POSTGRES_URL_ENV} is not set: in CI the PostgreSQL tests must run")
    pytest.skip(f"no PostgreSQL server: set {POSTGRES_URL_ENV} (scripts/start_test_postgres.sh)")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped after the test."""
    admin_url = make_url(_postgres_admin_url())
    name = f"archive_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The URL of a new SQLite file in the test's temporary folder."""
    return f"sqlite:///{tmp_path / 'archive.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh, empty database URL, once for SQLite and once for PostgreSQL."""
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a fresh archive at the current schema."""
    archive_engine = open_archive(db_url)
    yield archive_engine
    archive_engine.dispose()


@pytest.fixture
def bare_engine(db_url: str) -> Iterator[Engine]:
    """An engine on a fresh database that has no schema yet."""
    plain = make_engine(db_url)
    yield plain
    plain.dispose()
