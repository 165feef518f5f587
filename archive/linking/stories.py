"""The story rules, in one place: which versions make one story (those their links connect),
and what a story shows of its versions (its canonical version, whose title it takes, and when
it was first and last seen). Ingest (:mod:`archive.linking.store`, one version at a time with
the same primitives), relink and remove apply them; nothing else decides them.

The primitives (the canonical order and the seen-times) are in :mod:`archive.storage.schema`,
which the read queries share without importing a database library.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from archive.storage.schema import canonical_key, seen_of


@dataclass(frozen=True)
class Member:
    """A version as the story rules see it."""

    version_id: int
    title: str
    published_at: datetime | None
    ingested_at: datetime


@dataclass(frozen=True)
class StoryFields:
    """What a story shows of its versions: the ``stories`` columns they decide."""

    canonical_version_id: int
    title: str
    first_seen_at: datetime
    last_seen_at: datetime


def story_fields(members: Iterable[Member]) -> StoryFields:
    """The fields of the story of ``members`` (at least one): the canonical version is the
    first in canonical order (dated before undated, earliest first), and its title is the
    story's; seen-times as :class:`archive.storage.schema.Seen` says."""
    members = list(members)
    canonical = min(
        members, key=lambda m: canonical_key(m.published_at, m.ingested_at, m.version_id)
    )
    seen = seen_of((m.published_at, m.ingested_at) for m in members)
    return StoryFields(canonical.version_id, canonical.title, seen.first, seen.last)


def connected(version_ids: Iterable[int], links: Iterable[tuple[int, int]]) -> list[list[int]]:
    """The versions ``version_ids`` grouped into stories by ``links`` (pairs of version ids;
    pairs naming another version are left out): each group in id order, the groups in the order
    of their first ids."""
    parent = {version_id: version_id for version_id in version_ids}

    def root(item: int) -> int:
        top = item
        while parent[top] != top:
            top = parent[top]
        while parent[item] != top:  # path compression: later finds take one step
            parent[item], item = top, parent[item]
        return top

    for a, b in links:
        if a in parent and b in parent:
            root_a, root_b = root(a), root(b)
            if root_a != root_b:
                parent[max(root_a, root_b)] = min(root_a, root_b)
    groups: dict[int, list[int]] = {}
    for version_id in sorted(parent):
        groups.setdefault(root(version_id), []).append(version_id)
    return sorted(groups.values(), key=lambda group: group[0])
