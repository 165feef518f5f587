"""The database URL comes from --db, then $ARCHIVE_DB, then archive.db in the working folder."""

from __future__ import annotations

import pytest

from archive.config import DEFAULT_DATABASE_URL, as_url, database_url, display_url, sqlite_file


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


@pytest.mark.parametrize(
    ("given", "url"),
    [
        ("archive.db", "sqlite:///archive.db"),
        ("/data/news.db", "sqlite:////data/news.db"),
        ("data/2024 news.db", "sqlite:///data/2024 news.db"),
        ("C:\\data\\news.db", "sqlite:///C:\\data\\news.db"),  # a drive letter is no scheme
        ("sqlite:///archive.db", "sqlite:///archive.db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_a_file_path_is_taken_as_a_sqlite_archive(given: str, url: str) -> None:
    assert as_url(given) == url
    assert database_url(given) == url


def test_archive_db_may_be_a_path_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVE_DB", "/srv/news.db")
    assert database_url(None) == "sqlite:////srv/news.db"


def test_the_file_of_a_sqlite_url() -> None:
    assert sqlite_file("sqlite:///archive.db") == "archive.db"
    assert sqlite_file("sqlite:////data/news.db") == "/data/news.db"
    assert sqlite_file("sqlite://") is None  # in memory
    assert sqlite_file("sqlite:///:memory:") is None
    assert sqlite_file("postgresql+psycopg://u@h/db") is None
    assert sqlite_file("not a url") is None
