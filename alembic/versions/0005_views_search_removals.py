"""Views for SQL users, full-text search over versions, and the log of removed versions.

- ``story_summary``, ``version_matches``, ``site_copies``: views, one SQL text for SQLite and
  PostgreSQL except the string aggregate that lists a story's sites.
- Full-text search: on SQLite an FTS5 table ``versions_fts`` over ``versions`` (external
  content, kept in sync by triggers); on PostgreSQL an expression GIN index ``ix_versions_fts``
  on ``to_tsvector('simple', title || ' ' || body)``. Both index the versions already stored.
- ``version_removals``: what ``archive remove`` took out and how it split the story.

A later migration that alters ``versions`` must drop and recreate the views (PostgreSQL refuses
to drop a column they use; SQLite's batch mode renames tables under them) and, on SQLite, the
``versions_fts`` triggers (batch mode recreates ``versions`` and its triggers die with it).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite before 3.44 has no string_agg and PostgreSQL has no group_concat: the one place the
# views' SQL differs. The inner query is sorted so SQLite concatenates in site order too.
_SITES_AGGREGATE = {
    "sqlite": "group_concat(site, ', ')",
    "postgresql": "string_agg(site, ', ' ORDER BY site)",
}

_STORY_SUMMARY = """
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
    SELECT story_id, {sites_aggregate} AS sites
    FROM (
        SELECT DISTINCT story_id, site FROM versions WHERE site IS NOT NULL
        ORDER BY story_id, site
    ) d
    GROUP BY story_id
) a ON a.story_id = s.id
"""

_VERSION_MATCHES = """
CREATE VIEW version_matches AS
SELECT
    v.id AS version_id,
    v.story_id,
    s.title AS story_title,
    CASE WHEN s.canonical_version_id = v.id THEN 1 ELSE 0 END AS is_canonical,
    v.source_path,
    v.site,
    v.url,
    v.title,
    v.published_at,
    v.ingested_at,
    COALESCE(v.published_at, v.ingested_at) AS seen_at,
    v.match_method,
    v.matched_version_id,
    m.source_path AS matched_source_path,
    m.site AS matched_site,
    v.match_distance,
    v.match_similarity,
    v.match_sentences
FROM versions v
JOIN stories s ON s.id = v.story_id
LEFT JOIN versions m ON m.id = v.matched_version_id
"""

# A link joins a version to one ingested before it, but ingest order says nothing about who
# copied whom: the copy is the version seen later (published, else ingested); on a tie the
# version ingested later.
_SITE_COPIES = """
CREATE VIEW site_copies AS
SELECT
    cv.site AS site,
    ov.site AS source_site,
    count(*) AS links,
    sum(CASE WHEN e.method = 'exact' THEN 1 ELSE 0 END) AS exact,
    sum(CASE WHEN e.method = 'near' THEN 1 ELSE 0 END) AS near,
    sum(CASE WHEN e.method = 'rewrite' THEN 1 ELSE 0 END) AS rewrite,
    count(DISTINCT cv.story_id) AS stories
FROM (
    SELECT
        l.method,
        CASE WHEN COALESCE(nv.published_at, nv.ingested_at)
                  < COALESCE(lv.published_at, lv.ingested_at)
             THEN l.linked_version_id ELSE l.version_id END AS copy_id,
        CASE WHEN COALESCE(nv.published_at, nv.ingested_at)
                  < COALESCE(lv.published_at, lv.ingested_at)
             THEN l.version_id ELSE l.linked_version_id END AS original_id
    FROM version_links l
    JOIN versions nv ON nv.id = l.version_id
    JOIN versions lv ON lv.id = l.linked_version_id
) e
JOIN versions cv ON cv.id = e.copy_id
JOIN versions ov ON ov.id = e.original_id
GROUP BY cv.site, ov.site
"""

_VIEWS = ("story_summary", "version_matches", "site_copies")

# 'simple': lower-cased words, no stemming and no stop words, like FTS5's unicode61 tokenizer
# without diacritic folding, so both databases find the same versions for the same words.
# content="versions" in double quotes is the spelling Datasette looks for to offer search.
_SQLITE_FTS = (
    """
    CREATE VIRTUAL TABLE versions_fts USING fts5(
        title, body, content="versions", content_rowid="id",
        tokenize='unicode61 remove_diacritics 0'
    )
    """,
    """
    CREATE TRIGGER versions_fts_insert AFTER INSERT ON versions BEGIN
        INSERT INTO versions_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
    END
    """,
    """
    CREATE TRIGGER versions_fts_delete AFTER DELETE ON versions BEGIN
        INSERT INTO versions_fts(versions_fts, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
    END
    """,
    """
    CREATE TRIGGER versions_fts_update AFTER UPDATE OF title, body ON versions BEGIN
        INSERT INTO versions_fts(versions_fts, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
        INSERT INTO versions_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
    END
    """,
    # an external-content table starts empty: index the versions stored before this migration
    "INSERT INTO versions_fts(versions_fts) VALUES ('rebuild')",
)

_POSTGRES_FTS = (
    # building the index reads every stored version, so older versions are searchable at once
    """
    CREATE INDEX ix_versions_fts ON versions
    USING gin (to_tsvector('simple', title || ' ' || body))
    """,
)


def upgrade() -> None:
    op.create_table(
        "version_removals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("source_path", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("remaining_versions", sa.Integer(), nullable=False),
        sa.Column("new_story_ids", sa.Text(), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_version_removals")),
    )
    with op.batch_alter_table("version_removals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_version_removals_story_id"), ["story_id"], unique=False
        )

    dialect = op.get_context().dialect.name
    for statement in _SQLITE_FTS if dialect == "sqlite" else _POSTGRES_FTS:
        op.execute(statement)
    sites_aggregate = _SITES_AGGREGATE[dialect]
    op.execute(_STORY_SUMMARY.format(sites_aggregate=sites_aggregate))
    op.execute(_VERSION_MATCHES)
    op.execute(_SITE_COPIES)


def downgrade() -> None:
    for view in reversed(_VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {view}")
    if op.get_context().dialect.name == "sqlite":
        for trigger in ("versions_fts_update", "versions_fts_delete", "versions_fts_insert"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        # dropping the virtual table drops its shadow tables (versions_fts_data, ...) too
        op.execute("DROP TABLE IF EXISTS versions_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_versions_fts")

    with op.batch_alter_table("version_removals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_version_removals_story_id"))

    op.drop_table("version_removals")
