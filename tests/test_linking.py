"""Linking: copies and rewrites of one story join; shared chrome, events and quotes do not."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from simhash import Simhash
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from archive.commands.ingest import ingest
from archive.linking import match
from archive.sources.article import Article, BodyStatus
from archive.sources.parse import parse_file
from archive.sources.records import ParsedRecord
from archive.storage.db import open_archive
from archive.storage.models import Version, VersionLink
from archive.text import align
from archive.text.fingerprint import features

from .conftest import SAMPLES, SEEDS

SPUN, SCRAPED = (str(p) for p in SEEDS)  # 000_ is the spun rewrite, 002_ the scraped copy
BARRIER = SAMPLES / "harbour-barrier.txt"
LIBRARIES = SAMPLES / "library-closures.txt"

# One site's page chrome, prose-like footer included, around any article: the trap of
# different stories that share a template.
CHROME_HEAD = [
    "Skip to main content",
    "The Portwell Packet | News | Sport | Business | Opinion | Weather",
    "News › Local",
]
CHROME_FOOT = [
    "Share this article: Facebook | X | Email",
    "Most read",
    "- Lifeboat crew rescue two walkers cut off by tide at Gwithian",
    "- Police appeal after quad bike stolen from Trevarno farm",
    "- Harbour master warns of gales as storm season begins early",
    "- School inspectors praise Penhallow primary turnaround",
    "The Portwell Packet is an independent newspaper serving the harbour towns of the west "
    "coast since 1894, owned by its readers' trust and edited in Portwell.",
    "Our journalists follow the editors' code of practice; complaints about our coverage go "
    "to the readers' editor, who answers every letter within fourteen days.",
    "© The Portwell Packet 2024. All rights reserved.",
]
OTHER_CHROME_HEAD = ["West Coast Wire", "Home > Regional news"]
OTHER_CHROME_FOOT = ["Related: Ferry timetable changes for winter", "Contact us | Privacy"]


def page(article_file: Path, head: list[str], foot: list[str]) -> str:
    title, body = article_file.read_text(encoding="utf-8").split("\n", 1)
    return "\n".join([*head, title, "By Staff Reporter", "12 March 2024", body.strip(), *foot])


def story_of(engine: Engine, path: Path | str) -> int:
    with Session(engine) as session:
        return session.scalars(
            select(Version.story_id).where(Version.source_path == str(path))
        ).one()


def test_the_seed_rewrite_is_linked_to_the_scraped_copy_as_a_rewrite(engine: Engine) -> None:
    ingest(SEEDS, engine)
    assert story_of(engine, SPUN) == story_of(engine, SCRAPED)
    with Session(engine) as session:
        link = session.scalars(select(VersionLink)).one()
        assert link.method == "rewrite"
        assert 0.3 <= link.similarity < 0.5
        assert link.sentences is not None and link.sentences >= 0.8


def test_different_stories_in_the_same_site_chrome_stay_apart(
    engine: Engine, tmp_path: Path
) -> None:
    barrier_page = tmp_path / "packet-barrier.txt"
    libraries_page = tmp_path / "packet-libraries.txt"
    barrier_page.write_text(page(BARRIER, CHROME_HEAD, CHROME_FOOT), encoding="utf-8")
    libraries_page.write_text(page(LIBRARIES, CHROME_HEAD, CHROME_FOOT), encoding="utf-8")
    elsewhere = tmp_path / "wire-barrier.txt"
    elsewhere.write_text(page(BARRIER, OTHER_CHROME_HEAD, OTHER_CHROME_FOOT), encoding="utf-8")
    ingest([str(barrier_page), str(libraries_page), str(elsewhere)], engine)
    assert story_of(engine, barrier_page) != story_of(engine, libraries_page)
    assert story_of(engine, barrier_page) == story_of(engine, elsewhere)


def test_a_report_of_the_same_event_by_another_outlet_is_another_story(engine: Engine) -> None:
    feed = SAMPLES / "regional-feed.jsonl"
    ingest([str(BARRIER), str(feed)], engine)
    # record 2 of the feed reports the same council vote from the fishermen's side
    assert story_of(engine, BARRIER) != story_of(engine, f"{feed}#2")


def test_a_post_quoting_two_paragraphs_of_an_article_is_not_a_version_of_it(
    engine: Engine, tmp_path: Path
) -> None:
    paragraphs = BARRIER.read_text(encoding="utf-8").split("\n\n")
    commentary = [
        "Why Portwell's barrier vote should worry every small port",
        "I have lived beside this harbour for forty years, and I have never seen the town so "
        "divided over a piece of engineering.",
        "Here is how our local paper reported the decision this week:",
        paragraphs[1],
        paragraphs[3],
        "What the report does not say is that nobody has modelled what happens to the shingle "
        "banks outside the breakwaters once the gates start closing every spring.",
        "Other towns along this coast tried tidal gates in the nineteen-seventies, and most of "
        "them quietly removed them within a generation because dredging bills kept rising.",
        "The council owes residents a public inquiry before a single pile is driven, and the "
        "harbour trust should publish the engineers' full silt study without delay.",
        "Until then my own advice to the fishermen is simple: keep organising, keep writing "
        "letters, and keep turning up to every planning meeting on the quay.",
    ]
    post = tmp_path / "blog-post.txt"
    post.write_text("\n\n".join(commentary) + "\n", encoding="utf-8")
    ingest([str(BARRIER), str(post)], engine)
    assert story_of(engine, BARRIER) != story_of(engine, post)


def partition(engine: Engine) -> set[frozenset[str]]:
    stories: dict[int, set[str]] = {}
    with Session(engine) as session:
        for path, story_id in session.execute(select(Version.source_path, Version.story_id)):
            stories.setdefault(story_id, set()).add(path)
    return {frozenset(paths) for paths in stories.values()}


def test_the_same_files_in_any_order_end_in_the_same_stories(tmp_path: Path) -> None:
    folder = tmp_path / "inputs"
    shutil.copytree(SAMPLES, folder)
    (folder / "packet-barrier.txt").write_text(page(BARRIER, CHROME_HEAD, CHROME_FOOT), "utf-8")
    (folder / "packet-libraries.txt").write_text(page(LIBRARIES, CHROME_HEAD, CHROME_FOOT), "utf-8")
    files = sorted(str(p) for p in folder.iterdir())
    orders = [files, files[::-1], random.Random(7).sample(files, len(files))]
    partitions = []
    for number, order in enumerate(orders):
        engine = open_archive(f"sqlite:///{tmp_path / f'order{number}.db'}")
        # one file per batch, so each file is matched against exactly those ingested before it
        ingest(order, engine, batch_size=1)
        partitions.append(partition(engine))
        engine.dispose()
    assert partitions[0] == partitions[1] == partitions[2]
    assert any(len(story) >= 3 for story in partitions[0])  # the seed story and its copies


def test_the_stored_simhash_is_the_simhash_package_value_of_the_documented_features() -> None:
    text = Path(SCRAPED).read_text(encoding="utf-8")
    article = Article(title="t", body=text)
    assert match.fingerprint(article).simhash == Simhash(features(article)).value
    weights = dict(features(article))
    assert "the" not in weights  # the commonest words weigh nothing
    assert weights["pyongyang"] > weights["russia"] > weights["said"]


sentences = st.lists(
    st.sampled_from(
        [
            "Councillors in Portwell approved the barrier on Tuesday.",
            "The gates will close twelve times a year.",
            "Fishermen fear silt in the inner basin.",
            "Construction starts next spring and lasts three years.",
            "The government pays £28m of the cost.",
            "Kim Jong Un met Vladimir Putin in Vladivostok.",
        ]
    ),
    max_size=8,
)


@settings(max_examples=60)
@given(sentences, sentences)
def test_comparisons_do_not_depend_on_which_body_comes_first(a: list[str], b: list[str]) -> None:
    first, second = align.profile(" ".join(a)), align.profile(" ".join(b))
    assert align.overlap(first, second) == align.overlap(second, first)
    assert align.correspondence(first, second) == align.correspondence(second, first)


def test_a_body_corresponds_wholly_to_itself() -> None:
    body = BARRIER.read_text(encoding="utf-8").split("\n", 1)[1]
    own = align.profile(body)
    assert align.overlap(own, own) == 1.0
    assert align.correspondence(own, own) == align.Correspondence(1.0, 1.0, 1.0)


@settings(max_examples=80)
@given(sentences, sentences)
def test_the_overlap_ceiling_is_never_below_the_overlap(a: list[str], b: list[str]) -> None:
    new, stored = align.profile(" ".join(a)), " ".join(b)
    ceiling = align.overlap_ceiling(new, align.distinct_words(stored))
    assert ceiling >= align.overlap(new, align.lazy_profile(stored))


_fresh_ids = iter(range(10**9, 2 * 10**9))


@settings(max_examples=60)
@given(sentences, sentences)
def test_stored_words_rule_out_exactly_what_the_stored_body_rules_out(
    a: list[str], b: list[str]
) -> None:
    new = match.fingerprint(Article(title="", body=" ".join(a)))
    body = " ".join(b)
    stored = match.fingerprint(Article(title="", body=body))
    words = align.unpacked_words(stored.words)
    assert sorted(words) == sorted(align.distinct_words(body)) == words
    assert align.overlap_ceiling(new.profile, words) == align.overlap_ceiling(
        new.profile, align.distinct_words(body)
    )
    candidate = match.Candidate(next(_fresh_ids), 1, stored.simhash, stored.body_sha256, body=body)
    for threshold in (None, 0.2):
        match._profiles.clear()  # a profile cached by an earlier example skips the check
        least = match.least_overlap(threshold)
        by_body = match.candidate_profile(new, candidate, least)
        assert match.ruled_out(new, words, least) == (by_body is None)


def test_a_body_that_is_never_compared_has_no_words() -> None:
    wall = Article(title="", body="Subscribe to read.", body_status=BodyStatus.BOILERPLATE_ONLY)
    assert match.fingerprint(wall).words == ""
    assert align.unpacked_words("") == []


@settings(max_examples=40)
@given(sentences, sentences)
def test_a_stored_body_gets_the_verdict_its_profile_gets(a: list[str], b: list[str]) -> None:
    new = match.fingerprint(Article(title="", body=" ".join(a)))
    stored = match.fingerprint(Article(title="", body=" ".join(b)))
    as_body = match.Candidate(
        next(_fresh_ids), 1, stored.simhash, stored.body_sha256, body=" ".join(b)
    )
    as_profile = match.Candidate(
        as_body.version_id, 1, stored.simhash, stored.body_sha256, profile=stored.profile
    )
    assert match.verify(new, as_body) == match.verify(new, as_profile)
    assert match.verify(new, as_body, threshold=0.2) == match.verify(new, as_profile, threshold=0.2)


def test_the_spun_seed_is_verified_from_its_stored_body() -> None:
    spun_article, scraped_article = (_article(path) for path in (SPUN, SCRAPED))
    spun = match.fingerprint(spun_article)
    candidate = match.Candidate(
        next(_fresh_ids), 1, spun.simhash, spun.body_sha256, body=spun_article.body
    )
    verdict = match.verify(match.fingerprint(scraped_article), candidate)
    assert verdict is not None and verdict.method == match.REWRITE


def _article(path: str) -> Article:
    (record,) = parse_file(path)
    assert isinstance(record, ParsedRecord)
    return record.article
