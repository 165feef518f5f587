"""Rows written by hand, for tests that build an archive's index without ingesting."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

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
