"""The linking stage: lookups made by workers against a snapshot, rechecked by the writer
against what was written since, decide exactly what a serial run decides."""

from __future__ import annotations

import functools
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.orm import Session

from archive.commands.ingest import Report, ingest, prepare_file, start_run, write_batch
from archive.commands.relink import relink
from archive.commands.remove import remove_version
from archive.linking import candidates, match, store
from archive.linking.store import StoredVersion
from archive.sources.article import Article
from archive.storage.db import open_archive
from archive.storage.models import MatchKey, RecentMatchKey, Story, Version, VersionLink

from .conftest import SAMPLES
from .rows import NOW, version_rows
from .story_corpus import write_story_corpus
from .test_ingest import SEED_COPY, rechromed


def decisions(engine: Engine) -> tuple[set[frozenset[str]], set[tuple[str, str, str]], set[tuple]]:
    """What linking decided, by source path: the stories, the links and each version's
    recorded evidence."""
    with Session(engine) as session:
        paths = {v: path for v, path in session.execute(select(Version.id, Version.source_path))}
        stories: dict[int, set[str]] = {}
        evidence = set()
        for version in session.scalars(select(Version)):
            stories.setdefault(version.story_id, set()).add(version.source_path)
            matched = paths.get(version.matched_version_id) if version.matched_version_id else None
            evidence.add(
                (version.source_path, matched, version.match_method, version.match_similarity)
            )
        links = {
            (paths[link.version_id], paths[link.linked_version_id], link.method)
            for link in session.scalars(select(VersionLink))
        }
    return {frozenset(s) for s in stories.values()}, links, evidence


@pytest.mark.parametrize(("workers", "batch_size"), [(1, 3), (2, 1), (2, 4), (2, 200)])
def test_any_workers_and_batch_size_decide_what_a_serial_run_decides(
    tmp_path: Path, workers: int, batch_size: int
) -> None:
    corpus = write_story_corpus(tmp_path / "corpus")
    results = []
    for name, run_workers, run_batch in (("serial", 1, 1), ("run", workers, batch_size)):
        engine = open_archive(f"sqlite:///{tmp_path / name}.db")
        report = ingest([str(p) for p in corpus], engine, workers=run_workers, batch_size=run_batch)
        assert report.failed == 0
        results.append(decisions(engine))
        engine.dispose()
    serial, run = results
    assert run == serial
    assert serial[1], "the corpus has links to agree on"


def test_merging_the_recent_index_keys_after_any_batch_decides_what_never_merging_decides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer moves ``match_keys_recent`` into ``match_keys`` between batches, while
    workers look up against snapshots taken before or after the move."""
    corpus = write_story_corpus(tmp_path / "corpus")
    results = []
    for name, least in (("never", 10**9), ("every batch", 0)):
        monkeypatch.setattr(store, "RECENT_KEYS_MIN_VERSIONS", least)
        monkeypatch.setattr(store, "RECENT_KEYS_SCALE", 0)
        engine = open_archive(f"sqlite:///{tmp_path / name.replace(' ', '-')}.db")
        report = ingest([str(p) for p in corpus], engine, workers=2, batch_size=2)
        assert report.failed == 0
        results.append(decisions(engine))
        with engine.connect() as connection:
            recent = connection.scalar(select(func.count()).select_from(RecentMatchKey))
            merged = connection.scalar(select(func.count()).select_from(MatchKey))
        assert (recent, merged) != (0, 0) and (recent == 0) == (least == 0)
        engine.dispose()
    never, every = results
    assert every == never
    assert never[1], "the corpus has links to agree on"


def test_a_version_committed_after_the_lookup_is_found_by_the_recheck(
    engine: Engine, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.txt"
    copy.write_text(rechromed(SEED_COPY.read_text(encoding="utf-8")), encoding="utf-8")
    prepared = prepare_file(str(copy), engine)  # looked up while the archive is empty
    record = prepared.records[0]
    assert record.lookup is not None and record.fingerprint is not None
    assert record.lookup.snapshot == 0 and not record.lookup.verdicts
    ingest([str(SEED_COPY)], engine)  # committed between the lookup and the write
    with engine.connect() as connection:
        recent = candidates.Recent()
        recent.catch_up(connection, [record.lookup])
        rechecked = recent.decide(record.fingerprint, record.lookup)
        fresh = candidates.look_up(connection, record.fingerprint)
    original = _version_id(engine, str(SEED_COPY))
    assert [v.version_id for v in rechecked] == [v.version_id for v in fresh.verdicts]
    assert [v.version_id for v in rechecked] == [original]


def test_a_version_removed_after_the_lookup_is_no_candidate(engine: Engine, tmp_path: Path) -> None:
    copy = tmp_path / "copy.txt"
    copy.write_text(rechromed(SEED_COPY.read_text(encoding="utf-8")), encoding="utf-8")
    ingest([str(SEED_COPY)], engine)
    record = prepare_file(str(copy), engine).records[0]
    assert record.lookup is not None and record.fingerprint is not None
    assert [v.version_id for v in record.lookup.verdicts] == [_version_id(engine, str(SEED_COPY))]
    remove_version(engine, _version_id(engine, str(SEED_COPY)))
    with engine.connect() as connection:
        recent = candidates.Recent()
        recent.catch_up(connection, [record.lookup])
        assert recent.decide(record.fingerprint, record.lookup) == []


def test_a_version_of_an_earlier_batch_moved_to_another_story_is_found_in_it(
    engine: Engine, tmp_path: Path
) -> None:
    """The writer keeps its own versions of earlier batches for the recheck; another writer (a
    relink, a remove's split, another ingest's merge) may have moved them to another story
    since. Before, the recheck gave the old story: a link left its story, or the record failed
    with NoResultFound when that story was gone."""
    seed, spun = SAMPLES / "002_224e29597f2f497a.txt", SAMPLES / "000_0413e7c0cc1f7413.txt"
    copy = tmp_path / "copy.txt"  # an exact copy of the rewrite
    copy.write_bytes(spun.read_bytes())
    # all three looked up in the empty archive, as workers batches ahead do
    prepared = [prepare_file(str(path), engine) for path in (seed, spun, copy)]
    run_id = start_run(engine, [str(tmp_path)])
    recent = candidates.Recent()
    write_batch(engine, prepared[:2], run_id, Report(), None, recent)
    assert relink(engine, threshold=1.0, rewrites=False).versions_moved == 1  # the rewrite
    [outcome] = write_batch(engine, prepared[2:], run_id, Report(), None, recent)
    assert isinstance(outcome, StoredVersion)
    with Session(engine) as session:
        story = dict(session.execute(select(Version.source_path, Version.story_id)).all())
    assert story[str(copy)] == story[str(spun)] == story[str(seed)]  # the copy joined both


def test_a_file_written_after_the_workers_looked_it_up_is_linked_as_in_a_serial_run(
    engine: Engine, tmp_path: Path
) -> None:
    """Batches of one file with workers two batches ahead: each copy is looked up before the
    original's batch is committed, and still joins it."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    text = SEED_COPY.read_text(encoding="utf-8")
    (folder / "a-original.txt").write_text(text, encoding="utf-8")
    for n in range(3):
        (folder / f"b-copy{n}.txt").write_text(
            rechromed(text).replace("Skip to content", f"Skip to content {n}"), encoding="utf-8"
        )
    report = ingest([str(folder)], engine, workers=2, batch_size=1)
    assert report.failed == 0 and report.new_stories == 1 and report.linked == 3


def _version_id(engine: Engine, source_path: str) -> int:
    with Session(engine) as session:
        return session.scalars(select(Version.id).where(Version.source_path == source_path)).one()


def test_shards_split_the_files_between_processes_and_together_give_one_run(
    db_url: str, tmp_path: Path
) -> None:
    """N processes given the same paths, each with its --shard, archive every file once and
    end with the stories of one run (the writer lock orders their batches)."""
    from archive.sources.walk import Shard, collect_files

    corpus = [str(p) for p in write_story_corpus(tmp_path / "corpus")]
    files = sorted(collect_files(corpus))
    parts = [sorted(collect_files(corpus, shard=Shard(n, 3))) for n in (1, 2, 3)]
    assert sorted(f for part in parts for f in part) == files
    assert all(parts), "each shard has files"
    one = open_archive(f"sqlite:///{tmp_path / 'one.db'}")
    ingest(corpus, one)
    sharded = open_archive(db_url)
    for n in (1, 2, 3):
        report = ingest(corpus, sharded, shard=Shard(n, 3))
        assert report.failed == 0 and report.files_seen == len(parts[n - 1])
    assert decisions(sharded)[0] == decisions(one)[0]
    one.dispose()
    sharded.dispose()


@pytest.mark.parametrize("text", ["0/3", "4/3", "2", "a/b", "1/0"])
def test_a_shard_must_be_one_of_its_parts(text: str) -> None:
    from archive.sources.walk import Shard

    with pytest.raises(ValueError, match="shard"):
        Shard.parse(text)


def test_the_write_ahead_log_is_emptied_after_each_batch_while_workers_read(
    tmp_path: Path,
) -> None:
    """Workers read all the time; without a checkpoint after each batch SQLite never starts
    its log afresh and it grows as large as the archive."""
    corpus = write_story_corpus(tmp_path / "corpus")
    database = tmp_path / "archive.db"
    engine = open_archive(f"sqlite:///{database}")
    wal = Path(f"{database}-wal")
    sizes: list[int] = []
    ingest(
        [str(p) for p in corpus],
        engine,
        workers=2,
        batch_size=2,
        on_file=lambda _: sizes.append(wal.stat().st_size if wal.exists() else 0),
    )
    engine.dispose()
    assert sizes and max(sizes) == 0


_BODY = (
    "Councillors in Portwell approved the tidal barrier on Tuesday after a long debate. "
    "The gates will close twelve times a year, and fishermen fear silt in the inner basin. "
    "Construction starts next spring and lasts three years, the council said."
)


def _add_story(connection: Connection) -> None:
    """Story 1, its id from the table's sequence: a removal splits a story and adds one."""
    story = {"title": "t", "first_seen_at": NOW, "last_seen_at": NOW}
    assert connection.execute(insert(Story).returning(Story.id), [story]).scalar_one() == 1


def _add_versions(connection: Connection, ids: range, keys: list[int], **row: object) -> None:
    values = {"body": "Unrelated filler about weather.", "simhash": 0, **row}
    connection.execute(insert(Version), version_rows(ids, **values))
    if keys:
        connection.execute(
            insert(MatchKey), [{"key": key, "version_id": n} for key in keys for n in ids]
        )


@pytest.mark.parametrize(
    ("held", "written_since", "still_found"),
    [(candidates.POSTINGS_PER_KEY, 1, False), (49, 52, False), (49, 51, True)],
)
def test_versions_written_since_the_lookup_that_crowd_a_key_out_are_rechecked(
    engine: Engine, held: int, written_since: int, still_found: bool
) -> None:
    """A worker looked a version up while its two keys had ``held`` holders, the oldest of them
    a near copy; then ``written_since`` more versions holding both keys were committed. When
    that pushes the copy out of the keys' most recent holders, a serial run would not find
    it: neither may the writer (it tells from the holder counts the lookup brought)."""
    keys = [1001, 1002]
    new = replace(
        match.fingerprint(Article(title="Barrier", body=_BODY + " Work may start earlier.")),
        keys=tuple(keys),
    )
    with engine.begin() as connection:
        connection.execute(
            insert(Story), [{"id": 1, "title": "t", "first_seen_at": NOW, "last_seen_at": NOW}]
        )
        _add_versions(connection, range(1, 2), keys, body=_BODY, simhash=new.simhash)
        _add_versions(connection, range(2, held + 1), keys, simhash=~new.simhash & (2**64 - 1))
    with engine.connect() as connection:
        lookup = candidates.look_up(connection, new)
    assert [v.version_id for v in lookup.verdicts] == [1]
    with engine.begin() as connection:
        later = range(held + 1, held + written_since + 1)
        _add_versions(connection, later, keys, simhash=~new.simhash & (2**64 - 1))
    with engine.connect() as connection:
        recent = candidates.Recent()
        recent.catch_up(connection, [lookup])
        rechecked = recent.decide(new, lookup)
        looked_up_now = recent.decide(new, None)
    assert rechecked == looked_up_now
    assert [v.version_id for v in rechecked] == ([1] if still_found else [])


def test_a_key_crowded_since_the_lookup_that_pushes_out_no_hit_needs_no_second_lookup(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At a million versions the keys of common word pairs fill up between a worker's lookup
    and the write for most versions. When the holders pushed out of such a key's cut are none
    of the lookup's ranked hits, the snapshot's ranking still holds: the writer keeps it
    (reading the key's holders) instead of looking the version up again, and decides what a
    lookup made now decides."""
    crowded, own = 1001, 1002
    new = replace(
        match.fingerprint(Article(title="Barrier", body=_BODY + " Work may start earlier.")),
        keys=(crowded, own),
    )
    held = candidates.POSTINGS_PER_KEY
    with engine.begin() as connection:
        connection.execute(
            insert(Story), [{"id": 1, "title": "t", "first_seen_at": NOW, "last_seen_at": NOW}]
        )
        # the oldest holders of the crowded key share only it with the new version: no hits
        _add_versions(connection, range(1, held), [crowded], simhash=~new.simhash & (2**64 - 1))
        _add_versions(
            connection, range(held, held + 1), [crowded, own], body=_BODY, simhash=new.simhash
        )
    with engine.connect() as connection:
        lookup = candidates.look_up(connection, new)
    assert lookup.holders[crowded] == held
    assert [v.version_id for v in lookup.verdicts] == [held]
    with engine.begin() as connection:  # pushes version 1 out of the crowded key's cut
        _add_versions(
            connection, range(held + 1, held + 3), [crowded], simhash=~new.simhash & (2**64 - 1)
        )
    rechecked, looked_up_again = _rechecked(engine, monkeypatch, new, lookup)
    assert looked_up_again == 0
    assert rechecked == _looked_up_now(engine, new, lookup)
    assert [v.version_id for v in rechecked] == [held]


@pytest.mark.parametrize(("also_crowd_c", "looked_up_again"), [(False, 0), (True, 1)])
def test_the_ranked_hits_a_lookup_brings_past_its_cut_settle_a_recount_without_a_second_lookup(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, also_crowd_c: bool, looked_up_again: int
) -> None:
    """Cuts of 4 holders a key and 2 candidates, and a margin of 1 ranked hit. Versions
    committed since the lookup push hits out of key A's cut: the second hit falls behind the
    last one brought, the third (brought past the cut, not compared), which a lookup of the
    first 2 alone could not rank against the versions below its cut; with the third, two hits
    still rank up to it, so the first 2 are known without a second lookup. When key C is
    crowded too, fewer than 2 do, and only a second lookup can tell."""
    small = {"POSTINGS_PER_KEY": 4, "HOLDERS_REPORTED": 2, "HOLDERS_READ": 9}
    for name, value in {**small, "MAX_CANDIDATES": 2, "RANKED_MARGIN": 1}.items():
        monkeypatch.setattr(candidates, name, value)
    candidates._ranked_lookup.cache_clear()
    candidates._holders_of.cache_clear()
    a, b, c = 1001, 1002, 1003
    new = replace(
        match.fingerprint(Article(title="Barrier", body=_BODY + " Work may start earlier.")),
        keys=(a, b, c),
    )
    near = {"body": _BODY, "simhash": new.simhash}
    far = ~new.simhash & (2**64 - 1)
    try:
        with engine.begin() as connection:
            _add_story(connection)
            _add_versions(connection, range(1, 2), [a, b, c], **near)  # 3 keys
            _add_versions(connection, range(2, 3), [a, b], **near)  # 2
            _add_versions(connection, range(3, 5), [b, c], **near)  # 2, the last below the cut
        with engine.connect() as connection:
            lookup = candidates.look_up(connection, new)
        assert [(h.version_id, h.shared_keys) for h in lookup.hits] == [(1, 3), (2, 2), (3, 2)]
        assert {v.version_id for v in lookup.verdicts} == {1, 2}  # the first 2, compared
        with engine.begin() as connection:
            _add_versions(connection, range(5, 9), [a], simhash=far)
            if also_crowd_c:
                _add_versions(connection, range(9, 13), [c], simhash=far)
        rechecked, lookups = _rechecked(engine, monkeypatch, new, lookup)
        assert lookups == looked_up_again
        assert rechecked == _looked_up_now(engine, new, lookup)
        assert [v.version_id for v in rechecked] == ([] if also_crowd_c else [1, 3])
    finally:
        candidates._ranked_lookup.cache_clear()
        candidates._holders_of.cache_clear()


@pytest.mark.parametrize("snapshot_hits", [True, False])
def test_a_key_that_more_versions_than_a_cut_crowded_since_is_recounted_not_looked_up_again(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, snapshot_hits: bool
) -> None:
    """When more versions than a key's cut holds were committed since the lookup, every holder
    the snapshot counted for that key is pushed out of its cut, and of the versions committed
    since only the newest count for it. The writer recounts both (reading the key's holders
    as the snapshot saw them) and decides what a lookup made now decides, without one: with
    four processes writing, such keys were most of the second lookups. The versions since
    count so also when the lookup found nothing (before, they all counted then)."""
    crowded, own, other, fresh = 1001, 1002, 1003, 1004
    new = replace(
        match.fingerprint(Article(title="Barrier", body=_BODY + " Work may start earlier.")),
        keys=(crowded, own, other, fresh),
    )
    cut = candidates.POSTINGS_PER_KEY
    far = ~new.simhash & (2**64 - 1)
    with engine.begin() as connection:
        connection.execute(
            insert(Story), [{"id": 1, "title": "t", "first_seen_at": NOW, "last_seen_at": NOW}]
        )
        if snapshot_hits:
            # near copies: version 1 shares the crowded key and one more, 2 two others
            near = {"body": _BODY, "simhash": new.simhash}
            _add_versions(connection, range(1, 2), [crowded, own], **near)
            _add_versions(connection, range(2, 3), [own, other], **near)
        else:
            _add_versions(connection, range(1, 2), [crowded], simhash=far)
            _add_versions(connection, range(2, 3), [other], simhash=far)
        _add_versions(connection, range(3, cut + 2), [crowded], simhash=far)
    with engine.connect() as connection:
        lookup = candidates.look_up(connection, new)
    assert lookup.holders[crowded] == cut
    assert [v.version_id for v in lookup.verdicts] == ([1, 2] if snapshot_hits else [])
    first_since = cut + 2
    with engine.begin() as connection:
        # one more than a cut: the oldest of them, a near copy sharing the crowded key and a
        # key nobody held, falls out of the cut with every holder the snapshot counted
        _add_versions(
            connection,
            range(first_since, first_since + 1),
            [crowded, fresh],
            body=_BODY,
            simhash=new.simhash,
        )
        _add_versions(connection, range(first_since + 1, first_since + cut + 1), [crowded])
    rechecked, looked_up_again = _rechecked(engine, monkeypatch, new, lookup)
    assert looked_up_again == 0
    assert rechecked == _looked_up_now(engine, new, lookup)
    assert [v.version_id for v in rechecked] == ([2] if snapshot_hits else [])


def test_a_version_removed_since_the_lookup_that_frees_a_place_in_a_key_is_looked_up_again(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recheck trusts the snapshot's counts for the keys no newer version crowded. A
    removal since the lookup takes a holder out of a key, and the next older holder, which the
    snapshot did not count, now counts: here a near copy that shared one key too few. The
    writer sees that a version was removed since and looks the version up again, as a serial
    run would have after the removal."""
    crowded, own = 1001, 1002
    new = replace(
        match.fingerprint(Article(title="Barrier", body=_BODY + " Work may start earlier.")),
        keys=(crowded, own),
    )
    cut = candidates.POSTINGS_PER_KEY
    far = ~new.simhash & (2**64 - 1)
    with engine.begin() as connection:
        _add_story(connection)
        # the crowded key's oldest holder, one past its cut, is a near copy
        _add_versions(connection, range(1, 2), [crowded, own], body=_BODY, simhash=new.simhash)
        _add_versions(connection, range(2, cut + 2), [crowded], simhash=far)
    with engine.connect() as connection:
        lookup = candidates.look_up(connection, new)
    assert lookup.verdicts == ()
    remove_version(engine, cut + 1)  # one of the crowded key's newer holders
    rechecked, looked_up_again = _rechecked(engine, monkeypatch, new, lookup)
    assert looked_up_again == 1
    assert rechecked == _looked_up_now(engine, new, lookup)
    assert [v.version_id for v in rechecked] == [1]


_KEY_SETS = st.lists(
    st.tuples(st.sets(st.integers(0, 5), min_size=1, max_size=4), st.booleans()),
    max_size=14,
)


# 300 examples (~11 s): with 40, taking out the rule for cut rankings went unnoticed.
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    before=_KEY_SETS.filter(bool),
    since=_KEY_SETS,
    later=_KEY_SETS,
    removed=st.integers(0, 20),
    held_at_lookup=st.integers(0, 14),
    held_since=st.integers(0, 14),
    written_before_the_write=st.booleans(),
    taken_in_early=st.booleans(),
)
def test_the_recheck_decides_what_a_lookup_made_now_decides_whatever_was_written_since(
    tmp_path_factory: pytest.TempPathFactory,
    before: list[tuple[set[int], bool]],
    since: list[tuple[set[int], bool]],
    later: list[tuple[set[int], bool]],
    removed: int,
    held_at_lookup: int,
    held_since: int,
    written_before_the_write: bool,
    taken_in_early: bool,
) -> None:
    """With cuts small enough for a few versions to crowd, overflow and cut them: versions
    written before a worker's lookup, more committed between it and the write, perhaps one of
    them removed, then another batch after more commits (holder lists carried from the
    first). Each time, the writer's recheck of the old lookup decides what a lookup made at
    the write decides. Each version holds some of six keys and is a near copy or not.

    Some batches' keys are held, as a PostgreSQL writer holds them until its batch committed
    (:func:`archive.linking.store.hold_keys`): the last ``held_at_lookup`` versions before the
    lookup and the first ``held_since`` after it, written into the index before the write or
    after the recheck; the versions after them are in the index already. The writer may take
    in the first of the versions committed since ahead of the batch
    (:meth:`candidates.Recent.take_in`), before the rest and the removal."""
    keys = list(range(1001, 1007))
    new = replace(
        match.fingerprint(Article(title="Barrier", body=_BODY + " Work may start earlier.")),
        keys=tuple(keys),
    )
    near_copy = {"body": _BODY, "simhash": new.simhash}
    unrelated = {"body": "Unrelated filler about weather.", "simhash": ~new.simhash & (2**64 - 1)}
    path = tmp_path_factory.mktemp("recheck") / "archive.db"
    shutil.copy(_empty_archive(tmp_path_factory), path)
    small = {"POSTINGS_PER_KEY": 4, "HOLDERS_REPORTED": 2, "HOLDERS_READ": 9}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**small, "MAX_CANDIDATES": 3, "RANKED_MARGIN": 2}.items():
            patch.setattr(candidates, name, value)
        # batches' keys are held as a PostgreSQL writer holds them
        patch.setattr(store, "defers_index_keys", lambda connection: True)
        candidates._ranked_lookup.cache_clear()
        candidates._holders_of.cache_clear()
        engine = open_archive(f"sqlite:///{path}")
        try:
            next_id = 1

            def commit(versions: list[tuple[set[int], bool]], *, hold: bool = False) -> None:
                nonlocal next_id
                if not versions:
                    return
                with engine.begin() as connection:
                    # a story of their own: a removal may have split the stories before
                    story = {"title": "t", "first_seen_at": NOW, "last_seen_at": NOW}
                    story_id = connection.execute(insert(Story).returning(Story.id), [story])
                    of_story = {"story_id": story_id.scalar_one()}
                    indexed = []
                    for held, near in versions:
                        row = {**of_story, **(near_copy if near else unrelated)}
                        one = range(next_id, next_id + 1)
                        version_keys = [keys[k] for k in held]
                        _add_versions(connection, one, [] if hold else version_keys, **row)
                        indexed.append((next_id, replace(new, keys=tuple(version_keys))))
                        next_id += 1
                    if hold:
                        store.hold_keys(connection, indexed)

            def write_held() -> None:
                with engine.begin() as connection:
                    store.write_keys_left_behind(connection, wait=True)

            def now() -> list[match.Verdict]:
                with engine.connect() as connection:
                    fresh = candidates.Recent()
                    fresh.catch_up(connection, [])
                    return fresh.decide(new, None)

            held_at_lookup = min(held_at_lookup, len(before) - 1)
            commit(before[: len(before) - held_at_lookup])
            commit(before[len(before) - held_at_lookup :], hold=True)
            with engine.connect() as connection:
                lookup = candidates.look_up(connection, new)
            assert lookup.snapshot == len(before) - held_at_lookup
            commit(since[:held_since], hold=True)
            recent = candidates.Recent()
            if taken_in_early:
                with engine.connect() as connection:
                    recent.take_in(connection, [lookup])
            commit(since[held_since:])
            if removed + 1 < next_id:  # before the lookup or since, taken in or not
                remove_version(engine, removed + 1)
            if written_before_the_write:
                write_held()
            with engine.connect() as connection:
                recent.catch_up(connection, [lookup])
                rechecked = recent.decide(new, lookup)
            write_held()
            assert rechecked == now()
            commit(later)
            with engine.connect() as connection:
                recent.catch_up(connection, [lookup])
                assert recent.decide(new, lookup) == now()
        finally:
            engine.dispose()
            candidates._ranked_lookup.cache_clear()
            candidates._holders_of.cache_clear()


@functools.cache
def _empty_archive_at(folder: Path) -> Path:
    path = folder / "empty.db"
    open_archive(f"sqlite:///{path}").dispose()
    return path


def _empty_archive(factory: pytest.TempPathFactory) -> Path:
    """A migrated empty SQLite archive, made once a session: copied for each example."""
    return _empty_archive_at(factory.getbasetemp())


def _rechecked(
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    new: match.Fingerprint,
    lookup: candidates.Lookup,
) -> tuple[list[match.Verdict], int]:
    """The writer's verdicts for ``new`` from ``lookup``, and how often it looked it up again."""
    calls = []
    look_up = candidates.look_up

    def counted(*args: object, **kwargs: object) -> candidates.Lookup:
        calls.append(args)
        return look_up(*args, **kwargs)  # type: ignore[arg-type]

    with engine.connect() as connection, monkeypatch.context() as patch:
        recent = candidates.Recent()
        recent.catch_up(connection, [lookup])
        patch.setattr(candidates, "look_up", counted)
        return recent.decide(new, lookup), len(calls)


def _looked_up_now(
    engine: Engine, new: match.Fingerprint, lookup: candidates.Lookup
) -> list[match.Verdict]:
    """What the writer decides for ``new`` when it looks it up in what is committed now."""
    with engine.connect() as connection:
        recent = candidates.Recent()
        recent.catch_up(connection, [lookup])
        return recent.decide(new, None)


def test_a_hit_pushed_out_of_a_crowded_key_shares_one_key_less_without_a_second_lookup(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lookup that brought every version sharing two keys (fewer than the cut) can be
    recounted: the hit pushed out of a crowded key's most recent holders by versions written
    since shares one key less, here too few to be a hit at all, as a lookup now finds."""
    crowded, own, second, third = 1001, 1002, 1003, 1004
    new = replace(
        match.fingerprint(Article(title="Barrier", body=_BODY + " Work may start earlier.")),
        keys=(crowded, own, second, third),
    )
    far = ~new.simhash & (2**64 - 1)
    held = candidates.POSTINGS_PER_KEY - 1
    with engine.begin() as connection:
        connection.execute(
            insert(Story), [{"id": 1, "title": "t", "first_seen_at": NOW, "last_seen_at": NOW}]
        )
        # the crowded key's oldest holder shares one more key: a hit, and a near copy
        _add_versions(connection, range(1, 2), [crowded, own], body=_BODY, simhash=new.simhash)
        _add_versions(connection, range(2, held + 1), [crowded], simhash=far)
        _add_versions(
            connection, range(held + 1, held + 2), [second, third], body=_BODY, simhash=new.simhash
        )
    with engine.connect() as connection:
        lookup = candidates.look_up(connection, new)
    assert [v.version_id for v in lookup.verdicts] == [1, held + 1]
    with engine.begin() as connection:  # two more holders: version 1 leaves the cut
        _add_versions(connection, range(held + 2, held + 4), [crowded], simhash=far)
    rechecked, looked_up_again = _rechecked(engine, monkeypatch, new, lookup)
    assert looked_up_again == 0
    assert rechecked == _looked_up_now(engine, new, lookup)
    assert [v.version_id for v in rechecked] == [held + 1]


def test_the_recheck_counts_what_was_committed_when_the_batch_began_not_its_own_rows(
    engine: Engine,
) -> None:
    """A batch the database refused is redone record by record, each written before the next
    is decided; the recheck of the next must not count those rows as committed holders of a
    crowded key (a lookup in the writer, as in the batch written at once, does not see them).
    Before, it read each key's holders up to the highest id its connection saw, and a hit
    that a lookup made now keeps fell out of the key's cut."""
    crowded, own = 1001, 1002
    new = replace(
        match.fingerprint(Article(title="Barrier", body=_BODY + " Work may start earlier.")),
        keys=(crowded, own),
    )
    far = ~new.simhash & (2**64 - 1)
    held = candidates.POSTINGS_PER_KEY - 1
    with engine.begin() as connection:
        connection.execute(
            insert(Story), [{"id": 1, "title": "t", "first_seen_at": NOW, "last_seen_at": NOW}]
        )
        # version 2, a near copy, is the second oldest of the crowded key's holders
        _add_versions(connection, range(1, 2), [crowded], simhash=far)
        _add_versions(connection, range(2, 3), [crowded, own], body=_BODY, simhash=new.simhash)
        _add_versions(connection, range(3, held + 1), [crowded], simhash=far)
    with engine.connect() as connection:
        lookup = candidates.look_up(connection, new)
    assert lookup.holders[crowded] == held and [v.version_id for v in lookup.verdicts] == [2]
    with engine.begin() as connection:  # two more holders: version 1 leaves the cut, 2 stays
        _add_versions(connection, range(held + 1, held + 3), [crowded], simhash=far)
    assert [v.version_id for v in _looked_up_now(engine, new, lookup)] == [2]
    own_row = held + 3  # the batch's first record, written before the next is decided
    earlier = replace(
        match.fingerprint(Article(title="Tides", body=_BODY.replace("Portwell", "Ashby"))),
        keys=(crowded,),
        simhash=far,
    )
    with engine.connect() as connection:
        recent = candidates.Recent()
        recent.catch_up(connection, [lookup])
        recent.add(own_row, 1, earlier)
        _add_versions(connection, range(own_row, own_row + 1), [crowded], simhash=far)
        assert candidates.snapshot(connection) == own_row  # seen, not committed
        assert [v.version_id for v in recent.decide(new, lookup)] == [2]
        connection.rollback()


def test_the_writer_counts_each_version_written_since_a_lookup_once_however_old_the_lookup(
    engine: Engine,
) -> None:
    """One ``Recent`` serves a run's batches and forgets the versions older than each batch's
    oldest lookup. A later batch may bring a lookup older still (its worker was slow): the
    versions between are read again, and each must count the keys it shares once, not once
    for each time it was read; versions no lookup is older than are forgotten."""
    keys = [1001, 1002, 1003]
    new = replace(match.fingerprint(Article(title="Barrier", body=_BODY)), keys=tuple(keys))
    with engine.begin() as connection:
        connection.execute(
            insert(Story), [{"id": 1, "title": "t", "first_seen_at": NOW, "last_seen_at": NOW}]
        )
        _add_versions(connection, range(1, 4), keys, simhash=new.simhash)

    def lookup_at(snapshot: int) -> candidates.Lookup:
        return candidates.Lookup(snapshot, (), frozenset(), ())

    def shared_since(recent: candidates.Recent, snapshot: int) -> dict[int, int]:
        return {
            h.version_id: h.shared_keys
            for h in recent._newer_hits(new, recent._held_since(new), snapshot)
        }

    with engine.connect() as connection:
        recent = candidates.Recent()
        recent.catch_up(connection, [lookup_at(0)])
        assert shared_since(recent, 0) == {1: 3, 2: 3, 3: 3}
        recent.catch_up(connection, [lookup_at(2)])
        assert shared_since(recent, 2) == {3: 3}
        recent.catch_up(connection, [lookup_at(0)])
        assert shared_since(recent, 0) == {1: 3, 2: 3, 3: 3}
        recent.catch_up(connection, [lookup_at(3)])
        assert shared_since(recent, 0) == {}
        assert not any(g.holders for g in recent._generations)


def test_the_holders_a_batch_read_are_brought_up_to_date_for_the_next_from_memory(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The keys that crowd are common word pairs, asked for batch after batch. The writer
    keeps the holders it read and brings them up to date from the versions it knows were
    committed since (its own and those it took in): the next batch reads none of them again,
    and the lists are what the index holds, cut to the newest. After a removal, which may
    have taken a holder out, it reads them again."""
    read = candidates.HOLDERS_READ
    keys = [1001, 1002, 1003]
    far = {"simhash": 0}
    with engine.begin() as connection:
        _add_story(connection)
        _add_versions(connection, range(1, read + 21), keys[:1], **far)  # past a read's length
        _add_versions(connection, range(read + 21, read + 31), keys, **far)
    old_lookup = candidates.Lookup(5, (), frozenset(), ())  # a worker's, from long ago
    statements: list[object] = []
    holders_of = candidates._holders_of

    def counted(*args: Any) -> Any:
        statements.append(args)
        return holders_of(*args)

    monkeypatch.setattr(candidates, "_holders_of", counted)

    def fresh(up_to: int) -> dict[int, list[int]]:
        with engine.connect() as connection:
            other = candidates.Recent()
            other.catch_up(connection, [])
            return other._holders_up_to(connection, keys, up_to)

    recent = candidates.Recent()
    with engine.connect() as connection:
        recent.catch_up(connection, [old_lookup])
        first = recent._holders_up_to(connection, keys, read + 30)
    # the writer's own batch writes a version holding two of the keys...
    own = replace(match.fingerprint(Article(title="Barrier", body=_BODY)), keys=(1001, 1003))
    with engine.begin() as connection:
        recent.add(read + 31, 1, own)
        _add_versions(connection, range(read + 31, read + 32), [1001, 1003], **far)
    recent.commit()
    # ... and another writer two more, one holding every key
    with engine.begin() as connection:
        _add_versions(connection, range(read + 32, read + 33), [1002], **far)
        _add_versions(connection, range(read + 33, read + 34), keys, **far)
    statements.clear()
    with engine.connect() as connection:
        recent.catch_up(connection, [old_lookup])
        assert candidates.snapshot(connection) == read + 33
        carried = recent._holders_up_to(connection, keys, read + 33)
    assert statements == []
    assert carried == fresh(read + 33)
    assert carried[1001][:3] == [read + 33, read + 31, read + 30]
    assert len(carried[1001]) == read and first[1001] == carried[1001][2:] + first[1001][-2:]
    assert carried[1002] == [read + 33, read + 32, *range(read + 30, read + 20, -1)]
    remove_version(engine, read + 33)
    statements.clear()
    with engine.connect() as connection:
        recent.catch_up(connection, [old_lookup])
        again = recent._holders_up_to(connection, keys, read + 32)
    assert statements != []
    assert again == fresh(read + 32)
    assert again[1002][0] == read + 32


def test_the_writer_reads_the_holders_of_many_crowded_keys_as_the_index_holds_them(
    engine: Engine,
) -> None:
    """The writer reads the newest holders of the keys that crowded since a lookup several
    keys to a statement, wherever their index rows are, up to what is committed or up to a
    lookup's snapshot, and keeps them for its batch: they are read again once more versions
    are committed."""
    read = candidates.HOLDERS_READ
    keys = list(range(1001, 1001 + candidates.HOLDERS_KEYS_PER_STATEMENT + 5))
    versions = read + 40
    # key 1001 + i is held by every (i + 1)th version, its rows in either table by version
    held_by = {
        key: [v for v in range(1, versions + 1) if v % (i + 1) == 0] for i, key in enumerate(keys)
    }

    def newest(key: int, up_to: int) -> list[int]:
        return sorted((v for v in held_by[key] if v <= up_to), reverse=True)[:read]

    with engine.begin() as connection:
        connection.execute(
            insert(Story), [{"id": 1, "title": "t", "first_seen_at": NOW, "last_seen_at": NOW}]
        )
        connection.execute(insert(Version), version_rows(range(1, versions - 9)))
        for table, odd in ((MatchKey, False), (RecentMatchKey, True)):
            connection.execute(
                insert(table),
                [
                    {"key": key, "version_id": v}
                    for key, holders in held_by.items()
                    for v in holders
                    if v <= versions - 10 and (v % 2 == 1) == odd
                ],
            )
    recent = candidates.Recent()
    with engine.connect() as connection:
        recent.catch_up(connection, [])
        up_to = candidates.snapshot(connection)
        assert recent._holders_up_to(connection, keys, up_to) == {
            key: newest(key, up_to) for key in keys
        }
    with engine.begin() as connection:  # ten more versions, holding every key
        _add_versions(connection, range(versions - 9, versions + 1), keys)
        for key in keys:
            held_by[key] = sorted({*held_by[key], *range(versions - 9, versions + 1)})
    with engine.connect() as connection:
        recent.catch_up(connection, [])  # the next batch
        up_to = candidates.snapshot(connection)
        assert up_to == versions
        assert recent._holders_up_to(connection, keys[::3], up_to) == {
            key: newest(key, up_to) for key in keys[::3]
        }
        # and as a lookup's older snapshot saw them, for the keys that overflowed since
        older = up_to - 25
        assert recent._holders_up_to(connection, keys[:3], older) == {
            key: newest(key, older) for key in keys[:3]
        }
