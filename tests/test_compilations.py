"""Compilation pages (live blogs, "The Latest", digests, aggregator topic pages) are their own
stories: snapshots of one compilation link to each other, never to the articles they quote.
Every page here is invented for the test, in the shape scraped pages take."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from archive.commands.ingest import ingest
from archive.sources.article import BodyStatus
from archive.sources.compilation import is_compilation, is_time_stamp
from archive.sources.htmlpage import extract_html
from archive.sources.jsonrecords import article_from_record
from archive.sources.textdump import extract_text
from archive.storage.models import Version
from tests.test_real_pages import FOLLOW_UP, HEADLINE, SITE_FOOT, SITE_HEAD, WIRE, stories, write

OTHER_ENTRIES = [
    "Kestrel Lines says its first crossing from the Sandholme freight quay left on time on "
    "Wednesday morning, with forty passengers aboard and the mayor among them.",
    "The national transport fund says it has not yet received a request from Westmere "
    "council, and that any grant for a new pier would take at least a year to decide.",
    "Police in Westmere say two people were arrested after a scuffle outside the Quayside "
    "Hall as the harbour board left its meeting on Tuesday night.",
    "The Westmere chamber of commerce says shops near the old pier have lost half their trade "
    "since the crossings stopped, and asks for a rates holiday for the summer.",
]


def latest_page(entries: list[tuple[str, str]]) -> list[str]:
    """An AP-style "The Latest" page: newest entry first, each under its time stamp."""
    lines = [
        *SITE_HEAD,
        "The Latest: Westmere islanders protest pier closure",
        "The Latest on the closure of the Westmere ferry pier (all times local):",
    ]
    for stamp, paragraph in entries:
        lines += [stamp, paragraph]
    return [*lines, *SITE_FOOT]


EARLY_ENTRIES = [("9:40 a.m.", OTHER_ENTRIES[2]), ("8:15 a.m.", WIRE[0]), ("8:05 a.m.", WIRE[1])]
LATE_ENTRIES = [
    ("2:30 p.m.", OTHER_ENTRIES[3]),
    ("1:10 p.m.", OTHER_ENTRIES[1]),
    ("11:55 a.m.", OTHER_ENTRIES[0]),
    *EARLY_ENTRIES,
]


@pytest.mark.parametrize(
    "line",
    [
        "3:15 p.m.",
        "10:32 AM ET",
        "Updated 14:05 GMT",
        "Wednesday, June 5, 2024, 3:15 PM EDT",
        "The Coast Courier · 15m ago",
        "3 hours ago",
        "vor 2 Stunden",
        "il y a 3 heures",
        "3 часа назад",
        "3小时前",
    ],
)
def test_time_stamp_lines_are_recognised(line: str) -> None:
    assert is_time_stamp(line)


@pytest.mark.parametrize(
    "line",
    [
        "It was 3:15 p.m. when the board took its vote on the pier.",
        HEADLINE,
        "2024",
        "Ferry fares rise by 3% from June, the operator says, after a year of losses.",
    ],
)
def test_sentences_and_headlines_are_not_time_stamps(line: str) -> None:
    assert not is_time_stamp(line)


@pytest.mark.parametrize(
    "title",
    [
        "The Latest: Westmere islanders protest pier closure",
        "LIVE: Westmere pier vote",
        "Westmere pier closure - live updates",
        "Pier vote as it happened",
        "Your morning briefing: pier, fares and the weather",
        "En direct : la fermeture du port",
        "Прямой эфир: закрытие пирса",
    ],
)
def test_titles_that_name_a_compilation(title: str) -> None:
    assert is_compilation(title, [], ["A paragraph."])


@pytest.mark.parametrize(
    "title",
    [
        HEADLINE,
        "White House press briefing turns to the Westmere pier",
        "ROUNDUP 2-Westmere pier to close for good",
        "Live Nation buys the Westmere concert hall",
        "Breaking: Westmere pier to close for good",
        "Five things to know about the Westmere pier vote",
    ],
)
def test_article_titles_are_not_compilation_titles(title: str) -> None:
    assert not is_compilation(title, [], ["A paragraph."])


def test_a_sidebar_of_dated_headlines_beside_an_article_leaves_it_an_article() -> None:
    sidebar = [
        "Latest",
        "Ferry fares rise in spring",
        "15m ago",
        "Carrow bridge to close for repairs",
        "24m ago",
        "Gales expected on the coast",
        "40m ago",
    ]
    page = extract_text("\n".join([*sidebar, HEADLINE, *WIRE, *SITE_FOOT]))
    assert page.body_status is BodyStatus.ARTICLE
    assert page.body.startswith(WIRE[0])


def test_a_live_blog_page_is_a_compilation() -> None:
    page = extract_text("\n".join(latest_page(LATE_ENTRIES)))
    assert page.body_status is BodyStatus.COMPILATION
    assert WIRE[0] in page.body and OTHER_ENTRIES[3] in page.body


def test_entries_among_time_stamps_make_a_compilation_whatever_the_title() -> None:
    lines = ["Westmere pier: what happened on Tuesday"]
    for stamp, paragraph in LATE_ENTRIES:
        lines += [stamp, paragraph]
    assert extract_text("\n".join(lines)).body_status is BodyStatus.COMPILATION


def test_an_aggregator_topic_page_is_a_compilation() -> None:
    lines = ["News", "Full coverage", "Westmere ferry pier"]
    for site, headline in [
        ("The Coast Courier", HEADLINE + " after a survey finds its piles corroded"),
        ("The Island Gazette", "Islanders shout at board members as the pier vote goes through"),
        ("Harbour Times", "Kestrel Lines to move its two ferries to the Sandholme freight quay"),
        ("North Sea Post", "Westmere council will ask the national transport fund for a new pier"),
    ]:
        lines += [headline, site, "3 hours ago"]
    page = extract_text("\n".join(lines))
    assert page.body_status in (BodyStatus.COMPILATION, BodyStatus.PAGE_TEXT)


def test_a_live_blog_in_html_is_marked_by_its_schema_type() -> None:
    html = (
        "<html><head><title>Westmere pier vote</title>"
        '<script type="application/ld+json">{"@context": "https://schema.org", '
        '"@type": "LiveBlogPosting", "headline": "Westmere pier vote"}</script></head><body>'
        "<article><h1>Westmere pier vote</h1>"
        + "".join(f"<p>{paragraph}</p>" for paragraph in WIRE)
        + "</article></body></html>"
    )
    assert extract_html(html).body_status is BodyStatus.COMPILATION


def test_a_json_record_titled_as_live_updates_is_a_compilation() -> None:
    record = {"title": "Westmere pier vote: live updates", "text": "\n\n".join(WIRE)}
    assert article_from_record(record).body_status is BodyStatus.COMPILATION


@pytest.mark.parametrize("compilations_first", [False, True])
def test_a_live_blog_never_joins_the_article_it_quotes_and_its_snapshots_join_each_other(
    engine: Engine, tmp_path: Path, compilations_first: bool
) -> None:
    article = write(tmp_path, "article.txt", [*SITE_HEAD, HEADLINE, *WIRE, *SITE_FOOT])
    follow = write(tmp_path, "follow.txt", [HEADLINE, *FOLLOW_UP])
    early = write(tmp_path, "latest-early.txt", latest_page(EARLY_ENTRIES))
    late = write(tmp_path, "latest-late.txt", latest_page(LATE_ENTRIES))
    articles, compilations = [article, follow], [early, late]
    order = compilations + articles if compilations_first else articles + compilations
    report = ingest([str(path) for path in order], engine)
    assert report.failed == 0
    found = stories(engine)
    assert found["latest-early.txt"] == found["latest-late.txt"]
    assert found["article.txt"] != found["latest-early.txt"]
    assert found["follow.txt"] not in (found["article.txt"], found["latest-early.txt"])
    with Session(engine) as session:
        rows = session.execute(select(Version.source_path, Version.body_status))
        status = {path: kind for path, kind in rows}
    assert {status[str(early)], status[str(late)]} == {"compilation"}


def test_identical_bodies_of_an_article_and_a_compilation_stay_apart(
    engine: Engine, tmp_path: Path
) -> None:
    """The whole article as the only entry of a digest: the same body, another kind of page."""
    body = "\n\n".join(WIRE)
    records = [
        {"title": HEADLINE, "text": body, "url": "https://courier.example/pier"},
        {"title": "Your morning briefing", "text": body, "url": "https://courier.example/brief"},
    ]
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(json.dumps(record) for record in records) + "\n", encoding="utf-8")
    report = ingest([str(feed)], engine)
    assert report.failed == 0 and report.versions_stored == 2
    with Session(engine) as session:
        assert len(set(session.scalars(select(Version.story_id)))) == 2


def test_a_digest_that_opens_with_a_whole_article_does_not_join_it(
    engine: Engine, tmp_path: Path
) -> None:
    article = write(tmp_path, "article.txt", [*SITE_HEAD, HEADLINE, *WIRE, *SITE_FOOT])
    digest = write(
        tmp_path,
        "digest.txt",
        [*SITE_HEAD, "Your morning briefing: the pier, the fund and the chamber", *WIRE,
         *OTHER_ENTRIES, *SITE_FOOT],
    )  # fmt: skip
    ingest([str(article), str(digest)], engine)
    found = stories(engine)
    assert found["article.txt"] != found["digest.txt"]


def test_the_ingest_summary_counts_compilations(engine: Engine, tmp_path: Path) -> None:
    late = write(tmp_path, "latest-late.txt", latest_page(LATE_ENTRIES))
    report = ingest([str(late)], engine)
    assert report.compilations == 1
    assert "1 compilation," in report.summary()
