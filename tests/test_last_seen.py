"""A story is last seen at the latest publication date of its versions where any has one, else
at their latest ingest time, in the database too (``stories.last_seen_at``, the
``story_summary`` view; migration 0009): whatever wrote the story (ingest in one batch or
several, a merge, relink, remove), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from archive.commands.export import story_records
from archive.commands.ingest import ingest
from archive.commands.queries import archive_stats, list_stories, show_story
from archive.commands.relink import relink
from archive.commands.remove import remove_version
from archive.storage.db import downgrade, upgrade
from archive.storage.models import Story, Version
from archive.storage.schema import Seen, seen_of

from .test_merges import Linker

MARCH = datetime(2024, 3, 1, 8, tzinfo=UTC)
APRIL = datetime(2024, 4, 1, 8, tzinfo=UTC)
BODY = (
    "The ferry operator on the islands said on Monday that the winter timetable would keep "
    "two sailings a day to the mainland, after a campaign by residents who feared losing the "
    "evening boat. The company had proposed cutting the service to one crossing from November. "
    "Residents said the late sailing was the only way for hospital staff and students to get "
    "home the same day. The operator said it would review the numbers again in the spring."
)


def record(folder: Path, name: str, published: datetime | None) -> str:
    """A JSON record of the one story, dated ``published`` or undated."""
    fields = {"title": "Island ferry keeps its evening sailing", "text": BODY}
    if published is not None:
        fields["published"] = published.isoformat()
    path = folder / name
    path.write_text(json.dumps(fields), encoding="utf-8")
    return str(path)


def stored_seen(engine: Engine) -> list[tuple[datetime, datetime]]:
    """(first_seen_at, last_seen_at) of every story, as stored and as the view shows it."""
    with Session(engine) as session:
        stored = [(s.first_seen_at, s.last_seen_at) for s in session.scalars(select(Story))]
    with engine.connect() as connection:
        shown = connection.execute(
            text("SELECT last_seen_at FROM story_summary ORDER BY story_id")
        ).scalars()
        if engine.dialect.name == "sqlite":  # stored text there: compare as the time it names
            shown = [datetime.fromisoformat(t).replace(tzinfo=UTC) for t in shown]
        assert [last for _, last in stored] == list(shown)
    return stored


def ingest_times(engine: Engine) -> list[datetime]:
    with Session(engine) as session:
        return list(session.scalars(select(Version.ingested_at).order_by(Version.id)))


def test_one_version_is_seen_when_published_else_when_ingested() -> None:
    assert Seen.of(MARCH, APRIL) == Seen(MARCH, MARCH, dated=True)
    assert Seen.of(None, APRIL) == Seen(APRIL, APRIL, dated=False)


def test_a_publication_date_wins_over_any_ingest_time() -> None:
    later_undated = (None, APRIL + timedelta(days=300))
    assert seen_of([(MARCH, APRIL), later_undated]) == Seen(MARCH, MARCH, dated=True)
    assert seen_of([later_undated, (MARCH, APRIL), (APRIL, APRIL)]) == Seen(MARCH, APRIL, True)
    # with no date at all, the latest ingest time
    assert seen_of([(None, MARCH), (None, APRIL)]) == Seen(MARCH, APRIL, dated=False)
    # the order versions come in changes nothing
    assert Seen.of(None, APRIL) | Seen.of(MARCH, APRIL) == Seen.of(MARCH, APRIL) | Seen.of(
        None, APRIL
    )


@pytest.mark.parametrize("order", ["dated-first", "undated-first", "one-run"])
def test_ingest_stores_last_seen_from_publication_dates(
    engine: Engine, tmp_path: Path, order: str
) -> None:
    dated, undated = record(tmp_path, "dated.json", MARCH), record(tmp_path, "undated.json", None)
    runs = {
        "dated-first": [[dated], [undated]],
        "undated-first": [[undated], [dated]],  # the stored story had no date, then gets one
        "one-run": [[dated, undated]],
    }[order]
    for paths in runs:
        assert ingest(paths, engine).failed == 0
    [(first, last)] = stored_seen(engine)
    assert first == last == MARCH


def test_a_story_without_dates_is_last_seen_at_its_latest_ingest(
    engine: Engine, tmp_path: Path
) -> None:
    ingest([record(tmp_path, "a.json", None)], engine)
    ingest([record(tmp_path, "b.json", None)], engine)
    a, b = ingest_times(engine)
    assert stored_seen(engine) == [(a, b)]


@pytest.mark.parametrize("one_batch", [False, True], ids=["separate-batches", "one-batch"])
def test_a_merge_keeps_the_dated_story_s_last_seen(engine: Engine, one_batch: bool) -> None:
    with Session(engine) as session, session.begin():
        linker = Linker(session, one_batch=one_batch)
        dated = linker.add("dated", MARCH, [])
        undated = linker.add("undated", None, [])  # ingested "now" (2026), after March 2024
        linker.add("bridge", None, [dated, undated])
        linker.done()
    [(first, last)] = stored_seen(engine)
    assert first == last == MARCH


def test_relink_and_remove_store_the_same_rule(engine: Engine, tmp_path: Path) -> None:
    paths = [
        record(tmp_path, "dated.json", MARCH),
        record(tmp_path, "undated.json", None),
        record(tmp_path, "april.json", APRIL),
    ]
    ingest(paths, engine)
    with engine.begin() as connection:  # a value by some other rule: relink puts it right
        connection.execute(text("UPDATE stories SET last_seen_at = first_seen_at"))
    relink(engine)
    assert stored_seen(engine) == [(MARCH, APRIL)]
    with Session(engine) as session:
        ids = {
            v.source_path.rsplit("/", 1)[-1]: v.id
            for v in session.scalars(select(Version).order_by(Version.id))
        }
    remove_version(engine, ids["april.json"])
    assert stored_seen(engine) == [(MARCH, MARCH)]
    remove_version(engine, ids["dated.json"])  # no date left: the ingest time
    undated_ingest = ingest_times(engine)[0]
    assert stored_seen(engine) == [(undated_ingest, undated_ingest)]


def test_migration_0009_recomputes_last_seen_both_ways(engine: Engine, tmp_path: Path) -> None:
    ingest([record(tmp_path, "dated.json", MARCH), record(tmp_path, "undated.json", None)], engine)
    undated_ingest = max(ingest_times(engine))
    assert stored_seen(engine) == [(MARCH, MARCH)]
    downgrade(engine, "0008_match_keys_without_rowid")
    # the old rule: the latest time any version was seen, the undated one at its ingest
    assert stored_seen(engine) == [(MARCH, undated_ingest)]
    upgrade(engine)
    assert stored_seen(engine) == [(MARCH, MARCH)]


# --- as the commands show it ------------------------------------------------------------


def test_last_seen_is_the_latest_publication_date_where_known(
    engine: Engine, tmp_path: Path
) -> None:
    dated = record(tmp_path, "dated.json", MARCH)
    undated = record(tmp_path, "undated.json", None)  # the same text, no date: today
    assert ingest([dated, undated], engine).failed == 0
    [story] = list_stories(engine)
    assert story.versions == 2
    assert story.first_seen_at == story.last_seen_at == MARCH
    assert show_story(engine, story.story_id).last_seen_at == MARCH
    assert archive_stats(engine).last_seen_at == MARCH
    assert next(story_records(engine))["last_seen_at"] == MARCH


def test_last_seen_is_the_ingest_time_when_no_version_has_a_date(
    engine: Engine, tmp_path: Path
) -> None:
    ingest([record(tmp_path, "undated.json", None)], engine)
    [story] = list_stories(engine)
    [ingested] = ingest_times(engine)
    assert story.last_seen_at == ingested
    assert abs((datetime.now(UTC) - story.last_seen_at).total_seconds()) < 600
