"""Using the archive: stories, show, diff, search, stats, export and remove, as library calls and
as commands."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from archive.cli import main
from archive.commands.diff import Chunk, diff_versions, render_plain, render_rich, word_diff
from archive.commands.export import export, story_records
from archive.commands.ingest import ingest
from archive.commands.queries import NotFoundError, archive_stats, list_stories, show_story
from archive.commands.remove import remove_version
from archive.commands.search import search_versions
from archive.storage.models import (
    MatchKey,
    Story,
    StoryMerge,
    Version,
    VersionLink,
    VersionRemoval,
)

from .conftest import SAMPLES
from .module_db import BOTH_DATABASES, module_database
from .rows import index_postings

SEED_FILES = ("000_0413e7c0cc1f7413.txt", "002_224e29597f2f497a.txt", "meridian-kim-russia.html")


@pytest.fixture
def archive(engine: Engine) -> Engine:
    """An archive with the bundled samples ingested, for a test that changes it."""
    report = ingest([str(SAMPLES)], engine)
    assert report.failed == 0
    return engine


@pytest.fixture(scope="module", params=BOTH_DATABASES)
def samples(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, str]]:
    """One archive with the samples ingested, shared by the tests that only read it (ingesting
    for each of them would make this module slow). Yields its engine and URL."""
    with module_database(request.param, tmp_path_factory.mktemp("samples")) as (engine, url):
        assert ingest([str(SAMPLES)], engine).failed == 0
        yield engine, url


@pytest.fixture(scope="module", params=BOTH_DATABASES)
def scratch(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """One archive shared by tests that each add and change stories of their own."""
    with module_database(request.param, tmp_path_factory.mktemp("scratch")) as (engine, _):
        yield engine


def version_id(engine: Engine, file_name: str) -> int:
    with Session(engine) as session:
        found = session.scalar(select(Version.id).where(Version.source_path.endswith(file_name)))
    assert found is not None, file_name
    return found


def run(db_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [*args, "--db", db_url])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


# --- stories -------------------------------------------------------------------------------


def test_stories_lists_the_seed_story_with_its_three_versions_and_site(
    samples: tuple[Engine, str],
) -> None:
    archive = samples[0]
    stories = list_stories(archive, min_versions=3)
    assert [(s.story_id, s.versions, s.sites) for s in stories] == [(1, 3, ("The Meridian Post",))]


def test_stories_are_listed_newest_first(samples: tuple[Engine, str]) -> None:
    archive = samples[0]
    firsts = [s.first_seen_at for s in list_stories(archive)]
    assert firsts == sorted(firsts, reverse=True)
    assert len(firsts) == len(list_stories(archive, limit=None))


def test_stories_filter_by_site_title_and_first_seen_dates(samples: tuple[Engine, str]) -> None:
    archive = samples[0]
    by_site = list_stories(archive, site="island")
    assert {s.title for s in by_site} == {
        "Cove Line adds winter ferry sailings",
        "Lifeboat crews had busiest summer on record",
    }
    assert [s.story_id for s in list_stories(archive, title="KIM")] == [1]
    assert list_stories(archive, title="100%") == []  # % is a character, not a wildcard
    march = list_stories(
        archive, since=datetime(2024, 3, 1, tzinfo=UTC), until=datetime(2024, 4, 1, tzinfo=UTC)
    )
    assert {s.first_seen_at.date().isoformat() for s in march} == {"2024-03-12", "2024-03-13"}


def test_stories_command_prints_a_table_and_json(samples: tuple[Engine, str]) -> None:
    db_url = samples[1]
    code, output = run(db_url, "stories", "--min-versions", "2")
    assert code == 0
    assert "The Meridian Post" in output and "versions" in output
    code, output = run(db_url, "stories", "--json", "--until", "2023-09-22")
    assert code == 0
    rows = json.loads(output)
    assert [(r["story_id"], r["versions"]) for r in rows] == [(1, 3)]
    assert rows[0]["first_seen_at"] == "2023-09-22T06:05:00+00:00"


# --- show ----------------------------------------------------------------------------------


def test_show_puts_the_canonical_version_first_with_every_versions_evidence(
    samples: tuple[Engine, str],
) -> None:
    archive = samples[0]
    story = show_story(archive, 1)
    paths = [Path(v.source_path).name for v in story.versions]
    assert sorted(paths) == sorted(SEED_FILES)
    canonical = story.versions[0]
    assert canonical.is_canonical and canonical.version_id == story.canonical_version_id
    assert paths[0] == "meridian-kim-russia.html"  # published 2023, the earliest
    rewrite = next(v for v in story.versions if v.source_path.endswith("002_224e29597f2f497a.txt"))
    assert rewrite.method == "rewrite"
    assert rewrite.similarity is not None and 0 < rewrite.similarity < 1
    assert rewrite.sentences is not None and rewrite.sentences > 0.5
    assert {(link.version_id, link.linked_version_id) for link in story.links} >= {
        (version_id(archive, "002_224e29597f2f497a.txt"), version_id(archive, SEED_FILES[0]))
    }


def test_show_resolves_a_merged_story_id(scratch: Engine) -> None:
    v = _chain_story(scratch, [(1, 0)], 2)
    story_id = _story_of(scratch, v[0])
    with Session(scratch) as session, session.begin():
        # an id that was merged into this story by a bridging version
        session.add(
            StoryMerge(merged_story_id=9999, story_id=story_id, version_id=v[1], merged_at=_NOW)
        )
    story = show_story(scratch, 9999)
    assert (story.requested_id, story.story_id) == (9999, story_id)
    assert [v.version_id for v in story.versions] == v


def test_show_command_prints_versions_and_reports_unknown_stories(
    samples: tuple[Engine, str],
) -> None:
    archive, db_url = samples
    code, output = run(db_url, "show", "1")
    assert code == 0
    assert "meridian-kim-russia.html" in output and "rewrite" in output
    code, output = run(db_url, "show", "1", "--json")
    assert json.loads(output)["versions"][0]["is_canonical"] is True
    code, output = run(db_url, "show", "404")
    assert code == 1
    assert output.strip() == "Error: no story 404 in the archive"
    with pytest.raises(NotFoundError):
        show_story(archive, 404)


# --- diff ----------------------------------------------------------------------------------


def test_word_diff_marks_removed_and_added_words() -> None:
    chunks = word_diff("The cat sat on the mat.", "The dog sat on the mat today.")
    assert render_plain(chunks) == "The [-cat-] {+dog+} sat on the [-mat.-] {+mat today.+}"
    assert "".join(c.text for c in chunks if c.op != "delete") == "The dog sat on the mat today."


def test_word_diff_keeps_the_paragraphs_of_the_text() -> None:
    chunks = word_diff("One.\n\nTwo three.", "One.\n\nTwo four.")
    assert render_plain(chunks) == "One.\n\nTwo [-three.-] {+four.+}"


def test_rich_diff_colours_removed_and_added_words() -> None:
    text = render_rich([Chunk("equal", "a "), Chunk("delete", "b "), Chunk("insert", "c")])
    assert text.plain == "a b c"
    styles = {str(span.style) for span in text.spans}
    assert styles == {"red strike", "green"}


def test_diff_of_the_seed_pair_shares_words_and_differs_in_others(
    samples: tuple[Engine, str],
) -> None:
    archive = samples[0]
    a, b = version_id(archive, SEED_FILES[0]), version_id(archive, SEED_FILES[1])
    diff = diff_versions(archive, a, b)
    assert diff.same_story
    assert 0.2 < diff.shared_words < 0.9
    assert {c.op for c in diff.body} == {"equal", "delete", "insert"}
    exact = diff_versions(archive, b, version_id(archive, SEED_FILES[2]))
    assert exact.shared_words == 1.0
    assert {c.op for c in exact.body} == {"equal"}


def test_diff_command_prints_plain_markers_when_not_a_terminal(samples: tuple[Engine, str]) -> None:
    archive, db_url = samples
    a, b = version_id(archive, SEED_FILES[0]), version_id(archive, SEED_FILES[1])
    code, output = run(db_url, "diff", str(a), str(b))
    assert code == 0
    assert "[-" in output and "{+" in output and "\x1b[" not in output
    code, output = run(db_url, "diff", str(a), str(b), "--json")
    assert {chunk["op"] for chunk in json.loads(output)["body"]} == {"equal", "delete", "insert"}
    code, output = run(db_url, "diff", str(a), "12345")
    assert (code, output.strip()) == (1, "Error: no version 12345 in the archive")


# --- search --------------------------------------------------------------------------------


def test_search_finds_versions_with_every_word_in_title_or_body(
    samples: tuple[Engine, str],
) -> None:
    archive = samples[0]
    hits = search_versions(archive, "Portwell barrier")
    assert {hit.title for hit in hits} == {
        "Harbour council approves £40m tidal barrier after decade of floods",
        "Portwell votes for tidal barrier to end harbour flooding",
        "Fishermen vow legal fight over Portwell barrier",
    }
    assert all("[" in hit.snippet for hit in hits)
    assert search_versions(archive, "barriers") == []  # whole words, no stemming
    assert len(search_versions(archive, "barrier*")) == 3
    assert {h.story_id for h in search_versions(archive, "pyongyang moscow")} == {1}


def test_search_reads_operators_as_words(samples: tuple[Engine, str]) -> None:
    archive = samples[0]
    assert search_versions(archive, 'NEAR OR "AND" -kim:') == []
    with pytest.raises(ValueError):
        search_versions(archive, "*** --")


def test_search_finds_a_version_after_ingest_and_not_after_removal(
    scratch: Engine, tmp_path: Path
) -> None:
    archive = scratch
    page = tmp_path / "zebra.txt"
    page.write_text("Zebras escape\n\nThree zebras escaped from Portwell zoo on Tuesday.\n")
    ingest([str(page)], archive)
    [hit] = search_versions(archive, "zebras escaped")
    remove_version(archive, hit.version_id)
    assert search_versions(archive, "zebras") == []


def test_search_command_prints_hits_and_rejects_an_empty_query(samples: tuple[Engine, str]) -> None:
    db_url = samples[1]
    code, output = run(db_url, "search", "portwell", "barrier")
    assert code == 0 and "Fishermen vow legal fight" in output
    code, output = run(db_url, "search", "ferry*", "--json")
    assert {hit["site"] for hit in json.loads(output)} >= {"Cove Gazette", "Island Times"}
    code, output = run(db_url, "search", "%%%")
    assert code == 2 and "nothing to search for" in output


# --- stats ---------------------------------------------------------------------------------


def test_stats_count_everything_and_rank_the_biggest_stories(samples: tuple[Engine, str]) -> None:
    archive = samples[0]
    stats = archive_stats(archive, top=2)
    with Session(archive) as session:
        versions = session.scalar(select(func.count()).select_from(Version))
    assert stats.versions == versions == sum(stats.versions_by_method.values())
    assert stats.biggest_stories[0].story_id == 1 and stats.biggest_stories[0].versions == 3
    assert len(stats.biggest_stories) == 2
    assert stats.ingest_runs == 1 and stats.ingest_errors == 0
    assert stats.sites >= 5


def test_stats_command_prints_totals_and_json(samples: tuple[Engine, str]) -> None:
    db_url = samples[1]
    code, output = run(db_url, "stats")
    assert code == 0 and "Biggest stories" in output
    code, output = run(db_url, "stats", "--json")
    assert json.loads(output)["biggest_stories"][0]["story_id"] == 1


# --- export --------------------------------------------------------------------------------


def test_export_jsonl_writes_one_story_per_line_with_its_versions(
    samples: tuple[Engine, str],
) -> None:
    archive = samples[0]
    out = io.StringIO()
    summary = export(archive, out, format="jsonl")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == summary.stories
    assert sum(len(line["versions"]) for line in lines) == summary.versions
    seed = next(line for line in lines if line["story_id"] == 1)
    assert sorted(Path(v["source_path"]).name for v in seed["versions"]) == sorted(SEED_FILES)
    assert all(v["body"] and v["simhash"] >= 0 for v in seed["versions"])  # unsigned SimHash


def test_export_csv_writes_one_version_per_row_with_its_story(samples: tuple[Engine, str]) -> None:
    archive = samples[0]
    out = io.StringIO()
    summary = export(archive, out, format="csv", bodies=False)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == summary.versions
    assert "body" not in rows[0]
    seed_rows = [row for row in rows if row["story_id"] == "1"]
    assert {row["story_title"] for row in seed_rows} == {show_story(archive, 1).title}
    assert len(seed_rows) == 3


def test_export_streams_rather_than_building_the_whole_archive(samples: tuple[Engine, str]) -> None:
    archive = samples[0]
    records = story_records(archive)
    assert isinstance(records, Iterator)
    first = next(records)
    assert first["story_id"] == 1
    records.close()


def test_export_command_writes_a_file_or_standard_output(
    samples: tuple[Engine, str], tmp_path: Path
) -> None:
    db_url = samples[1]
    target = tmp_path / "archive.csv"
    code, output = run(db_url, "export", "--format", "csv", "--out", str(target), "--json")
    assert code == 0
    with target.open(newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert json.loads(output)["versions"] == len(rows)
    assert "Kim" in next(row["body"] for row in rows if row["story_id"] == "1")
    code, output = run(db_url, "export", "--no-bodies")
    first_line = output.splitlines()[0]
    assert json.loads(first_line)["story_id"] == 1


# --- remove --------------------------------------------------------------------------------

_NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _chain_story(engine: Engine, links: list[tuple[int, int]], count: int) -> list[int]:
    """A story of ``count`` versions (published a day apart) held together by ``links``, given
    as pairs of 0-based positions (newer, older). Returns the version ids."""
    with Session(engine) as session, session.begin():
        story = Story(title="chain 0", first_seen_at=_NOW, last_seen_at=_NOW)
        session.add(story)
        session.flush()
        versions = []
        for n in range(count):
            version = Version(
                story_id=story.id,
                source_path=f"chain{story.id}/{n}.txt",
                format="text",
                content_sha256=f"{n:064x}",
                body_sha256=f"{n:064x}",
                simhash=n,
                title=f"chain {n}",
                body=f"chain link number {n}",
                site=f"site {n}",
                published_at=_NOW + timedelta(days=n),
                ingested_at=_NOW,
                match_method="new story",
            )
            session.add(version)
            session.flush()
            versions.append(version.id)
        for newer, older in links:
            session.add(
                VersionLink(
                    version_id=versions[newer],
                    linked_version_id=versions[older],
                    distance=3,
                    similarity=0.8,
                    method="near",
                    sentences=1.0,
                )
            )
            session.execute(
                update(Version)
                .where(Version.id == versions[newer])
                .values(matched_version_id=versions[older], match_method="near")
            )
        session.add(MatchKey(key=7, version_id=versions[0]))
        session.flush()
        story.canonical_version_id = versions[0]
        story.last_seen_at = _NOW + timedelta(days=count - 1)
    return versions


def _story_of(engine: Engine, version: int) -> int:
    with Session(engine) as session:
        return session.get_one(Version, version).story_id


def test_removing_the_bridge_splits_the_story_and_logs_it(scratch: Engine) -> None:
    engine = scratch
    # 0 - 1 - 2 - 3 and 4 - 2: removing 2 leaves {0, 1} and {3}, {4} apart
    v = _chain_story(engine, [(1, 0), (2, 1), (3, 2), (4, 2)], 5)
    story_id = _story_of(engine, v[0])
    removal = remove_version(engine, v[2], now=_NOW)
    assert removal.story_id == story_id and removal.remaining_versions == 2
    assert removal.canonical_version_id == v[0]
    assert len(removal.new_story_ids) == 2
    assert _story_of(engine, v[0]) == _story_of(engine, v[1]) == story_id
    assert {_story_of(engine, v[3]), _story_of(engine, v[4])} == set(removal.new_story_ids)
    with Session(engine) as session:
        split = session.get_one(Story, _story_of(engine, v[4]))
        assert (split.canonical_version_id, split.title) == (v[4], "chain 4")
        assert split.first_seen_at == split.last_seen_at == _NOW + timedelta(days=4)
        kept = session.get_one(Story, story_id)
        assert kept.last_seen_at == _NOW + timedelta(days=1)
        log = session.get_one(VersionRemoval, removal.removal_id)
        assert (log.version_id, log.story_id) == (v[2], story_id)
        assert log.source_path == f"chain{story_id}/2.txt"
        assert log.new_story_ids == ",".join(map(str, removal.new_story_ids))
        assert session.get(Version, v[2]) is None
        assert not session.scalars(
            select(VersionLink).where(
                (VersionLink.version_id == v[2]) | (VersionLink.linked_version_id == v[2])
            )
        ).all()
        # a version that matched the removed one now stands as the first of its story
        assert session.get_one(Version, v[3]).match_method == "new story"


def test_removing_the_canonical_version_of_a_connected_story_rederives_it(scratch: Engine) -> None:
    engine = scratch
    # a triangle stays connected without any one of its versions
    v = _chain_story(engine, [(1, 0), (2, 1), (2, 0)], 3)
    removal = remove_version(engine, v[0], now=_NOW)
    assert removal.new_story_ids == () and removal.remaining_versions == 2
    assert removal.canonical_version_id == v[1]
    with Session(engine) as session:
        story = session.get_one(Story, removal.story_id)
        assert (story.title, story.first_seen_at) == ("chain 1", _NOW + timedelta(days=1))
        # version 2 matched 0 and 1: it takes its remaining link as evidence
        assert session.get_one(Version, v[2]).matched_version_id == v[1]
    assert v[0] not in {version_id for _, version_id in index_postings(engine)}


def test_removing_the_largest_part_gives_the_story_id_to_the_bigger_rest(scratch: Engine) -> None:
    engine = scratch
    # 0 - 1 - 2 - 3, removing 1: {2, 3} is larger than {0} and keeps the id
    v = _chain_story(engine, [(1, 0), (2, 1), (3, 2)], 4)
    story_id = _story_of(engine, v[0])
    removal = remove_version(engine, v[1], now=_NOW)
    assert _story_of(engine, v[2]) == _story_of(engine, v[3]) == story_id
    assert removal.new_story_ids == (_story_of(engine, v[0]),)
    assert removal.canonical_version_id == v[2]


def test_removing_the_last_version_removes_its_story(scratch: Engine) -> None:
    v = _chain_story(scratch, [(1, 0)], 2)
    story_id = _story_of(scratch, v[0])
    with Session(scratch) as session, session.begin():
        session.add(StoryMerge(merged_story_id=8888, story_id=story_id, merged_at=_NOW))
    remove_version(scratch, v[1])
    removal = remove_version(scratch, v[0])
    assert removal.story_removed and removal.remaining_versions == 0
    with pytest.raises(NotFoundError):
        show_story(scratch, story_id)
    with pytest.raises(NotFoundError):
        show_story(scratch, 8888)  # its merged ids went with it


def test_remove_command_reports_what_happened_and_unknown_versions(
    archive: Engine, db_url: str
) -> None:
    meridian = version_id(archive, SEED_FILES[2])
    code, output = run(db_url, "remove", str(meridian))
    assert code == 0 and "story 1 keeps 2 versions" in output
    assert [Path(v.source_path).name for v in show_story(archive, 1).versions] == [
        SEED_FILES[1],
        SEED_FILES[0],
    ]
    code, output = run(db_url, "remove", str(meridian), "--json")
    assert (code, output.strip()) == (1, f"Error: no version {meridian} in the archive")
    code, output = run(db_url, "stats", "--json")
    assert json.loads(output)["removed_versions"] == 1
