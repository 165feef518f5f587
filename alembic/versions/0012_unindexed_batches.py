"""``unindexed_batches``: committed batches whose index keys are written after the commit.

On PostgreSQL a batch's ~90,000 index keys were most of what the writer did while holding the
writer lock (6.5 of 15.1 s in a 10,000-document run, docs/performance.md). The writer now
commits a batch's versions with its keys in one row here, releases the lock, writes the keys
into ``match_keys`` and deletes the row. Lookups see the archive up to the version before the
oldest row; the writer's recheck knows the versions after it from the rows' keys. A row whose
writer stopped before writing its keys is written by the next writer. SQLite writes keys under
the lock as before; the table is there for one schema on both.

Revision ID: 0012_unindexed_batches
Revises: 0011_match_keys_recent
Create Date: 2026-12-07
"""

import sys
from array import array
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_unindexed_batches"
down_revision: str | None = "0011_match_keys_recent"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "unindexed_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_version_id", sa.Integer(), nullable=False),
        sa.Column("last_version_id", sa.Integer(), nullable=False),
        sa.Column("held_keys", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unindexed_batches")),
    )


def downgrade() -> None:
    # Code before this revision reads the index alone: write the keys still held here first.
    # Decoded here, not by archive.linking.store.decode_keys: a migration must not change
    # with the code that comes after it.
    connection = op.get_bind()
    for (held,) in connection.execute(sa.text("SELECT held_keys FROM unindexed_batches")).all():
        numbers = array("q")
        numbers.frombytes(bytes(held))
        if sys.byteorder == "big":
            numbers.byteswap()
        rows, at = [], 0
        while at < len(numbers):
            version_id, count = numbers[at], numbers[at + 1]
            keys = numbers[at + 2 : at + 2 + count]
            at += 2 + count
            if connection.execute(
                sa.text("SELECT 1 FROM versions WHERE id = :id"), {"id": version_id}
            ).first():
                rows += [{"key": key, "version_id": version_id} for key in keys]
        if rows:
            connection.execute(
                sa.text(
                    'INSERT INTO match_keys ("key", version_id) VALUES (:key, :version_id) '
                    "ON CONFLICT DO NOTHING"
                ),
                rows,
            )
    op.drop_table("unindexed_batches")
