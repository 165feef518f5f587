"""A small corpus of several stories, each in several versions, written into a test's folder,
and the stories an archive ended with."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.storage.models import Version

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
TEXT_ARTICLES = (
    "harbour-barrier.txt",
    "library-closures.txt",
    "002_224e29597f2f497a.txt",
    "000_0413e7c0cc1f7413.txt",
)
CHROMES = (
    (["The Portwell Packet | News | Sport", "News › Local"], ["© The Portwell Packet"]),
    (["West Coast Wire", "Home > Regional"], ["Related: Ferry timetable changes", "Contact us"]),
    (["Skip to content", "Morning Ledger | World"], ["Share | Email", "More from World"]),
)


def write_story_corpus(folder: Path, parts: int = 4) -> list[Path]:
    """Write the samples and edited copies of the text samples into ``parts`` subfolders
    (part1 ... partN), and return the subfolders. Every file has unique content."""
    subfolders = [folder / f"part{n}" for n in range(1, parts + 1)]
    for subfolder in subfolders:
        subfolder.mkdir(parents=True)
    files: list[tuple[str, str | Path]] = [(p.name, p) for p in sorted(SAMPLES.iterdir())]
    for name in TEXT_ARTICLES:
        text = (SAMPLES / name).read_text(encoding="utf-8")
        lines = text.splitlines()
        for number, (head, foot) in enumerate(CHROMES):
            edited = [*head, *lines, *foot]
            if number == 1:  # trimmed: the last paragraph cut
                edited = [*head, *lines[: max(3, len(lines) - 2)], *foot]
            if number == 2:  # an editor's note and a typo
                edited = [*edited[:-2], "Editor's note: this story was updated.", *edited[-2:]]
                edited = [line.replace(" the ", " teh ", 1) for line in edited]
            files.append((f"v{number}-{name}", "\n".join(edited) + "\n"))
    for index, (name, content) in enumerate(files):
        target = subfolders[index % parts] / name
        if isinstance(content, Path):
            shutil.copyfile(content, target)
        else:
            target.write_text(content, encoding="utf-8")
    return subfolders


def stored_stories(session: Session) -> tuple[dict[int, str], set[frozenset[str]]]:
    """The source path of each stored version, and the stories as sets of source paths."""
    paths = {v: path for v, path in session.execute(select(Version.id, Version.source_path))}
    stories: dict[int, set[str]] = {}
    for version_id, story_id in session.execute(select(Version.id, Version.story_id)):
        stories.setdefault(story_id, set()).add(paths[version_id])
    return paths, {frozenset(story) for story in stories.values()}
