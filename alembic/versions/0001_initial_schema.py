"""Initial schema: stories, versions, the candidate index and the ingest log.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ingest_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("paths", sa.Text(), nullable=False),
        sa.Column("files_seen", sa.Integer(), nullable=False),
        sa.Column("versions_stored", sa.Integer(), nullable=False),
        sa.Column("new_stories", sa.Integer(), nullable=False),
        sa.Column("linked", sa.Integer(), nullable=False),
        sa.Column("duplicates_skipped", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_runs")),
    )
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("canonical_version_id", sa.Integer(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stories")),
    )
    op.create_table(
        "ingest_errors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("source_path", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["ingest_runs.id"],
            name=op.f("fk_ingest_errors_run_id_ingest_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ingest_errors")),
    )
    with op.batch_alter_table("ingest_errors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ingest_errors_run_id"), ["run_id"], unique=False)

    op.create_table(
        "versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("source_path", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("simhash", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("site", sa.Text(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("matched_version_id", sa.Integer(), nullable=True),
        sa.Column("match_distance", sa.Integer(), nullable=True),
        sa.Column("match_similarity", sa.Float(), nullable=True),
        sa.Column("match_method", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["matched_version_id"],
            ["versions.id"],
            name=op.f("fk_versions_matched_version_id_versions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["ingest_runs.id"],
            name=op.f("fk_versions_run_id_ingest_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["story_id"], ["stories.id"], name=op.f("fk_versions_story_id_stories")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_versions")),
        sa.UniqueConstraint(
            "source_path", "content_sha256", name=op.f("uq_versions_source_path_content_sha256")
        ),
    )
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_versions_body_sha256"), ["body_sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_versions_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_versions_story_id"), ["story_id"], unique=False)

    op.create_table(
        "match_keys",
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name=op.f("fk_match_keys_version_id_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key", "version_id", name=op.f("pk_match_keys")),
    )
    with op.batch_alter_table("match_keys", schema=None) as batch_op:
        batch_op.create_index("ix_match_keys_version_id", ["version_id"], unique=False)

    # stories and versions refer to each other: this key can only exist once both tables do.
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.create_foreign_key(
            op.f("fk_stories_canonical_version_id_versions"),
            "versions",
            ["canonical_version_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("fk_stories_canonical_version_id_versions"), type_="foreignkey"
        )

    with op.batch_alter_table("match_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_match_keys_version_id")

    op.drop_table("match_keys")
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_versions_story_id"))
        batch_op.drop_index(batch_op.f("ix_versions_run_id"))
        batch_op.drop_index(batch_op.f("ix_versions_body_sha256"))

    op.drop_table("versions")
    with op.batch_alter_table("ingest_errors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingest_errors_run_id"))

    op.drop_table("ingest_errors")
    op.drop_table("stories")
    op.drop_table("ingest_runs")
