"""Version links: every verified match of a version to an older one, with its evidence.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "version_links",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("linked_version_id", sa.Integer(), nullable=False),
        sa.Column("distance", sa.Integer(), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["linked_version_id"],
            ["versions.id"],
            name=op.f("fk_version_links_linked_version_id_versions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name=op.f("fk_version_links_version_id_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", "linked_version_id", name=op.f("pk_version_links")),
    )
    with op.batch_alter_table("version_links", schema=None) as batch_op:
        batch_op.create_index(
            "ix_version_links_linked_version_id", ["linked_version_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("version_links", schema=None) as batch_op:
        batch_op.drop_index("ix_version_links_linked_version_id")

    op.drop_table("version_links")
