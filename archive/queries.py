"""Read-side questions the CLI asks of the archive, as plain functions over an engine."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from archive.models import Story, Version


@dataclass(frozen=True)
class VersionSummary:
    """Where a version came from and how it was matched."""

    source_path: str
    method: str
    similarity: float | None


@dataclass(frozen=True)
class StorySummary:
    """A story with the number of its versions and where they came from."""

    story_id: int
    title: str
    versions: int
    sources: tuple[VersionSummary, ...]


def stories_with_versions(
    engine: Engine, *, min_versions: int = 2, run_id: int | None = None, limit: int = 20
) -> list[StorySummary]:
    """Stories with at least ``min_versions`` versions, biggest first; with ``run_id``, only
    stories that run added a version to."""
    with Session(engine) as session:
        counts = (
            select(Version.story_id, func.count().label("n"))
            .group_by(Version.story_id)
            .having(func.count() >= min_versions)
            .subquery()
        )
        query = select(Story.id, Story.title, counts.c.n).join(
            counts, counts.c.story_id == Story.id
        )
        if run_id is not None:
            touched = select(Version.story_id).where(Version.run_id == run_id)
            query = query.where(Story.id.in_(touched))
        rows = session.execute(query.order_by(counts.c.n.desc(), Story.id).limit(limit)).all()
        summaries = []
        for story_id, title, n in rows:
            sources = session.execute(
                select(Version.source_path, Version.match_method, Version.match_similarity)
                .where(Version.story_id == story_id)
                .order_by(Version.id)
            ).all()
            summaries.append(
                StorySummary(story_id, title, n, tuple(VersionSummary(*row) for row in sources))
            )
        return summaries
