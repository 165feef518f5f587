"""Real pages: trimmed copies, teasers and write-thrus of one wire story join it; walls, page
text, shared photo captions and follow-up stories do not. Every page here is invented for the
test, in the shape scraped news pages take (one paragraph per line, furniture kept)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from archive.commands.ingest import ingest
from archive.storage.models import Version, VersionLink

HEADLINE = "Harbour board says Westmere ferry pier will close for good"
WIRE = [
    "WESTMERE (AP) — The harbour board of Westmere voted late Tuesday to close the "
    "century-old ferry pier for good, ending crossings that islanders have relied on since 1911.",
    "The board said a survey found the pier's iron piles corroded beyond repair, and that "
    "rebuilding them would cost an estimated 14 million pounds the port cannot raise.",
    "Islanders packed the meeting in the Quayside Hall, and several shouted at board members "
    "as chairwoman Ingrid Tolmach read out the result of the vote.",
    '"We did not take this decision lightly," Tolmach said. "The survey left us no safe way '
    'to keep passengers on that structure."',
    "The ferry operator, Kestrel Lines, said it would move its two boats to the freight quay "
    "at Sandholme while a temporary landing stage is built.",
    "Kestrel Lines chief executive Morven Ashby said crossings would resume within six weeks, "
    "though each trip would take twenty minutes longer from the new berth.",
    "The pier was damaged in the storms of February, when a barge broke its moorings and "
    "struck the northern piles during a spring tide.",
    "Westmere council said it would ask the national transport fund to pay for a new pier, "
    "a process that could take three years.",
]
LATER_LEAD = (
    "WESTMERE (AP) — Islanders on Wednesday began a petition to save the Westmere ferry pier, "
    "a day after the harbour board voted to close the century-old structure for good."
)
CAPTION = (
    "FILE - In this Feb. 12, 2024 file photo, waves break over the Westmere ferry pier during "
    "a storm. (AP Photo/Lena Varga)"
)
SITE_HEAD = ["Skip to content", "News | Sport | Business | Weather", "Share on Facebook"]
SITE_FOOT = ["Most popular", "Sign up for our newsletter", "© 2024 The Coast Courier"]
OTHER_HEAD = ["The Island Gazette", "Home > Regional"]
OTHER_FOOT = ["Related: Ferry fares rise in spring", "Contact us | Privacy"]

# Another story of the same week that retells the pier story in its background paragraphs.
FOLLOW_UP = [
    "WESTMERE (AP) — Kestrel Lines said Friday it will cut its winter timetable to four "
    "crossings a day after losing its berth at the Westmere pier.",
    "The operator blamed higher fuel bills and the longer route from Sandholme, where its "
    "boats now tie up at the freight quay beside the grain silos.",
    "Passenger numbers fell by a third in the first week, the company said, as commuters "
    "switched to the road bridge at Carrow.",
    "The harbour board voted on Tuesday to shut the century-old ferry pier, saying its iron "
    "piles were corroded beyond repair.",
    "Rebuilding the pier would cost about 14 million pounds, according to a board survey.",
]


def write(folder: Path, name: str, lines: list[str]) -> Path:
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def stories(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.execute(select(Version.source_path, Version.story_id))
        return {Path(path).name: story for path, story in rows}


def full_page(head: list[str], foot: list[str], paragraphs: list[str]) -> list[str]:
    return [*head, HEADLINE, "By Ann Lee, Associated Press", CAPTION, *paragraphs, *foot]


def test_a_trimmed_copy_and_a_teaser_join_the_full_wire_story(
    engine: Engine, tmp_path: Path
) -> None:
    full = write(tmp_path, "full.txt", full_page(SITE_HEAD, SITE_FOOT, WIRE))
    trimmed = write(tmp_path, "trimmed.txt", full_page(OTHER_HEAD, OTHER_FOOT, WIRE[:3]))
    teaser = write(
        tmp_path,
        "teaser.txt",
        [
            "A link has been sent to your friend's email address.",
            "Facebook Email Twitter",
            HEADLINE,
            "Survey found the pier's iron piles corroded beyond repair and rebuilding them "
            "would cost an estimated 14 million pounds",
            "Post to Facebook",
            "Join the Conversation",
        ],
    )
    report = ingest([str(full), str(trimmed), str(teaser)], engine)
    assert report.failed == 0
    found = stories(engine)
    assert found["full.txt"] == found["trimmed.txt"] == found["teaser.txt"]
    with Session(engine) as session:
        methods = set(session.scalars(select(VersionLink.method)))
    assert "contained" in methods


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_write_thrus_end_in_one_story_in_any_order(
    engine: Engine, tmp_path: Path, order: tuple[int, ...]
) -> None:
    """An alert, the first full version and a write-thru with a new lead: each shares most of
    its text with the next, the alert little with the last."""
    versions = [
        [HEADLINE, *WIRE[:2]],
        full_page(SITE_HEAD, SITE_FOOT, WIRE[:6]),
        full_page(OTHER_HEAD, OTHER_FOOT, [LATER_LEAD, *WIRE[1:]]),
    ]
    paths = [write(tmp_path, f"v{i}.txt", lines) for i, lines in enumerate(versions)]
    for i in order:
        ingest([str(paths[i])], engine)
    assert len({stories(engine)[p.name] for p in paths}) == 1


def test_a_follow_up_that_retells_the_story_is_another_story(
    engine: Engine, tmp_path: Path
) -> None:
    full = write(tmp_path, "full.txt", full_page(SITE_HEAD, SITE_FOOT, WIRE))
    follow = write(
        tmp_path,
        "follow.txt",
        [*SITE_HEAD, "Ferry operator cuts winter crossings", *FOLLOW_UP, *SITE_FOOT],
    )
    ingest([str(full), str(follow)], engine)
    found = stories(engine)
    assert found["full.txt"] != found["follow.txt"]


def test_one_agency_photo_caption_does_not_link_two_stories(engine: Engine, tmp_path: Path) -> None:
    pier = write(tmp_path, "pier.txt", full_page(SITE_HEAD, SITE_FOOT, WIRE[:4]))
    other = write(
        tmp_path, "other.txt", [*SITE_HEAD, "Ferry operator cuts winter crossings", CAPTION,
                                *FOLLOW_UP[:3], *SITE_FOOT]
    )  # fmt: skip
    ingest([str(pier), str(other)], engine)
    found = stories(engine)
    assert found["pier.txt"] != found["other.txt"]
    with Session(engine) as session:
        bodies = session.scalars(select(Version.body)).all()
    assert all("AP Photo" not in body for body in bodies)


def test_walls_and_page_text_are_kept_but_never_linked(engine: Engine, tmp_path: Path) -> None:
    wall = ["To continue reading, create a free account or log in.", "Already a subscriber?"]
    first_wall = write(tmp_path, "wall-1.txt", wall)
    second_wall = write(tmp_path, "wall-2.txt", [*wall, "Sign in"])
    same_wall = write(tmp_path, "wall-3.txt", [*wall, ""])
    bullets = ["Daily briefing", *(f"- {p[:70]}" for p in WIRE[:3])]
    first_list = write(tmp_path, "list-1.txt", bullets)
    second_list = write(tmp_path, "list-2.txt", [*bullets, "- Weather: gales"])
    paths = [first_wall, second_wall, same_wall, first_list, second_list]
    report = ingest([str(p) for p in paths], engine)
    assert report.failed == 0
    assert report.versions_stored == 5
    assert report.boilerplate_only == 3 and report.page_text == 2
    assert "kept as page text" in report.summary()
    with Session(engine) as session:
        rows = session.execute(select(Version.source_path, Version.body_status, Version.body))
        status = {Path(path).name: (kind, body) for path, kind, body in rows}
        assert session.scalars(select(VersionLink)).all() == []
    assert status["wall-1.txt"][0] == "boilerplate-only"
    assert status["list-1.txt"][0] == "page-text"
    assert "Daily briefing" in status["list-1.txt"][1]
    assert len(set(stories(engine).values())) == 5
