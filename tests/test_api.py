"""The Python API (archive.api): articles from memory go down the pipeline of files and join the
stories files would; the read side answers as the commands do; the example script runs."""

from __future__ import annotations

import io
import json
import os
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from archive import Added, Archive, NewArticle, api, to_jsonable
from archive.api import ArchiveClosedError, NoArchiveError, content_sha256
from archive.commands.diff import diff_versions
from archive.commands.ingest import ingest
from archive.commands.queries import NotFoundError, archive_stats, list_stories, show_story
from archive.commands.search import search_versions
from archive.sources.htmlpage import extract_html
from archive.sources.parse import parse_file
from archive.sources.records import ParsedRecord
from archive.storage.models import IngestError, IngestRun, Story, Version

from .conftest import REPO, SAMPLES
from .module_db import module_database

# (version, story, method, matched version, distance, similarity, sentences, body status)
Evidence = tuple[Any, ...]


def corpus_articles() -> list[dict[str, Any]]:
    """The bundled samples as articles (each record as extracted, named by its file), and edited
    copies of those without a URL (as scrapers meet them: trimmed, with an editor's note and a
    typo, from other sites). Every article has a distinct source."""
    articles = []
    for path in sorted(SAMPLES.iterdir()):
        for number, result in enumerate(parse_file(path)):
            assert isinstance(result, ParsedRecord)
            found = result.article
            published = found.published_at.isoformat() if found.published_at else None
            articles.append(
                {
                    "source": f"{path.name.split('.')[0]}-{number}",
                    "title": found.title,
                    "body": found.body,
                    "url": found.url,
                    "site": found.site,
                    "published": published,
                }
            )
    copies = []
    for original in articles:
        if original["url"]:
            continue
        paragraphs = original["body"].split("\n\n")
        trimmed = "\n\n".join(paragraphs[: max(2, len(paragraphs) - 1)])
        noted = original["body"].replace(" the ", " teh ", 1) + "\n\nEditor's note: updated."
        for label, body, site in (
            ("trimmed", trimmed, "wire.test"),
            ("noted", noted, "daily.test"),
        ):
            copies.append(
                {
                    **original,
                    "source": f"{original['source']}-{label}",
                    "body": body,
                    "url": f"https://{site}/{original['source']}",
                    "site": site,
                }
            )
    return articles + copies


ARTICLES = corpus_articles()


def write_as_files(folder: Path, articles: list[dict[str, Any]]) -> dict[str, str]:
    """Each article as a JSON file, named so that a folder walk takes them in the list's order;
    the article name of each file's source path."""
    folder.mkdir(parents=True)
    names = {}
    for number, article in enumerate(articles):
        path = folder / f"{number:03d}.json"
        fields = {key: value for key, value in article.items() if key != "source"}
        path.write_text(json.dumps(fields), encoding="utf-8")
        names[str(path)] = article["source"]
    return names


def file_evidence(engine: Engine, names: dict[str, str]) -> dict[str, Evidence]:
    """What the archive stored for each file, by article name."""
    with Session(engine) as session:
        rows = session.execute(select(Version).order_by(Version.id)).scalars().all()
        return {
            names[v.source_path]: (
                v.id, v.story_id, v.match_method, v.matched_version_id, v.match_distance,
                v.match_similarity, v.match_sentences, v.body_status,
            )
            for v in rows
        }  # fmt: skip


def added_evidence(added: Added) -> Evidence:
    return (
        added.version_id, added.story_id, added.method, added.matched_version_id,
        added.distance, added.similarity, added.sentences, added.body_status,
    )  # fmt: skip


def stories_by_name(engine: Engine, names: dict[str, str] | None = None) -> set[frozenset[str]]:
    """The archive's stories as sets of article names (source paths, through ``names``)."""
    names = names or {}
    with Session(engine) as session:
        stories: dict[int, set[str]] = {}
        for path, story_id in session.execute(select(Version.source_path, Version.story_id)):
            stories.setdefault(story_id, set()).add(names.get(path, path))
    return {frozenset(story) for story in stories.values()}


def files_db(tmp_path: Path) -> Path:
    """A folder for the archive of the files, apart from the test's own archive."""
    folder = tmp_path / "files-archive"
    folder.mkdir()
    return folder


def kind_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgres"


@pytest.fixture
def filled(db_url: str) -> Iterator[Archive]:
    """An archive with the corpus added, for a test that reads or changes it."""
    with Archive(db_url) as archive:
        results = archive.add_many(ARTICLES)
        assert all(r.status == "stored" for r in results)
        yield archive


# -- adding: the same as files ---------------------------------------------------------------


def test_add_many_stores_what_ingesting_the_same_articles_as_files_stores(
    db_url: str, tmp_path: Path
) -> None:
    order = random.Random(7).sample(ARTICLES, len(ARTICLES))
    names = write_as_files(tmp_path / "files", order)
    with module_database(kind_of(db_url), files_db(tmp_path)) as (files_engine, _):
        report = ingest([str(tmp_path / "files")], files_engine, batch_size=5)
        assert report.failed == 0 and report.versions_stored == len(ARTICLES)
        expected = file_evidence(files_engine, names)
        file_stories = stories_by_name(files_engine, names)
    # Half the dates as datetimes: a datetime and its ISO string are the same date.
    given = [
        {**a, "published": datetime.fromisoformat(a["published"])}
        if a["published"] and n % 2
        else a
        for n, a in enumerate(order)
    ]
    with Archive(db_url) as archive:
        results = archive.add_many(given, batch_size=3)
        assert [r.source for r in results] == [a["source"] for a in order]
        assert {r.source: added_evidence(r) for r in results} == expected
        assert stories_by_name(archive.engine) == file_stories
    assert len(file_stories) < len(ARTICLES) and any(len(story) >= 3 for story in file_stories), (
        "the corpus has stories of several versions"
    )
    methods = {e[2] for e in expected.values()}
    assert {"new story", "exact", "near", "rewrite"} <= methods


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_add_many_in_any_order_makes_the_stories_of_the_files(
    sqlite_url: str, tmp_path: Path, seed: int
) -> None:
    names = write_as_files(tmp_path / "files", ARTICLES)
    with module_database("sqlite", files_db(tmp_path)) as (files_engine, _):
        assert ingest([str(tmp_path / "files")], files_engine).failed == 0
        file_stories = stories_by_name(files_engine, names)
    order = random.Random(seed).sample(ARTICLES, len(ARTICLES))
    with Archive(sqlite_url) as archive:
        for start in range(0, len(order), 10):  # several calls, as a feed comes in
            archive.add_many(order[start : start + 10], batch_size=4)
        assert stories_by_name(archive.engine) == file_stories


@pytest.mark.postgres
def test_add_many_in_another_order_makes_the_stories_of_the_files_on_postgres(
    postgres_url: str, tmp_path: Path
) -> None:
    names = write_as_files(tmp_path / "files", ARTICLES)
    with module_database("postgres", files_db(tmp_path)) as (files_engine, _):
        assert ingest([str(tmp_path / "files")], files_engine).failed == 0
        file_stories = stories_by_name(files_engine, names)
    with Archive(postgres_url) as archive:
        archive.add_many(list(reversed(ARTICLES)))
        assert stories_by_name(archive.engine) == file_stories


def test_added_articles_and_files_link_to_each_other(db_url: str) -> None:
    seed_ap = next(a for a in ARTICLES if a["source"] == "002_224e29597f2f497a-0")
    with Archive(db_url) as archive:
        first = archive.add({**seed_ap, "source": "scraper:ap-copy"})
        report = archive.ingest([str(SAMPLES)])
        assert report.failed == 0 and report.versions_stored == 11
        story = archive.story(first.story_id or 0)
        sources = {v.source_path: v for v in story.versions}
        # the file with the same text is an exact copy of the added article
        assert sources[str(SAMPLES / "002_224e29597f2f497a.txt")].method == "exact"
        assert sources[str(SAMPLES / "002_224e29597f2f497a.txt")].matched_version_id == (
            first.version_id
        )
        later = archive.add({**seed_ap, "source": "scraper:second-copy"})
        assert later.story_id == first.story_id and later.method == "exact"


# -- adding: idempotency, failures, HTML -----------------------------------------------------


def test_adding_again_adds_nothing_and_changed_content_is_a_new_version(db_url: str) -> None:
    articles = ARTICLES[:8]
    with Archive(db_url) as archive:
        first = archive.add_many(articles)
        again = archive.add_many(articles)
        assert [r.status for r in again] == ["archived"] * len(articles)
        # an archived article comes back as the version it is, evidence and all
        assert [added_evidence(r) for r in again] == [added_evidence(r) for r in first]
        changed = {**articles[0], "body": articles[0]["body"] + "\n\nThis story was updated."}
        update = archive.add(changed)
        assert update.status == "stored" and update.version_id not in {r.version_id for r in first}
        assert update.story_id == first[0].story_id and update.method == "near"
        twice = archive.add_many([{**articles[1], "source": "elsewhere"}] * 2)
        assert [r.status for r in twice] == ["stored", "archived"]
        assert twice[0].version_id == twice[1].version_id and twice[0].method == "exact"
        run_id = archive.run_id
        with Session(archive.engine) as session:
            assert session.scalar(select(func.count()).select_from(Version)) == len(articles) + 2
            run = session.get_one(IngestRun, run_id)
            assert (run.status, run.versions_stored, run.duplicates_skipped) == (
                "running",
                len(articles) + 2,
                len(articles) + 1,
            )
    with Session(archive_engine(db_url)) as session:
        run = session.get_one(IngestRun, run_id)
        assert run.status == "finished" and run.finished_at is not None
        assert run.paths == "(articles added from Python)"


def archive_engine(url: str) -> Engine:
    from archive.storage.db import make_engine

    return make_engine(url)


def test_a_bad_article_fails_alone_and_is_logged(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import archive.sources.jsonrecords

    real = archive.sources.jsonrecords.article_from_record

    def broken(record: object) -> Any:
        if isinstance(record, dict) and record.get("url") == "https://buggy.test/":
            raise RuntimeError("extractor bug")
        return real(record)

    monkeypatch.setattr(archive.sources.jsonrecords, "article_from_record", broken)
    good = ARTICLES[0]
    batch = [
        good,
        {"url": "https://empty.test/", "title": "Nothing", "body": "  \n "},
        {"title": "No source", "body": good["body"]},
        {**good, "source": "copy-of-the-first"},
        NewArticle(url="https://chrome.test/", html="<html><body><nav></nav></body></html>"),
        {"url": "https://buggy.test/", "body": good["body"]},
        {"url": "https://nul.test/", "title": "\x00", "body": "\x00\ud800"},
    ]
    with Archive(db_url) as archive:
        results = archive.add_many(batch, batch_size=4)
        assert [r.status for r in results] == [
            "stored", "failed", "failed", "stored", "failed", "failed", "failed",
        ]  # fmt: skip
        assert results[3].story_id == results[0].story_id and results[3].method == "exact"
        errors = {r.source: r.error for r in results if r.status == "failed"}
        assert errors["https://empty.test/"] == "no article text: the body is empty"
        assert errors["<article 2>"] == "no source: give the article a source or a url"
        assert errors["https://chrome.test/"] == "no article text found in the HTML"
        assert "RuntimeError('extractor bug')" in (errors["https://buggy.test/"] or "")
        assert errors["https://nul.test/"] == "no article text: none a database can store"
        with Session(archive.engine) as session:
            logged = dict(
                session.execute(
                    select(IngestError.source_path, IngestError.error).where(
                        IngestError.run_id == archive.run_id
                    )
                ).all()
            )
        assert logged == errors


def test_an_article_the_database_refuses_fails_alone(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import DataError

    from archive.linking import store

    real = store.BatchWriter.add

    def refusing(self: store.BatchWriter, record: ParsedRecord, *args: Any) -> Any:
        if record.source_path == "refused":
            raise DataError("INSERT ...", {}, ValueError("value out of range"))
        return real(self, record, *args)

    monkeypatch.setattr(store.BatchWriter, "add", refusing)
    articles = [ARTICLES[0], {**ARTICLES[1], "source": "refused"}, ARTICLES[2]]
    with Archive(db_url) as archive:
        results = archive.add_many(articles)
        assert [r.status for r in results] == ["stored", "failed", "stored"]
        assert results[1].error == "database error: DataError: value out of range"
        assert archive.stats().versions == 2 and archive.stats().ingest_errors == 1


def test_invalid_arguments_raise_clear_errors(sqlite_url: str) -> None:
    with Archive(sqlite_url) as archive:
        with pytest.raises(TypeError, match="unknown article field 'text'"):
            archive.add({"text": "body under another name", "url": "https://a.test/"})
        with pytest.raises(ValueError, match="a body or its page's html, not both"):
            archive.add(NewArticle(body="text", html="<p>text</p>", url="https://a.test/"))
        with pytest.raises(TypeError, match="title must be a string, not int"):
            archive.add({"title": 3, "body": "text", "url": "https://a.test/"})
        with pytest.raises(TypeError, match="published must be a datetime"):
            archive.add({"published": date(2024, 1, 1), "body": "x", "url": "https://a.test/"})
        with pytest.raises(TypeError, match="expected an article"):
            archive.add("https://a.test/")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="add_many takes an iterable of articles"):
            archive.add_many({"body": "text", "url": "https://a.test/"})
        with pytest.raises(ValueError, match="batch_size must be a positive integer"):
            archive.add_many([], batch_size=0)
        with pytest.raises(TypeError, match="story_id must be an integer id"):
            archive.story("1")  # type: ignore[arg-type]
        with pytest.raises(NotFoundError, match="no story 99"):
            archive.story(99)
        with pytest.raises(ValueError, match="nothing to search for"):
            archive.search("  ")
        with pytest.raises(ValueError, match="threshold must be between 0 and 1"):
            archive.relink(threshold=1.5)
        with pytest.raises(ValueError, match="since must be an ISO 8601 date"):
            archive.stories(since="last tuesday")
        with pytest.raises(TypeError, match="ingest takes a list of paths"):
            archive.ingest("samples")  # type: ignore[arg-type]
        assert archive.add_many([]) == []
    with pytest.raises(ArchiveClosedError):
        archive.stories()


PAGE = """<!doctype html>
<html><head><title>Tidal barrier approved | The Harbour Herald</title>
<meta property="og:site_name" content="The Harbour Herald">
<meta property="article:published_time" content="2024-03-12T18:00:00+00:00">
</head><body>
<nav><a href="/">Home</a> | <a href="/news">News</a> | <a href="/sport">Sport</a></nav>
<article><h1>Tidal barrier approved</h1>
{paragraphs}
</article>
<footer>© The Harbour Herald. All rights reserved. Subscribe to our newsletter.</footer>
</body></html>
"""


def page_of(body: str) -> str:
    paragraphs = "\n".join(f"<p>{p}</p>" for p in body.split("\n\n"))
    return PAGE.format(paragraphs=paragraphs)


def test_html_is_extracted_as_a_page_file_is_and_links_to_the_text(
    db_url: str, tmp_path: Path
) -> None:
    text = next(a for a in ARTICLES if a["source"] == "harbour-barrier-0")
    html = page_of(text["body"])
    (tmp_path / "page.html").write_text(html, encoding="utf-8")
    [from_file] = parse_file(tmp_path / "page.html")
    assert isinstance(from_file, ParsedRecord)
    with Archive(db_url) as archive:
        page = archive.add(NewArticle(html=html, url="https://www.harbourherald.test/barrier"))
        titled = archive.add(
            NewArticle(
                html=html,
                source="herald-print-edition",
                title="Barrier approved (print)",
                site="Herald Print",
                published="2024-03-13",
            )
        )
        body_copy = archive.add(text)
        assert [page.status, titled.status, body_copy.status] == ["stored"] * 3
        assert page.method == "new story" and titled.method == "exact"
        assert body_copy.story_id == page.story_id and body_copy.method in {"exact", "near"}
        [stored] = archive.versions(source="https://www.harbourherald.test/barrier")
        assert stored.format == "api-html"
        assert (stored.title, stored.site, stored.published_at) == (
            from_file.article.title,
            from_file.article.site,
            from_file.article.published_at,
        )
        [print_edition] = archive.versions(source="herald-print-edition")
        assert (print_edition.title, print_edition.site, print_edition.url) == (
            "Barrier approved (print)",
            "Herald Print",
            None,
        )
        assert print_edition.published_at == datetime(2024, 3, 13, tzinfo=UTC)
        with Session(archive.engine) as session:
            body = session.scalar(select(Version.body).where(Version.id == page.version_id))
        assert body == from_file.article.body == extract_html(html).body
        assert "Subscribe" not in (body or "") and "Sport" not in (body or "")


def test_content_hash_ignores_the_source_and_reads_datetimes_as_iso_strings() -> None:
    article = NewArticle(body="text", url="https://a.test/", published="2024-01-02T03:04:05")
    assert content_sha256(article) == content_sha256(
        NewArticle(
            body="text",
            url="https://a.test/",
            published=datetime(2024, 1, 2, 3, 4, 5),
            source="another name",
        )
    )
    assert content_sha256(article) != content_sha256(
        NewArticle(body="text!", url="https://a.test/")
    )


# -- the database: paths, URLs, runs ---------------------------------------------------------


def test_archive_takes_a_path_a_url_or_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ARCHIVE_DB", raising=False)
    for db, file in (
        ("news.db", tmp_path / "news.db"),
        (tmp_path / "sub.db", tmp_path / "sub.db"),
        (f"sqlite:///{tmp_path / 'url.db'}", tmp_path / "url.db"),
        (None, tmp_path / "archive.db"),
    ):
        with Archive(db) as archive:
            assert archive.stats().versions == 0  # migrated: the tables are there
        assert file.exists()
    monkeypatch.setenv("ARCHIVE_DB", str(tmp_path / "from-env.db"))
    with Archive() as archive:
        assert archive.url == f"sqlite:///{tmp_path / 'from-env.db'}"
        assert "from-env.db" in repr(archive)


def test_the_run_of_added_articles_is_marked_interrupted_or_failed(sqlite_url: str) -> None:
    for error, status in ((KeyboardInterrupt, "interrupted"), (RuntimeError, "failed")):
        with pytest.raises(error), Archive(sqlite_url) as archive:
            archive.add({**ARTICLES[0], "source": status})
            raise error
        with Session(archive_engine(sqlite_url)) as session:
            assert session.get_one(IngestRun, archive.run_id).status == status


def test_import_archive_is_cheap() -> None:
    probe = (
        "import sys, archive\n"
        "assert 'sqlalchemy' not in sys.modules and 'archive.api' not in sys.modules\n"
        "from archive import Archive\n"
        "heavy = {'trafilatura', 'numpy', 'archive.commands.ingest', 'archive.commands.queries'}"
        " & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


# -- reading ---------------------------------------------------------------------------------


def test_read_api_answers_as_the_library_functions_and_is_json(filled: Archive) -> None:
    engine = filled.engine
    stories = filled.stories(limit=None)
    assert stories == list_stories(engine, limit=None)
    assert len(stories) == len(stories_by_name(engine))
    copies = filled.stories(min_versions=2)
    assert copies and all(s.versions >= 2 for s in copies)
    assert {s.story_id for s in filled.stories(site="WIRE.test")} <= {s.story_id for s in copies}
    assert filled.stories(since=date(2100, 1, 1)) == []
    assert filled.stories(until="1900-01-01T00:00:00") == []
    assert len(filled.stories(limit=2)) == 2

    biggest = max(stories, key=lambda s: s.versions)
    detail = filled.story(biggest.story_id)
    assert detail == show_story(engine, biggest.story_id)
    assert len(detail.versions) == biggest.versions

    in_story = filled.versions(story_id=biggest.story_id)
    assert {v.version_id for v in in_story} == {v.version_id for v in detail.versions}
    assert all(v.story_id == biggest.story_id for v in in_story)
    assert [v.version_id for v in in_story] == sorted(
        (v.version_id for v in in_story), reverse=True
    )
    assert sum(v.is_canonical for v in in_story) == 1
    [one] = filled.versions(source="harbour-barrier-0")
    assert one.title.startswith("Harbour council approves")
    assert all(v.site == "daily.test" for v in filled.versions(site="DAILY.test", limit=None))
    assert len(filled.versions(limit=None)) == len(ARTICLES)

    hits = filled.search("tidal barrier")
    assert hits == search_versions(engine, "tidal barrier") and hits
    a, b = detail.versions[0].version_id, detail.versions[1].version_id
    assert filled.diff(a, b) == diff_versions(engine, a, b)
    assert filled.stats() == archive_stats(engine)
    assert filled.stats(top=1).biggest_stories[0].versions == biggest.versions

    for value in (stories, detail, in_story, hits, filled.diff(a, b), filled.stats()):
        json.dumps(to_jsonable(value))


def test_remove_and_relink_through_the_api(filled: Archive) -> None:
    before = stories_by_name(filled.engine)
    report = filled.relink()
    assert report.versions == len(ARTICLES) and report.versions_moved == 0
    assert stories_by_name(filled.engine) == before
    json.dumps(to_jsonable(report))
    [version] = filled.versions(source="harbour-barrier-0-trimmed")
    removal = filled.remove(version.version_id)
    assert removal.version_id == version.version_id and removal.story_id == version.story_id
    json.dumps(to_jsonable(removal))
    assert filled.versions(source="harbour-barrier-0-trimmed") == []
    with pytest.raises(NotFoundError):
        filled.remove(version.version_id)
    with Session(filled.engine) as session:
        assert session.get(Story, version.story_id) is not None


def test_what_the_command_line_needs_is_in_the_api(filled: Archive) -> None:
    """export, linked_stories, count_versions and relink's on_version: the calls `archive
    export`, `ingest` and `relink` are made of."""
    out = io.StringIO()
    summary = filled.export(out)
    lines = out.getvalue().splitlines()
    assert (summary.format, summary.stories, summary.versions) == (
        "jsonl",
        len(lines),
        len(ARTICLES),
    )
    assert sum(len(json.loads(line)["versions"]) for line in lines) == len(ARTICLES)
    out = io.StringIO()
    csv_summary = filled.export(out, format="csv", bodies=False)
    assert csv_summary.versions == len(out.getvalue().splitlines()) - 1 == len(ARTICLES)
    assert "body" not in out.getvalue().splitlines()[0].split(",")

    linked = filled.linked_stories(limit=100)
    assert linked and all(s.versions >= 2 and len(s.sources) == s.versions for s in linked)
    assert filled.run_id is not None
    assert filled.linked_stories(run_id=filled.run_id, limit=100) == linked
    assert filled.linked_stories(run_id=filled.run_id + 1) == []

    assert filled.count_versions() == len(ARTICLES)
    seen = []
    report = filled.relink(on_version=lambda: seen.append(1))
    assert len(seen) == report.versions == len(ARTICLES)


def test_an_archive_that_only_reads_is_never_created(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    with pytest.raises(NoArchiveError, match="no such file"):
        Archive(missing, create=False)
    assert not missing.exists()
    Archive(missing).close()
    with Archive(missing, create=False) as archive:
        assert archive.stories() == []


def test_parse_and_files_as_the_commands_read_them(sqlite_url: str) -> None:
    sample = SAMPLES / "harbour-barrier.txt"
    assert list(api.parse(sample)) == list(parse_file(sample))
    [from_bytes] = api.parse(sample.read_bytes(), name="<stdin>")
    [from_file] = parse_file(sample)
    assert isinstance(from_bytes, api.ParsedRecord) and isinstance(from_file, ParsedRecord)
    assert (from_bytes.source_path, from_bytes.article) == ("<stdin>", from_file.article)
    [failure] = api.parse(SAMPLES / "no-such-file.txt")
    assert isinstance(failure, api.ParseFailure) and failure.error

    every = list(api.files([SAMPLES]))
    assert sorted(every) == sorted(str(p) for p in SAMPLES.iterdir())
    halves = [list(api.files([SAMPLES], shard=f"{n}/2")) for n in (1, 2)]
    assert sorted(halves[0] + halves[1]) == sorted(every)
    with Archive(sqlite_url) as archive:
        report = archive.ingest([SAMPLES], shard=api.Shard(1, 2))
        assert report.files_seen == len(halves[0])
        stopped = archive.ingest([SAMPLES], batch_size=1, should_stop=lambda: True)
        assert stopped.interrupted and stopped.files_seen < len(every)
    with pytest.raises(ValueError, match="expected I/N"):
        list(api.files([SAMPLES], shard="half"))


# -- the example script and its documentation ------------------------------------------------

EXAMPLE = REPO / "scripts" / "add_feed.py"


def test_the_example_script_adds_a_feed_and_prints_the_stories_that_gained_a_version(
    tmp_path: Path,
) -> None:
    feed = tmp_path / "feed.jsonl"
    first, second = ARTICLES[:12], ARTICLES[12:]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    db = tmp_path / "news.db"

    def run(articles: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
        lines = [json.dumps({**a, "id": n, "author": "staff"}) for n, a in enumerate(articles)]
        feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return subprocess.run(
            [sys.executable, str(EXAMPLE), str(feed), "--db", str(db)],
            env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip

    result = run(first)
    assert result.returncode == 0, result.stderr
    assert f"{len(first)} stored" in result.stdout
    result = run(second + first[:2])
    assert result.returncode == 0, result.stderr
    assert f"{len(second)} stored" in result.stdout and "2 already archived" in result.stdout
    gained = [int(n) for n in re.findall(r"^story (\d+): ", result.stdout, re.M)]
    marked = {int(n) for n in re.findall(r"^  \+ (\d+) ", result.stdout, re.M)}
    with Archive(db) as archive:
        new_ids = {v.version_id for v in archive.versions(limit=len(second))}
        expected = set()
        for story in archive.stories(min_versions=2, limit=None):
            versions = {v.version_id for v in archive.story(story.story_id).versions}
            if versions & new_ids:
                expected.add(story.story_id)
                assert versions & new_ids <= marked
    assert gained and set(gained) == expected


def test_the_python_doc_shows_the_example_script_as_it_is() -> None:
    doc = (REPO / "docs" / "python.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", doc, re.S)
    assert EXAMPLE.read_text(encoding="utf-8") in blocks
