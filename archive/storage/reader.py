"""What the read queries run on: a database connection in one read transaction, whichever
library drives it (SQLAlchemy, :class:`archive.storage.db.ConnectionReader`; the standard
library's sqlite3, :mod:`archive.storage.sqlite_read`). Nothing here imports SQLAlchemy."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from archive.storage.schema import as_utc, sqlite_time

if TYPE_CHECKING:
    from sqlalchemy import Engine

Row = tuple[Any, ...]


class Reader(ABC):
    """A database connection the read queries run on, in one transaction."""

    dialect: str  # "sqlite" or "postgresql"

    @abstractmethod
    def rows(self, sql: str, params: Mapping[str, object] | None = None) -> list[Row]:
        """The rows of ``sql``, its ``:name`` placeholders bound to ``params``."""

    def time(self, value: datetime) -> object:
        """``value`` as a parameter compared with stored times (naive means UTC)."""
        return sqlite_time(value) if self.dialect == "sqlite" else as_utc(value)

    def value(self, sql: str, params: Mapping[str, object] | None = None) -> Any:
        """The first column of the first row of ``sql``; None when there is no row."""
        found = self.rows(sql, params)
        return found[0][0] if found else None


@contextmanager
def reading(db: Reader | Engine) -> Iterator[Reader]:
    """``db`` as a :class:`Reader`: itself, or a connection of the engine ``db`` for as long
    as the block runs."""
    if isinstance(db, Reader):
        yield db
        return
    from archive.storage.db import ConnectionReader

    with db.connect() as connection:
        yield ConnectionReader(connection)
