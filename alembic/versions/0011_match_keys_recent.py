"""``match_keys_recent``: the candidate index's newest rows, merged into ``match_keys`` in key
order when they grow many.

A version's ~90 index keys land on random pages of ``match_keys``; once the table is larger
than the page cache, a batch of 1,000 versions dirties nearly one page per key, and each dirty
page is written twice (the write-ahead log, then the file): about 240 KB a version at 244,000
versions, the largest part of the writer's time. Written to a small table instead and moved in
key order now and then, each page of the large table is written once per merge
(docs/performance.md). Lookups read both tables, so the index answers as before wherever a
row is. PostgreSQL writes keys straight into ``match_keys`` (``STAGES_INDEX_KEYS`` in
``archive/storage/postgresql.py``); the table is there for one schema on both.

Revision ID: 0011_match_keys_recent
Revises: 0010_version_words
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_match_keys_recent"
down_revision: str | None = "0010_version_words"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "match_keys_recent",
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name=op.f("fk_match_keys_recent_version_id_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", "version_id", name=op.f("pk_match_keys_recent")),
        sqlite_with_rowid=False,
    )
    op.create_index(op.f("ix_match_keys_recent_version_id"), "match_keys_recent", ["version_id"])


def downgrade() -> None:
    # The recent rows are index rows like the others: keep them.
    op.execute(
        'INSERT INTO match_keys ("key", version_id) SELECT "key", version_id FROM match_keys_recent'
    )
    op.drop_index(op.f("ix_match_keys_recent_version_id"), table_name="match_keys_recent")
    op.drop_table("match_keys_recent")
