"""Archives that live as long as a test module, for tests that only read them: ingesting the
samples once per module instead of once per test keeps these modules fast."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from archive.storage.db import open_archive

from .conftest import _postgres_admin_url

# params= of a module-scoped fixture that runs once on each database, like conftest's db_url
BOTH_DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextmanager
def module_database(kind: str, folder: Path) -> Iterator[tuple[Engine, str]]:
    """A fresh archive at the current schema, ``kind`` "sqlite" (a file in ``folder``) or
    "postgres" (a new database on the test server, dropped afterwards). Yields engine and URL."""
    admin = None
    name = ""
    if kind == "sqlite":
        url = f"sqlite:///{folder / 'archive.db'}"
    else:
        admin_url = make_url(_postgres_admin_url())
        name = f"archive_test_{uuid.uuid4().hex[:12]}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = admin_url.set(database=name).render_as_string(hide_password=False)
    engine = open_archive(url)
    try:
        yield engine, url
    finally:
        engine.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
