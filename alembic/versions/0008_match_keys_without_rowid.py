"""SQLite: ``match_keys`` as a ``WITHOUT ROWID`` table.

The candidate index is all primary key, ``(key, version_id)``: as an ordinary SQLite table it
is stored twice, a rowid table and the primary key's index beside it. ``WITHOUT ROWID`` keeps
the rows in the primary key's b-tree alone: one b-tree fewer to write for each of a version's
~80 keys, and a smaller file. The table is rebuilt (SQLite cannot change this in place) with
the same columns, constraint names and index; PostgreSQL has no rowid and is left as it is.

Revision ID: 0008_match_keys_without_rowid
Revises: 0007_reliability
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_match_keys_without_rowid"
down_revision: str | None = "0007_reliability"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    _rebuild(without_rowid=True)


def downgrade() -> None:
    _rebuild(without_rowid=False)


def _rebuild(*, without_rowid: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    option = " WITHOUT ROWID" if without_rowid else ""
    op.execute(
        f"""
        CREATE TABLE match_keys_rebuilt (
            "key" BIGINT NOT NULL,
            version_id INTEGER NOT NULL,
            CONSTRAINT pk_match_keys PRIMARY KEY ("key", version_id),
            CONSTRAINT fk_match_keys_version_id_versions FOREIGN KEY(version_id)
                REFERENCES versions (id) ON DELETE CASCADE
        ){option}
        """
    )
    op.execute(
        'INSERT INTO match_keys_rebuilt ("key", version_id) '
        'SELECT "key", version_id FROM match_keys'
    )
    op.execute("DROP INDEX ix_match_keys_version_id")
    op.execute("DROP TABLE match_keys")
    op.execute("ALTER TABLE match_keys_rebuilt RENAME TO match_keys")
    op.execute("CREATE INDEX ix_match_keys_version_id ON match_keys (version_id)")
