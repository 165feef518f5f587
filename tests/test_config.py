"""The database URL comes from --db, then $ARCHIVE_DB, then archive.db in the working folder."""

from __future__ import annotations

import pytest

from archive.config import DEFAULT_DATABASE_URL, database_url, display_url


def test_explicit_url_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVE_DB", "sqlite:///from-env.db")
    assert database_url("sqlite:///given.db") == "sqlite:///given.db"


def test_environment_used_when_no_url_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVE_DB", "sqlite:///from-env.db")
    assert database_url(None) == "sqlite:///from-env.db"


def test_default_is_archive_db_in_working_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARCHIVE_DB", raising=False)
    assert database_url(None) == DEFAULT_DATABASE_URL == "sqlite:///archive.db"


def test_displayed_url_hides_the_password() -> None:
    shown = display_url("postgresql+psycopg://user:s3cret@db.example/archive")
    assert "s3cret" not in shown
    assert "user" in shown and "db.example/archive" in shown
