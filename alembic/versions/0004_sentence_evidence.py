"""Sentence evidence: how much of the shorter body corresponds sentence by sentence.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("match_sentences", sa.Float(), nullable=True))
    with op.batch_alter_table("version_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sentences", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("version_links", schema=None) as batch_op:
        batch_op.drop_column("sentences")
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.drop_column("match_sentences")
