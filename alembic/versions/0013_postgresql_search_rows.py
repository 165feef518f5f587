"""PostgreSQL's full-text index in a table of its own, ``versions_fts``, written after the commit.

The expression index ``ix_versions_fts`` on ``to_tsvector('simple', title || ' ' || body)``
made the server compute every new version's vector while the writer held the writer lock: a
quarter of the locked step of a PostgreSQL ingest (docs/performance.md). The vectors now live
in ``versions_fts`` (``version_id``, ``document``) with a GIN index, and a batch's rows are
written after it commits, with its held index keys (``unindexed_batches``), out of the lock.
A query finds versions through ``versions_fts.document @@ ...``, as on SQLite through the FTS5
table of the same name. SQLite is unchanged. The upgrade computes the vector of every stored
version, as building the old index did: minutes on an archive of millions.

Revision ID: 0013_postgresql_search_rows
Revises: 0012_unindexed_batches
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_postgresql_search_rows"
down_revision: str | None = "0012_unindexed_batches"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UPGRADE = (
    """
    CREATE TABLE versions_fts (
        version_id INTEGER NOT NULL,
        document TSVECTOR NOT NULL,
        CONSTRAINT pk_versions_fts PRIMARY KEY (version_id),
        CONSTRAINT fk_versions_fts_version_id_versions FOREIGN KEY (version_id)
            REFERENCES versions (id) ON DELETE CASCADE
    )
    """,
    # every stored version, also those of batches whose keys are still held: their writers
    # skip what is there
    """
    INSERT INTO versions_fts (version_id, document)
    SELECT id, to_tsvector('simple', title || ' ' || body) FROM versions
    """,
    "CREATE INDEX ix_versions_fts_document ON versions_fts USING gin (document)",
    "DROP INDEX ix_versions_fts",
    # a title or body edited with SQL is searched as edited, as the expression index did (and
    # as SQLite's triggers do); ingest never edits them
    """
    CREATE FUNCTION versions_fts_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE versions_fts SET document = to_tsvector('simple', NEW.title || ' ' || NEW.body)
        WHERE version_id = NEW.id;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER versions_fts_update AFTER UPDATE OF title, body ON versions
    FOR EACH ROW EXECUTE FUNCTION versions_fts_update()
    """,
)

_DOWNGRADE = (
    "DROP TRIGGER versions_fts_update ON versions",
    "DROP FUNCTION versions_fts_update()",
    """
    CREATE INDEX ix_versions_fts ON versions
    USING gin (to_tsvector('simple', title || ' ' || body))
    """,
    "DROP TABLE versions_fts",
)


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for statement in _UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for statement in _DOWNGRADE:
            op.execute(statement)
