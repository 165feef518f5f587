"""The story rules (archive.linking.stories), which ingest, relink and remove all apply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from archive.linking.stories import Member, connected, story_fields

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def _reachable(start: int, ids: set[int], links: list[tuple[int, int]]) -> set[int]:
    found, frontier = {start}, [start]
    while frontier:
        current = frontier.pop()
        for a, b in links:
            for here, there in ((a, b), (b, a)):
                if here == current and there in ids and there not in found:
                    found.add(there)
                    frontier.append(there)
    return found


@given(
    st.sets(st.integers(1, 30), max_size=20),
    st.lists(st.tuples(st.integers(1, 35), st.integers(1, 35)), max_size=40),
)
def test_versions_are_one_story_exactly_when_links_connect_them(
    ids: set[int], links: list[tuple[int, int]]
) -> None:
    groups = connected(ids, links)
    assert sorted(v for group in groups for v in group) == sorted(ids)
    for group in groups:
        assert group == sorted(group)
        assert set(group) == _reachable(group[0], ids, links)
    assert [g[0] for g in groups] == sorted(g[0] for g in groups)


def test_links_to_versions_outside_the_set_join_nothing() -> None:
    # 1 and 3 are both linked to 2, which is not among the versions (removed)
    assert connected([1, 3], [(1, 2), (3, 2)]) == [[1], [3]]


def test_a_story_takes_its_earliest_dated_version_as_canonical_and_its_title() -> None:
    fields = story_fields(
        [
            Member(1, "Undated copy", None, T0),
            Member(2, "Later write-thru", T0 + timedelta(days=2), T0 + timedelta(days=3)),
            Member(3, "First report", T0 + timedelta(days=1), T0 + timedelta(days=4)),
        ]
    )
    assert (fields.canonical_version_id, fields.title) == (3, "First report")
    assert fields.first_seen_at == T0
    # last seen is the latest publication date: an undated version says when the file came
    assert fields.last_seen_at == T0 + timedelta(days=2)


@given(st.permutations([Member(n, f"t{n}", None, T0 + timedelta(hours=n)) for n in range(1, 6)]))
def test_a_storys_fields_do_not_depend_on_the_order_of_its_versions(
    members: list[Member],
) -> None:
    fields = story_fields(members)
    assert (fields.canonical_version_id, fields.first_seen_at) == (1, T0 + timedelta(hours=1))
    assert fields.last_seen_at == T0 + timedelta(hours=5)
