"""Relink recomputes links and stories from stored text alone, keeping story ids stable."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from archive.cli import main
from archive.commands.ingest import ingest
from archive.commands.relink import relink
from archive.linking import store
from archive.storage.models import StoryMerge, Version, VersionLink

from .conftest import SAMPLES


def assignment(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.execute(select(Version.source_path, Version.story_id))
        return {path: story for path, story in rows}


def links(engine: Engine) -> set[tuple[int, int, str]]:
    with Session(engine) as session:
        rows = session.execute(
            select(VersionLink.version_id, VersionLink.linked_version_id, VersionLink.method)
        )
        return {(a, b, m) for a, b, m in rows}


def copied_samples(tmp_path: Path) -> Path:
    folder = tmp_path / "samples"
    shutil.copytree(SAMPLES, folder)
    return folder


def test_relink_with_unchanged_settings_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    ingest([str(copied_samples(tmp_path))], engine)
    before, before_links = assignment(engine), links(engine)
    report = relink(engine)
    assert assignment(engine) == before
    assert links(engine) == before_links
    assert report.versions_moved == 0
    assert report.stories_before == report.stories_after


def test_relink_reads_no_files(engine: Engine, tmp_path: Path) -> None:
    folder = copied_samples(tmp_path)
    ingest([str(folder)], engine)
    before = assignment(engine)
    shutil.rmtree(folder)
    relink(engine)
    assert assignment(engine) == before


def test_stricter_threshold_splits_and_looser_one_joins_again(
    engine: Engine, tmp_path: Path
) -> None:
    folder = copied_samples(tmp_path)
    seed = str(folder / "002_224e29597f2f497a.txt")
    spun = str(folder / "000_0413e7c0cc1f7413.txt")  # the seed's spun rewrite, same story
    typo_copy = folder / "typo-copy.txt"  # a near, not exact, copy of the seed
    text = Path(seed).read_text(encoding="utf-8")
    typo_copy.write_text(text.replace("unspecified", "unspecifed"), encoding="utf-8")
    ingest([str(folder)], engine)
    near_copy = str(typo_copy)
    original_story = assignment(engine)[seed]
    assert assignment(engine)[near_copy] == assignment(engine)[spun] == original_story

    relink(engine, threshold=1.0, rewrites=False)  # only copies with the same body stay linked
    split = assignment(engine)
    assert len({split[seed], split[near_copy], split[spun]}) == 3
    assert original_story in (split[seed], split[near_copy], split[spun])  # one keeps the id
    wire, feed = str(folder / "island-times-crawl.warc.gz#2"), str(folder / "regional-feed.jsonl#1")
    assert split[wire] == split[feed]  # exact copies are linked at any threshold

    relink(engine)
    joined = assignment(engine)
    assert joined[seed] == joined[near_copy] == joined[spun] == original_story
    with Session(engine) as session:
        for moved_story in {split[seed], split[near_copy], split[spun]} - {original_story}:
            assert store.resolve_story_id(session, moved_story) == original_story
            assert session.get(StoryMerge, moved_story) is not None


def test_relink_command_reports_what_it_did(db_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["ingest", "-q", str(copied_samples(tmp_path)), "--db", db_url])
    result = runner.invoke(main, ["relink", "--db", db_url, "--threshold", "0.99"])
    assert result.exit_code == 0, result.output
    assert "versions relinked" in result.output
