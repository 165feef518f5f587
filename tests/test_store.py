"""Storing a batch: the batch writer links as one-at-a-time would, the index lookup stays
bounded, and ids stay dense."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import Engine, Table, bindparam, func, insert, literal_column, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from archive.commands.ingest import ingest
from archive.linking import candidates, store
from archive.linking.match import Fingerprint
from archive.linking.store import KEY_COLUMNS
from archive.storage import postgresql
from archive.storage.db import fetch_rows, insert_rows, insert_tuples, open_archive
from archive.storage.models import (
    MatchKey,
    RecentMatchKey,
    Story,
    Version,
    VersionLink,
    path_sha256,
)
from archive.storage.postgresql import COPY_FROM_ROWS
from archive.text import align

from .rows import version_rows
from .story_corpus import stored_stories, write_story_corpus

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def evidence(engine: Engine) -> tuple[set[frozenset[str]], set[tuple[str, str, str, float]]]:
    """The archive's stories (as sets of source paths) and links (paths, method, similarity)."""
    with Session(engine) as session:
        path_of, stories = stored_stories(session)
        links = {
            (path_of[new], path_of[old], method, round(similarity, 6))
            for new, old, method, similarity in session.execute(
                select(
                    VersionLink.version_id,
                    VersionLink.linked_version_id,
                    VersionLink.method,
                    VersionLink.similarity,
                )
            )
        }
    return stories, links


def test_a_whole_batch_links_exactly_as_one_file_per_batch(engine: Engine, tmp_path: Path) -> None:
    parts = write_story_corpus(tmp_path / "corpus")
    ingest([str(p) for p in parts], engine, batch_size=1000)  # every file in one batch
    one_by_one = open_archive(f"sqlite:///{tmp_path / 'one-by-one.db'}")
    ingest([str(p) for p in parts], one_by_one, batch_size=1)
    stories, links = evidence(engine)
    assert (stories, links) == evidence(one_by_one)
    assert any(len(story) >= 4 for story in stories)  # the corpus has stories in many versions
    one_by_one.dispose()


def test_new_version_and_story_ids_follow_on_without_gaps(engine: Engine, tmp_path: Path) -> None:
    parts = write_story_corpus(tmp_path / "corpus")
    ingest([str(parts[0]), str(parts[1])], engine, batch_size=3)
    ingest([str(parts[2]), str(parts[3])], engine, batch_size=3)
    with Session(engine) as session:
        version_ids = session.scalars(select(Version.id).order_by(Version.id)).all()
        story_ids = session.scalars(select(Story.id).order_by(Story.id)).all()
    assert version_ids == list(range(1, len(version_ids) + 1))
    # no merges happen in this corpus, so every story id handed out is still there
    assert story_ids == list(range(1, len(story_ids) + 1))


@pytest.mark.parametrize("recent", ["none", "odd versions", "all"])
def test_a_crowded_key_counts_only_its_most_recent_holders(engine: Engine, recent: str) -> None:
    """Wherever the index rows are (``match_keys``, ``match_keys_recent`` or both, in any mix
    of versions), a key's most recent holders are those of the two tables together."""
    crowded, rare = [1001, 1002], [2001, 2002]
    holders = candidates.POSTINGS_PER_KEY + 50
    with Session(engine) as session, session.begin():
        session.add(Story(id=1, title="t", first_seen_at=NOW, last_seen_at=NOW))
        session.flush()
        session.execute(insert(Version), version_rows(range(1, holders + 1)))
        postings = [(key, n) for key in crowded for n in range(1, holders + 1)]
        postings += [(key, 1) for key in rare]  # the oldest version also holds two rare keys
        in_recent = {"none": lambda v: False, "odd versions": lambda v: v % 2 == 1}.get(
            recent, lambda v: True
        )
        for table, wanted in ((MatchKey, False), (RecentMatchKey, True)):
            rows = [{"key": k, "version_id": v} for k, v in postings if in_recent(v) == wanted]
            if rows:
                session.execute(insert(table), rows)
    new = Fingerprint(0, "f" * 64, tuple(crowded + rare), align.profile("x"))
    with engine.connect() as connection:
        found = [hit.version_id for hit in candidates.index_hits(connection, new, holders)]
    oldest_counted = holders - candidates.POSTINGS_PER_KEY + 1
    assert len(found) == candidates.MAX_CANDIDATES
    # version 1 shares its two rare keys (counted) and two crowded keys (too old to count)
    assert found[0] == 1
    assert all(v >= oldest_counted for v in found[1:])


@pytest.mark.postgres
def test_postgresqls_lateral_lookup_ranks_as_the_floor_join_sqlite_runs(postgres_url: str) -> None:
    """PostgreSQL reads each key's newest holders through a LATERAL join, SQLite through a
    join to each key's floor; PostgreSQL runs both, and they must return the same rows."""
    engine = open_archive(postgres_url)
    rng = random.Random(7)
    versions = 400
    # keys held by a few versions, by about HOLDERS_REPORTED, by about POSTINGS_PER_KEY and by
    # more, split between the two index tables at random
    sizes = [1, 2, 3, 5, 8, 30, 49, 50, 51, 99, 100, 101, 150, 260, 400]
    postings = [
        (1000 + n, version)
        for n, size in enumerate(sizes)
        for version in rng.sample(range(1, versions + 1), size)
    ]
    with Session(engine) as session, session.begin():
        session.add(Story(id=1, title="t", first_seen_at=NOW, last_seen_at=NOW))
        session.flush()
        session.execute(insert(Version), version_rows(range(1, versions + 1)))
        in_recent = {posting: rng.random() < 0.3 for posting in postings}
        for table, wanted in ((MatchKey, False), (RecentMatchKey, True)):
            session.execute(
                insert(table),
                [{"key": k, "version_id": v} for k, v in postings if in_recent[(k, v)] == wanted],
            )
    all_keys = [1000 + n for n in range(len(sizes))]
    with engine.connect() as connection:
        for up_to in (37, 120, 333, versions):
            for keys in (all_keys, all_keys[::2], all_keys[5:], all_keys[-3:]):
                parameters = candidates._key_parameters(keys, up_to)
                results = [
                    sorted(
                        fetch_rows(
                            connection, candidates._ranked_lookup(len(keys), form), parameters
                        ),
                        key=repr,
                    )
                    for form in ("postgresql", "sqlite")
                ]
                assert results[0] == results[1]
                assert any(row[0] is not None for row in results[0])  # some ranked hits
    engine.dispose()


def test_postgresql_statements_get_numbered_placeholders_each_name_once() -> None:
    sql, names = postgresql.numbered_parameters(
        "SELECT %(b)s, %(a)s WHERE x LIKE 'a%%' AND y = %(b)s OR z = %(a_1)s"
    )
    assert sql == "SELECT $1, $2 WHERE x LIKE 'a%' AND y = $1 OR z = $3"
    assert names == ("b", "a", "a_1")


def test_a_lookup_statement_with_many_parameters_and_a_percent_sign_reads_its_rows(
    engine: Engine,
) -> None:
    """``fetch_rows`` runs its statements on PostgreSQL as they are, with ``$n`` placeholders
    (psycopg would rewrite a statement of more than 50 parameters on every run)."""
    with engine.begin() as connection:
        connection.execute(
            insert(Story), [{"id": 1, "title": "t", "first_seen_at": NOW, "last_seen_at": NOW}]
        )
        connection.execute(
            insert(Version), version_rows(range(1, 121), title="50% off", simhash=2**64 - 1)
        )
    wanted = [*range(120, 1, -2), 3]
    statement = (
        select(Version.id, Version.simhash, literal_column("'50%'"))  # a percent sign in the SQL
        .where(Version.id.in_([bindparam(f"id{n}") for n in range(len(wanted))]))
        .where(Version.title.like(literal_column("'50%'")))
        .where(Version.id > bindparam("floor"))
        .order_by(Version.id)
    )
    parameters: dict[str, int] = {f"id{n}": v for n, v in enumerate(wanted)} | {"floor": 9}
    assert len(parameters) > 50
    with engine.connect() as connection:
        for _ in range(7):  # psycopg prepares a statement on the server from its 6th run
            rows = fetch_rows(connection, statement, parameters)
            assert rows == [(v, 2**64 - 1, "50%") for v in sorted(wanted) if v > 9]


def test_recent_index_keys_move_into_match_keys_at_once_when_they_span_enough_versions(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "RECENT_KEYS_SCALE", 1)
    monkeypatch.setattr(store, "RECENT_KEYS_MIN_VERSIONS", 10)
    monkeypatch.setattr(postgresql, "STAGES_INDEX_KEYS", True)  # the same mechanism on both
    fingerprint = Fingerprint(0, "f" * 64, (), align.profile("x"))

    def keyed(ids: range) -> list[tuple[int, Fingerprint]]:
        return [(n, replace(fingerprint, keys=(1000 + n % 3, 2000 + n))) for n in ids]

    def tables() -> tuple[int, int]:
        with engine.connect() as connection:
            return (
                connection.scalar(select(func.count()).select_from(MatchKey)) or 0,
                connection.scalar(select(func.count()).select_from(RecentMatchKey)) or 0,
            )

    with engine.begin() as connection:
        connection.execute(
            insert(Story), [{"id": 1, "title": "t", "first_seen_at": NOW, "last_seen_at": NOW}]
        )
        connection.execute(insert(Version), version_rows(range(1, 31)))
        store.insert_keys(connection, keyed(range(1, 6)))
    assert tables() == (0, 10)  # versions 1-5: a span of 4 versions, under the 10 allowed
    with engine.begin() as connection:
        store.insert_keys(connection, keyed(range(6, 12)))
    assert tables() == (22, 0)  # versions 1-11: a span of 10, merged with the batch
    with engine.begin() as connection:
        store.insert_keys(connection, keyed(range(12, 14)))
        assert not store.merge_recent_keys(connection)
        assert store.merge_recent_keys(connection, force=True)
    assert tables() == (26, 0)
    assert store.recent_keys_limit(10_000) == 100  # sqrt(scale x versions), at least the minimum
    assert store.recent_keys_limit(10) == 10


def test_new_index_keys_go_to_the_small_table_on_sqlite_and_straight_in_on_postgresql(
    engine: Engine,
) -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(Story), [{"id": 1, "title": "t", "first_seen_at": NOW, "last_seen_at": NOW}]
        )
        connection.execute(insert(Version), version_rows(range(1, 3)))
        fingerprint = Fingerprint(0, "f" * 64, (7, 8), align.profile("x"))
        store.insert_keys(connection, [(1, fingerprint), (2, fingerprint)])
        staged = connection.scalar(select(func.count()).select_from(RecentMatchKey))
        merged = connection.scalar(select(func.count()).select_from(MatchKey))
    expected = (0, 4) if engine.dialect.name == "postgresql" else (4, 0)
    assert (staged, merged) == expected


def _one_version(engine: Engine, tmp_path: Path) -> dict[str, object]:
    (tmp_path / "one.txt").write_text(
        "Ferry timetable\n\nThe ferry will sail twice a day from May, the operator said.\n",
        encoding="utf-8",
    )
    ingest([str(tmp_path / "one.txt")], engine)
    with engine.connect() as connection:
        return dict(connection.execute(select(Version.__table__)).mappings().one())


@pytest.mark.parametrize("count", [3, COPY_FROM_ROWS + 7])
def test_bulk_inserts_store_what_an_insert_statement_would(
    engine: Engine, tmp_path: Path, count: int
) -> None:
    """Few rows go through an INSERT, many through COPY (PostgreSQL) or the driver's
    executemany (SQLite): either way an unsigned SimHash comes back unsigned (its type's bind
    processor ran), and columns left to their Python-side defaults get them."""
    stored = _one_version(engine, tmp_path)
    keys = [(1 << 62) + n for n in range(count)]
    top = int(cast(int, stored["id"]))
    copies = [
        {**stored, "id": top + n, "source_path": f"copy/{n}.txt", "simhash": (1 << 64) - n}
        for n in range(1, count + 1)
    ]
    for row in copies:
        del row["source_path_sha256"]
    with engine.begin() as connection:
        insert_tuples(
            connection, cast(Table, MatchKey.__table__), KEY_COLUMNS, [(k, top) for k in keys]
        )
        insert_rows(connection, cast(Table, Version.__table__), copies)
    with Session(engine) as session:
        stored_keys = session.scalars(
            select(MatchKey.key).where(MatchKey.version_id == top, MatchKey.key.in_(keys))
        ).all()
        hashes = dict(
            session.execute(
                select(Version.source_path, Version.source_path_sha256).where(
                    Version.source_path.like("copy/%")
                )
            ).all()
        )
        simhashes = set(
            session.scalars(select(Version.simhash).where(Version.source_path.like("copy/%")))
        )
    assert sorted(stored_keys) == sorted(keys)
    assert hashes == {row["source_path"]: path_sha256(str(row["source_path"])) for row in copies}
    assert simhashes == {row["simhash"] for row in copies}


@pytest.mark.parametrize("count", [3, COPY_FROM_ROWS + 7])
def test_a_bulk_insert_the_database_refuses_raises_sqlalchemys_error(
    engine: Engine, tmp_path: Path, count: int
) -> None:
    """So that a batch that fails is undone and retried record by record, as after a refused
    statement."""
    top = int(cast(int, _one_version(engine, tmp_path)["id"]))
    rows = [(n, top) for n in range(count)] + [(0, top)]  # the first key twice
    with pytest.raises(IntegrityError), engine.begin() as connection:
        insert_tuples(connection, cast(Table, MatchKey.__table__), KEY_COLUMNS, rows)
