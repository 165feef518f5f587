"""A story is last seen at the latest publication date of its versions where any has one.

``stories.last_seen_at`` (and so ``story_summary.last_seen_at``, which reads it) was the
latest time any version was seen, an undated version counting with its ingest time: a file
without a date ingested today made a 2024 story "last seen" today. From here on it is the
latest ``published_at`` of the story's versions where any has one, else their latest
``ingested_at``, as the commands already showed it. No column changes: the upgrade recomputes
the stored values by the new rule, the downgrade by the old one. A story without versions
(there should be none) keeps its value.

Revision ID: 0009_last_seen_published
Revises: 0008_match_keys_without_rowid
Create Date: 2026-12-08
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_last_seen_published"
down_revision: str | None = "0008_match_keys_without_rowid"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# One statement for SQLite and PostgreSQL: times compare as times on both (SQLite's stored
# text sorts like the time it names).
_RECOMPUTE = """
UPDATE stories
SET last_seen_at = (
    SELECT {last_seen} FROM versions v WHERE v.story_id = stories.id
)
WHERE EXISTS (SELECT 1 FROM versions v WHERE v.story_id = stories.id)
"""
# the latest publication date where a version has one, else the latest ingest time
_PUBLISHED_WHERE_KNOWN = "COALESCE(MAX(v.published_at), MAX(v.ingested_at))"
# the latest time any version was seen (published, else ingested)
_ANY_VERSION_SEEN = "MAX(COALESCE(v.published_at, v.ingested_at))"


def upgrade() -> None:
    op.execute(_RECOMPUTE.format(last_seen=_PUBLISHED_WHERE_KNOWN))


def downgrade() -> None:
    op.execute(_RECOMPUTE.format(last_seen=_ANY_VERSION_SEEN))
