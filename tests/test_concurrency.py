"""Several ingest processes at once, and killed ones, end with what one serial run produces."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session

from archive.commands.ingest import ingest
from archive.storage.db import make_engine, open_archive
from archive.storage.models import IngestRun, Version, VersionLink

from .story_corpus import SAMPLES, stored_stories, write_story_corpus

REPO = Path(__file__).resolve().parent.parent


def archive_command(*args: str) -> list[str]:
    return [sys.executable, "-c", "from archive.cli import main; main()", *args]


def snapshot(engine: Engine) -> tuple[set[frozenset[str]], set[frozenset[str]], int]:
    """Stories as sets of source paths, links as unordered pairs of source paths, versions."""
    with Session(engine) as session:
        paths, stories = stored_stories(session)
        links = {
            frozenset((paths[a], paths[b]))
            for a, b in session.execute(
                select(VersionLink.version_id, VersionLink.linked_version_id)
            )
        }
        versions = session.scalar(select(func.count()).select_from(Version)) or 0
    return stories, links, versions


def version_count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Version)) or 0


def serial_snapshot(parts: list[Path], tmp_path: Path) -> tuple:
    engine = open_archive(f"sqlite:///{tmp_path / 'serial.db'}")
    ingest([str(p) for p in parts], engine)
    result = snapshot(engine)
    engine.dispose()
    return result


def test_overlapping_ingests_at_once_equal_one_serial_run(db_url: str, tmp_path: Path) -> None:
    parts = write_story_corpus(tmp_path / "corpus")
    open_archive(db_url).dispose()  # the schema first: migrations are not what is tested here
    feeds = [parts[0:2], parts[1:3], [parts[2], parts[3], parts[0]]]
    options = ("ingest", "-q", "--workers", "1", "--batch-size", "1", "--db", db_url)
    processes = [
        subprocess.Popen(
            archive_command(*options, *map(str, feed)),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for feed in feeds
    ]
    for process in processes:
        output, _ = process.communicate(timeout=300)
        assert process.returncode == 0, output
    engine = make_engine(db_url)
    concurrent = snapshot(engine)
    engine.dispose()
    serial = serial_snapshot(parts, tmp_path)
    assert concurrent == serial
    assert any(len(story) >= 4 for story in serial[0])  # the corpus does link versions


def test_ingests_killed_at_random_points_then_rerun_equal_an_uninterrupted_run(
    db_url: str, tmp_path: Path
) -> None:
    parts = write_story_corpus(tmp_path / "corpus")
    # Enough files that each of the three runs is killed before it could finish the corpus.
    filler = tmp_path / "corpus" / "filler"
    filler.mkdir()
    barrier = (SAMPLES / "harbour-barrier.txt").read_text(encoding="utf-8")
    for number in range(60):
        note = f"Correction {number}: an earlier version of this story misspelt a name."
        (filler / f"copy-{number:02d}.txt").write_text(f"{barrier}\n{note}\n", encoding="utf-8")
    parts.append(filler)
    open_archive(db_url).dispose()
    command = archive_command(
        "ingest", "-q", "--workers", "1", "--batch-size", "1", "--db", db_url, *map(str, parts)
    )
    chance = random.Random(11)
    engine = make_engine(db_url)
    kills = 0
    for _ in range(3):
        process = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        # kill it a random number of committed files into its run, or mid-batch
        target = version_count(engine) + chance.randint(1, 4)
        while process.poll() is None and version_count(engine) < target:
            time.sleep(0.01)
        time.sleep(chance.uniform(0, 0.05))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait(timeout=60)
    finished = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    resumed = snapshot(engine)
    with Session(engine) as session:
        statuses = session.scalars(select(IngestRun.status).order_by(IngestRun.id)).all()
    engine.dispose()
    assert resumed == serial_snapshot(parts, tmp_path)
    assert kills == 3
    # a killed run stays in the log as it was left: running, never finished
    assert statuses.count("running") == kills and statuses[-1] == "finished"


def test_ctrl_c_stops_after_the_batch_and_says_how_to_resume(
    sqlite_url: str, tmp_path: Path
) -> None:
    parts = write_story_corpus(tmp_path / "corpus")
    open_archive(sqlite_url).dispose()
    options = ("ingest", "-q", "--workers", "1", "--batch-size", "1", "--db", sqlite_url)
    process = subprocess.Popen(
        archive_command(*options, *map(str, parts)),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    engine = create_engine(sqlite_url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until the first batch is committed
        with Session(engine) as session:
            if session.scalar(select(func.count()).select_from(Version)):
                break
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Run the same command again to resume" in stderr
    with Session(engine) as session:
        run = session.scalars(select(IngestRun)).one()
        stored = session.scalar(select(func.count()).select_from(Version))
    engine.dispose()
    assert run.status == "interrupted" and run.finished_at is not None
    assert 0 < stored < sum(1 for p in parts for _ in p.iterdir())


@pytest.mark.parametrize("stop_after", [1, 2])
def test_ingest_stops_between_batches_when_asked(
    sqlite_url: str, tmp_path: Path, stop_after: int
) -> None:
    parts = write_story_corpus(tmp_path / "corpus")
    engine = open_archive(sqlite_url)
    asked = iter(range(1, 1000))
    report = ingest(
        [str(p) for p in parts], engine, batch_size=3, should_stop=lambda: next(asked) >= stop_after
    )
    assert report.interrupted and report.files_seen == 3 * stop_after
    rerun = ingest([str(p) for p in parts], engine, batch_size=3)
    assert rerun.duplicates_skipped == 3 * stop_after and not rerun.interrupted
    engine.dispose()
    assert os.path.exists(tmp_path / "archive.db")
