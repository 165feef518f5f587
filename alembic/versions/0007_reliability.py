"""Paths of any length, and ids that are never handed out again.

- ``versions.source_path_sha256``: the hex SHA-256 of ``source_path`` (its UTF-8 bytes). The
  unique key of a version becomes (``source_path_sha256``, ``content_sha256``) instead of
  (``source_path``, ``content_sha256``): PostgreSQL refuses to index a text value over about
  2,700 bytes (``index row size exceeds btree version 4 maximum``), so a longer path could not
  be ingested there, while SQLite took it.
- SQLite: ``stories`` and ``versions`` become ``AUTOINCREMENT`` tables, so an id is never used
  again once its row is gone (``archive remove``, a merged story); before, SQLite handed out
  the highest id again. Their ``sqlite_sequence`` is set past every id the archive's logs
  (``version_removals``, ``story_merges``) show was handed out. PostgreSQL sequences never go
  back already.

SQLite rebuilds both tables (batch mode): the views and triggers that name them are dropped
first and created again after from their own stored SQL, and foreign keys are not enforced
during the migration (``archive.storage.db.migration_connection``), so the rebuild takes no
rows of other tables with it. The full-text table ``versions_fts`` keeps its rows: version ids stay.

Revision ID: 0007_reliability
Revises: 0006
Create Date: 2026-12-08
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_reliability"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_UNIQUE = "uq_versions_source_path_content_sha256"
_NEW_UNIQUE = "uq_versions_source_path_sha256_content_sha256"
_FILL_BLOCK = 10_000


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    op.add_column("versions", sa.Column("source_path_sha256", sa.String(length=64)))
    _fill_path_hashes(bind)
    saved = _drop_views_and_triggers(bind) if sqlite else []
    with op.batch_alter_table(
        "versions",
        recreate="always" if sqlite else "auto",
        table_kwargs={"sqlite_autoincrement": True},
    ) as batch_op:
        batch_op.alter_column(
            "source_path_sha256", existing_type=sa.String(length=64), nullable=False
        )
        batch_op.drop_constraint(_OLD_UNIQUE, type_="unique")
        batch_op.create_unique_constraint(_NEW_UNIQUE, ["source_path_sha256", "content_sha256"])
    if sqlite:
        with op.batch_alter_table(
            "stories", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass
        _raise_sequences(bind)
        _restore(bind, saved)


def downgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    saved = _drop_views_and_triggers(bind) if sqlite else []
    with op.batch_alter_table(
        "versions",
        recreate="always" if sqlite else "auto",
        table_kwargs={"sqlite_autoincrement": False},
    ) as batch_op:
        batch_op.drop_constraint(_NEW_UNIQUE, type_="unique")
        batch_op.create_unique_constraint(_OLD_UNIQUE, ["source_path", "content_sha256"])
        batch_op.drop_column("source_path_sha256")
    if sqlite:
        with op.batch_alter_table(
            "stories", recreate="always", table_kwargs={"sqlite_autoincrement": False}
        ):
            pass
        _restore(bind, saved)


def _fill_path_hashes(bind: sa.Connection) -> None:
    if bind.dialect.name == "postgresql":
        op.execute(
            "UPDATE versions SET source_path_sha256 = "
            "encode(sha256(convert_to(source_path, 'UTF8')), 'hex')"
        )
        return
    last = 0
    while True:
        rows = bind.execute(
            sa.text("SELECT id, source_path FROM versions WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": _FILL_BLOCK},
        ).all()
        if not rows:
            return
        bind.execute(
            sa.text("UPDATE versions SET source_path_sha256 = :hash WHERE id = :id"),
            [
                {
                    "id": row.id,
                    "hash": hashlib.sha256(
                        row.source_path.encode("utf-8", "surrogatepass")
                    ).hexdigest(),
                }
                for row in rows
            ],
        )
        last = rows[-1].id


def _drop_views_and_triggers(bind: sa.Connection) -> list[str]:
    """Drop every view and every trigger on stories or versions; return their SQL."""
    rows = bind.execute(
        sa.text(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND "
            "(type = 'view' OR (type = 'trigger' AND tbl_name IN ('versions', 'stories'))) "
            "ORDER BY rowid"
        )
    ).all()
    for row in reversed(rows):
        op.execute(f'DROP {row.type.upper()} "{row.name}"')
    return [row.sql for row in rows]


def _restore(bind: sa.Connection, saved: list[str]) -> None:
    for sql in saved:
        bind.exec_driver_sql(sql)


def _raise_sequences(bind: sa.Connection) -> None:
    """Past every id handed out so far: the highest stored, removed or merged away."""
    highest = {
        "versions": "SELECT max(m) FROM (SELECT max(id) AS m FROM versions "
        "UNION ALL SELECT max(version_id) FROM version_removals)",
        "stories": "SELECT max(m) FROM (SELECT max(id) AS m FROM stories "
        "UNION ALL SELECT max(story_id) FROM version_removals "
        "UNION ALL SELECT max(merged_story_id) FROM story_merges)",
    }
    for table, query in highest.items():
        top = bind.execute(sa.text(query)).scalar() or 0
        bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :t"), {"t": table})
        bind.execute(
            sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :seq)"),
            {"t": table, "seq": top},
        )
