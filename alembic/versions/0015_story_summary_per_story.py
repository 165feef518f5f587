"""On SQLite, ``story_summary`` counts each story's versions where the story is read.

The view joined ``stories`` to two subqueries that grouped all of ``versions`` by story. SQLite
does not push a query's ``WHERE`` or ``LIMIT`` into such a subquery, so every query of the view
worked out the counts of every story first: on a 1,000,000-version archive (warm, 715,000
stories) its first 101 rows, what Datasette shows first, took 0.76 s, one story 0.59 s, and
counting its rows 6.9 s. Each count is now a subquery of the story's row, which reads that
story's entries of ``ix_versions_story_id_site_method`` (0014): 0.001 s, 0.000 s and 1.2 s
there; the ten stories with most versions 0.32 s instead of 1.09, the stories on three sites or
more 0.34 instead of 1.98. Same columns, same rows.

PostgreSQL keeps the grouped form: its planner pushes a story's condition into the grouped
subqueries and drops joins a query does not need (one story and the row count took
milliseconds in either form), and grouping all versions at once is faster there for a query
over every story (1.9 s against 3.1 s for the ten biggest stories of a synthetic 1,000,000).

Revision ID: 0015_story_summary_per_story
Revises: 0014_versions_story_site_method
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015_story_summary_per_story"
down_revision: str | None = "0014_versions_story_site_method"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PER_STORY = """
CREATE VIEW story_summary AS
SELECT
    s.id AS story_id,
    s.title,
    s.canonical_version_id,
    c.source_path AS canonical_source_path,
    (SELECT count(*) FROM versions v WHERE v.story_id = s.id) AS versions,
    (SELECT count(DISTINCT site) FROM versions v WHERE v.story_id = s.id) AS site_count,
    (
        SELECT group_concat(site, ', ')
        FROM (
            SELECT DISTINCT site FROM versions v
            WHERE v.story_id = s.id AND site IS NOT NULL
            ORDER BY site
        )
    ) AS sites,
    s.first_seen_at,
    s.last_seen_at
FROM stories s
LEFT JOIN versions c ON c.id = s.canonical_version_id
"""

# 0005's view, as it was on SQLite
_GROUPED = """
CREATE VIEW story_summary AS
SELECT
    s.id AS story_id,
    s.title,
    s.canonical_version_id,
    c.source_path AS canonical_source_path,
    COALESCE(n.versions, 0) AS versions,
    COALESCE(n.site_count, 0) AS site_count,
    a.sites,
    s.first_seen_at,
    s.last_seen_at
FROM stories s
LEFT JOIN versions c ON c.id = s.canonical_version_id
LEFT JOIN (
    SELECT story_id, count(*) AS versions, count(DISTINCT site) AS site_count
    FROM versions
    GROUP BY story_id
) n ON n.story_id = s.id
LEFT JOIN (
    SELECT story_id, group_concat(site, ', ') AS sites
    FROM (
        SELECT DISTINCT story_id, site FROM versions WHERE site IS NOT NULL
        ORDER BY story_id, site
    ) d
    GROUP BY story_id
) a ON a.story_id = s.id
"""


def _replace_view(definition: str) -> None:
    if op.get_context().dialect.name == "sqlite":
        op.execute("DROP VIEW story_summary")
        op.execute(definition)


def upgrade() -> None:
    _replace_view(_PER_STORY)


def downgrade() -> None:
    _replace_view(_GROUPED)
