"""Rows written by hand, for tests that build an archive's index without ingesting."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Engine, inspect, select

from archive.storage.models import INDEX_TABLES

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def version_rows(ids: Iterable[int], **values: object) -> list[dict[str, object]]:
    """``versions`` rows of story 1 with ids ``ids``: distinct hashes, the id as SimHash, a
    placeholder title and body; ``values`` replace any of these in every row."""
    return [
        {
            "id": n,
            "story_id": 1,
            "source_path": f"{n}.txt",
            "format": "text",
            "content_sha256": f"{n:064x}",
            "body_sha256": f"{n:064x}",
            "simhash": n,
            "title": "t",
            "body": "b",
            "ingested_at": NOW,
            "match_method": "new story",
            **values,
        }
        for n in ids
    ]


# Both tables of the candidate index as one, for tests that read tables by name in SQL.
INDEX_POSTINGS = (
    '(SELECT "key", version_id FROM match_keys '
    'UNION ALL SELECT "key", version_id FROM match_keys_recent) AS postings'
)


def index_postings(engine: Engine) -> list[tuple[int, int]]:
    """Every (key, version id) of the candidate index, sorted, wherever its row is
    (``match_keys`` or ``match_keys_recent``, which schemas before revision 0011 lack)."""
    present = set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        return sorted(
            (key, version_id)
            for table in INDEX_TABLES
            if table.name in present
            for key, version_id in connection.execute(select(table.c.key, table.c.version_id))
        )
