"""Hostile and broken input: every bad file or record is one logged failure with a clear reason,
every good file and record around it is ingested, memory stays bounded, the exit code says so.

The corpus is generated here (nothing large is committed): binary files, broken encodings,
damaged containers, a 100 MB text, a 10 MB line, special files, links and odd file names.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive.cli import main
from archive.commands.ingest import ingest
from archive.config import MEGABYTE, max_article_bytes
from archive.sources.parse import parse_bytes, parse_file
from archive.sources.records import ParsedRecord, ParseFailure
from archive.sources.walk import walk as collect_files
from archive.storage.models import IngestError, IngestRun, Story, Version

from .conftest import REPO
from .rows import index_postings

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
PLACES = [
    "Ashcombe", "Brindleford", "Calverley", "Dunmore", "Eastwick", "Fernhill", "Glenbrook",
    "Harrowgate", "Ivybridge", "Jarrow", "Kestle", "Longridge", "Marsden", "Netherby",
    "Oakhampton", "Pendle", "Quarrington", "Redmire", "Stanwick", "Thornbury", "Upwey",
    "Wexcombe", "Yarrowby", "Zennor", "Alderley", "Bramcote", "Chilton", "Dorrington",
]  # fmt: skip
HUGE_FILE_MB = 100
LONG_LINE_MB = 10
# The ingest of the 100 MB inputs may grow memory by this much at most: far below what reading
# any of them whole would take, far above what streaming them takes (a few tens of MB).
MEMORY_BOUND_MB = 600


def article(n: int) -> tuple[str, str]:
    """A headline and three paragraphs of news prose, different for each ``n``."""
    place = PLACES[n % len(PLACES)]
    title = f"{place} council approves plan number {n} for the flooded riverside"
    body = "\n\n".join(
        [
            f"Councillors in {place} voted on Tuesday to approve plan number {n}, a package of "
            "flood defences for the riverside streets that were under water twice last winter.",
            f"The scheme for {place} includes raised walkways, new pumps beside the old mill and "
            "a grant for households that need to move their boilers upstairs.",
            f"Residents of {place} who attended the meeting said plan {n} was overdue, and asked "
            "the council to publish a timetable before the autumn rains arrive.",
        ]
    )
    return title, body


def article_text(n: int) -> str:
    title, body = article(n)
    return f"{title}\n\n{body}\n"


def html_page(n: int) -> str:
    title, body = article(n)
    paragraphs = "".join(f"<p>{p}</p>" for p in body.split("\n\n"))
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title></head><body>"
        "<nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
        f"<article><h1>{title}</h1>{paragraphs}</article></body></html>"
    )


def warc_bytes(pages: list[int], *, compress: bool) -> bytes:
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=compress)
    writer.write_record(writer.create_warcinfo_record("crawl.warc", {"software": "tests"}))
    for n in pages:
        headers = StatusAndHeaders(
            "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
        )
        writer.write_record(
            writer.create_warc_record(
                f"https://news.example/{n}",
                "response",
                payload=io.BytesIO(html_page(n).encode()),
                http_headers=headers,
            )
        )
    return buffer.getvalue()


def write_repeated(
    path: Path, unit: bytes, size: int, *, head: bytes = b"", tail: bytes = b""
) -> None:
    """A file of ``head``, then ``unit`` repeated to ``size`` bytes, then ``tail``, written in
    chunks so the test itself never holds it."""
    chunk = unit * max(1, MEGABYTE // len(unit))
    with path.open("wb") as out:
        out.write(head)
        written = 0
        while written < size:
            piece = chunk[: size - written]
            out.write(piece)
            written += len(piece)
        out.write(tail)


def gzip_bomb(path: Path, size: int) -> None:
    """A small gzip file that decompresses to ``size`` bytes of text: one compressed megabyte
    written again and again (a gzip file may hold any number of members)."""
    member = gzip.compress(b"All work and no play makes a dull article. " * 23_000)
    with path.open("wb") as out:
        for _ in range(size // (43 * 23_000) + 1):
            out.write(member)


MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02\x00\x00\x00"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"


@dataclass
class Corpus:
    """The generated folder and what ingesting it must give."""

    root: Path
    huge: Path
    versions: set[str] = field(default_factory=set)  # source paths that must become versions
    failures: dict[str, str] = field(default_factory=dict)  # source path -> words of its error
    quiet: set[str] = field(default_factory=set)  # entries that give neither (link loops back)

    def good(self, name: str, content: bytes | str) -> Path:
        path = self._write(name, content)
        self.versions.add(str(path))
        return path

    def bad(self, name: str, content: bytes | str, reason: str) -> Path:
        path = self._write(name, content)
        self.failures[str(path)] = reason
        return path

    def _write(self, name: str | bytes, content: bytes | str) -> Path:
        path = Path(os.fsdecode(os.path.join(os.fsencode(self.root), os.fsencode(name))))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path


def build_corpus(root: Path, outside: Path, huge: Path) -> Corpus:
    corpus = Corpus(root=root, huge=huge)
    corpus.failures[str(huge)] = f"file too large: {HUGE_FILE_MB:.1f} MB > 5 MB limit"

    # good files in every format and encoding
    corpus.good("plain.txt", article_text(0))
    corpus.good("page.html", html_page(1))
    corpus.good("record.json", json.dumps({"headline": article(2)[0], "text": article(2)[1]}))
    corpus.good("gzipped.txt.gz", gzip.compress(article_text(3).encode()))
    corpus.good(
        "encodings/latin-1.txt", article_text(4).replace("council", "café").encode("latin-1")
    )
    cp1252 = article_text(5).replace("plan", "\u201cplan\u201d").replace("grant", "\u20ac5 grant")
    corpus.good("encodings/windows-1252.txt", cp1252.encode("cp1252"))
    corpus.good("encodings/utf-16-bom.txt", article_text(6).encode("utf-16"))
    corpus.good("encodings/utf-16-no-bom.txt", article_text(7).encode("utf-16-le"))
    wide = corpus._write(
        "encodings/utf-16-bom.jsonl", json.dumps({"text": article(8)[1]}).encode("utf-16")
    )
    corpus.versions.add(f"{wide}#0")
    # valid UTF-8 with a cut-off character and a stray byte: kept, with U+FFFD in their place
    invalid = article_text(9).replace("raised", "r\u00e4ised \u00e9t\u00e9 \u2014").encode()
    corpus.good(
        "encodings/invalid-utf-8.txt", invalid.replace(b"walkways", b"walk\xe2\x80ways\xff")
    )

    # file names: spaces, a newline, non-ASCII, bytes that are not UTF-8
    corpus.good("names/name with spaces.txt", article_text(10))
    corpus.good("names/new\nline.txt", article_text(11))
    corpus.good("names/ünïcödé — 日本語 ✓.txt", article_text(12))
    raw_name = corpus._write(b"names/latin-1 \xe9t\xe9.txt", article_text(13))
    corpus.versions.add(str(raw_name.parent / "latin-1 \\xe9t\\xe9.txt"))

    # a line of 10 MB is over the limit; one of 1 MB is read and ingested like any text
    sentence = b"Rain fell on the quiet northern moors while shepherds gathered the flock. "
    write_repeated(root / "long-line.txt", sentence, LONG_LINE_MB * MEGABYTE, tail=b"\n")
    corpus.failures[str(root / "long-line.txt")] = "file too large: 10.0 MB > 5 MB limit"
    write_repeated(root / "one-line.txt", sentence, MEGABYTE, tail=b"\n")
    corpus.versions.add(str(root / "one-line.txt"))
    # nested past every parser's depth limit: the text is still found
    deep = "<div>" * 5000 + "".join(f"<p>{p}</p>" for p in article(14)[1].split("\n\n"))
    corpus.good("deep.html", f"<html><body>{deep}{'</div>' * 5000}</body></html>")

    # containers: good records around bad ones
    feed = corpus.root / "feed.jsonl"
    lines = [
        json.dumps({"title": article(15)[0], "text": article(15)[1]}),
        '{"title": "cut short", "text": "The line ends',
        json.dumps({"title": article(16)[0], "text": article(16)[1]}),
        json.dumps({"title": "no body", "url": "https://news.example/empty"}),
        # NUL (which PostgreSQL text refuses) and a lone surrogate (which no driver encodes)
        json.dumps({"title": "Nul\u0000 and \ud800 surrogate", "text": article(17)[1] + "\u0000"}),
        "[" * 100_000,
    ]
    feed.write_text("\n".join(lines) + "\n")
    corpus.versions |= {f"{feed}#0", f"{feed}#2", f"{feed}#4"}
    corpus.failures[f"{feed}#1"] = "invalid JSON on line 2"
    corpus.failures[f"{feed}#3"] = "record has no article text"
    corpus.failures[f"{feed}#5"] = "invalid JSON on line 6: nested too deeply"
    lines = [json.dumps({"title": article(n)[0], "text": article(n)[1]}) for n in (28, 29, 30)]
    cut_feed = gzip.compress("\n".join(lines).encode())
    cut_feed = corpus.bad("truncated.jsonl.gz", cut_feed[:-20], "damaged gzip file: truncated")
    corpus.versions |= {f"{cut_feed}#0", f"{cut_feed}#1"}  # the lines before the cut
    crawl = corpus._write("crawl.warc.gz", warc_bytes([18, 19], compress=True))
    corpus.versions |= {f"{crawl}#1", f"{crawl}#2"}
    cut = warc_bytes([20, 21], compress=True)
    cut_gz = corpus.bad("truncated.warc.gz", cut[: len(cut) - 300], "truncated")
    corpus.versions.add(f"{cut_gz}#1")
    cut = warc_bytes([22, 23], compress=False)
    cut_warc = corpus.bad(
        "truncated.warc", cut[: len(cut) - 300], "truncated WARC file: record 2 is cut short"
    )
    corpus.versions.add(f"{cut_warc}#1")

    # bad files
    corpus.bad("empty.txt", b"", "empty file")
    corpus.bad("blank.html", " \n\t\n", "empty file")
    corpus.bad("image.png", PNG + os.urandom(2000), "binary file (PNG image)")
    corpus.bad("photo.jpg", JPEG + os.urandom(2000), "binary file (JPEG image)")
    corpus.bad("document.pdf", MINIMAL_PDF, "binary file (PDF document)")
    corpus.bad("urandom.txt", os.urandom(64 * 1024), "binary file")
    corpus.bad("urandom.jsonl", b"\x00" + os.urandom(4096), "binary file")
    # a page whose only text is a menu link is kept (as boilerplate-only), not refused
    corpus.good(
        "no-text.html",
        "<html><head><script>var x = 1;</script></head><body><nav><a href='/'>Home</a></nav>"
        "<div class='ad'></div></body></html>",
    )
    corpus.bad(
        "script-only.html",
        "<html><head><script>var x = 1;</script></head><body><div class='ad'></div></body></html>",
        "no article text found in this html file",
    )
    corpus.bad("malformed.json", '{"title": "x", "text": "unterminated', "invalid JSON")
    corpus.bad("nested.json", "[" * 100_000, "invalid JSON: nested too deeply")
    corpus.bad(
        "truncated.txt.gz",
        gzip.compress(article_text(24).encode())[:-30],
        "damaged gzip file: truncated",
    )
    bomb = corpus.root / "bomb.txt.gz"
    gzip_bomb(bomb, 100 * MEGABYTE)
    corpus.failures[str(bomb)] = "file too large: over 5 MB once decompressed"

    # things that are not regular files, and links
    os.mkfifo(corpus.root / "fifo.txt")
    corpus.failures[str(corpus.root / "fifo.txt")] = "not a regular file: a named pipe"
    if _make_socket(corpus.root / "socket.txt"):
        corpus.failures[str(corpus.root / "socket.txt")] = "not a regular file: a socket"
    (corpus.root / "dangling.txt").symlink_to("no-such-file.txt")
    corpus.failures[str(corpus.root / "dangling.txt")] = "broken symbolic link"
    (corpus.root / "loop-a.txt").symlink_to("loop-b.txt")
    (corpus.root / "loop-b.txt").symlink_to("loop-a.txt")
    for name in ("loop-a.txt", "loop-b.txt"):
        corpus.failures[str(corpus.root / name)] = "symbolic link loop"
    (corpus.root / "links").mkdir()
    (corpus.root / "links" / "up").symlink_to("..", target_is_directory=True)
    corpus.quiet.add(str(corpus.root / "links" / "up"))
    (corpus.root / "links" / "plain.txt").symlink_to(corpus.root / "plain.txt")
    corpus.versions.add(str(corpus.root / "links" / "plain.txt"))  # a link inside: read
    secret = outside / "secret.txt"
    secret.write_text(article_text(25))
    (corpus.root / "links" / "secret.txt").symlink_to(secret)
    corpus.failures[str(corpus.root / "links" / "secret.txt")] = "outside the given paths"
    (corpus.root / "links" / "elsewhere").symlink_to(outside, target_is_directory=True)
    corpus.failures[str(corpus.root / "links" / "elsewhere")] = "outside the given paths"

    huge_link = corpus.root / "huge.txt"
    os.link(huge, huge_link)  # the session's one 100 MB file, without writing it again
    corpus.failures[str(huge_link)] = corpus.failures.pop(str(huge))
    if not IS_ROOT:
        # root reads any file and lists any folder, so these only fail for other users
        locked = corpus.bad("locked.txt", article_text(26), "cannot read file: Permission denied")
        locked.chmod(0)
        closed = corpus.root / "closed"
        corpus._write("closed/inside.txt", article_text(27))
        closed.chmod(0)
        corpus.failures[str(closed)] = "cannot list folder: Permission denied"
    return corpus


def _make_socket(path: Path) -> bool:
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
    except OSError:  # the path may be too long for a socket address
        return False
    finally:
        server.close()
    return True


@pytest.fixture(scope="session")
def huge_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 100 MB plain-text file, made once per test session."""
    path = tmp_path_factory.mktemp("huge") / "huge.txt"
    write_repeated(
        path, b"A long report on nothing in particular keeps going.\n", HUGE_FILE_MB * MEGABYTE
    )
    return path


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory, huge_file: Path) -> Iterator[Corpus]:
    root = tmp_path_factory.mktemp("corpus")
    built = build_corpus(root, tmp_path_factory.mktemp("outside"), huge_file)
    yield built
    for path in (root / "locked.txt", root / "closed"):
        if path.exists():
            path.chmod(0o700)  # so that pytest can clean up


def stored_paths(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.scalars(select(Version.source_path)))


def logged_errors(engine: Engine, run_id: int | None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    with Session(engine) as session:
        for path, error in session.execute(
            select(IngestError.source_path, IngestError.error).where(IngestError.run_id == run_id)
        ):
            errors.setdefault(path, []).append(error)
    return errors


def test_hostile_corpus_ingests_every_good_record_and_logs_every_bad_one(
    engine: Engine, corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ARCHIVE_MAX_ARTICLE_MB", raising=False)
    assert max_article_bytes() == 5 * MEGABYTE  # the limit the expected messages name
    report = ingest([str(corpus.root)], engine, workers=2, batch_size=7)

    assert sorted(stored_paths(engine)) == sorted(corpus.versions)
    errors = logged_errors(engine, report.run_id)
    assert set(errors) == set(corpus.failures)
    for path, reason in corpus.failures.items():
        assert len(errors[path]) == 1, (path, errors[path])
        assert reason in errors[path][0], (path, errors[path][0])
    assert not any(
        p.startswith(q) for p in stored_paths(engine) + list(errors) for q in corpus.quiet
    )
    assert report.failed == len(corpus.failures)
    assert report.versions_stored == len(corpus.versions)
    assert report.exit_code == 1
    with Session(engine) as session:
        assert session.get_one(IngestRun, report.run_id).status == "finished"
    assert_nothing_half_written(engine)


def test_hostile_corpus_keeps_names_and_text_exactly(engine: Engine, corpus: Corpus) -> None:
    ingest([str(corpus.root / "names"), str(corpus.root / "encodings")], engine, workers=1)
    with Session(engine) as session:
        rows = session.execute(select(Version.source_path, Version.body))
        bodies = {path: body for path, body in rows}
    names = corpus.root / "names"
    for n, name in enumerate(["name with spaces.txt", "new\nline.txt", "ünïcödé — 日本語 ✓.txt"]):
        assert bodies[str(names / name)] == article(10 + n)[1]
    assert bodies[str(names / "latin-1 \\xe9t\\xe9.txt")] == article(13)[1]
    encodings = corpus.root / "encodings"
    assert "caf\u00e9" in bodies[str(encodings / "latin-1.txt")]
    assert "\u201cplan\u201d" in bodies[str(encodings / "windows-1252.txt")]
    assert "\u20ac5 grant" in bodies[str(encodings / "windows-1252.txt")]
    assert bodies[str(encodings / "utf-16-no-bom.txt")] == article(7)[1]
    repaired = bodies[str(encodings / "invalid-utf-8.txt")]
    assert "r\u00e4ised \u00e9t\u00e9 \u2014" in repaired and "walk\ufffdways\ufffd" in repaired


def assert_nothing_half_written(engine: Engine) -> None:
    with Session(engine) as session:
        orphan_versions = session.scalar(
            select(func.count()).select_from(Version).where(~Version.story_id.in_(select(Story.id)))
        )
        empty_stories = session.scalar(
            select(func.count()).select_from(Story).where(~Story.id.in_(select(Version.story_id)))
        )
        stored = set(session.scalars(select(Version.id)))
    orphan_keys = sum(version_id not in stored for _, version_id in index_postings(engine))
    assert (orphan_versions, empty_stories, orphan_keys) == (0, 0, 0)


def test_record_text_is_stored_without_nul_or_lone_surrogates(
    engine: Engine, corpus: Corpus
) -> None:
    ingest([str(corpus.root / "feed.jsonl")], engine, workers=1)
    with Session(engine) as session:
        title, body = session.execute(
            select(Version.title, Version.body).where(
                Version.source_path == f"{corpus.root / 'feed.jsonl'}#4"
            )
        ).one()
    assert title == "Nul and  surrogate"
    assert body == article(17)[1]


def test_ingest_command_exits_1_when_some_inputs_failed(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_text(article_text(0))
    (folder / "image.png").write_bytes(PNG + os.urandom(500))
    (folder / "empty.txt").write_bytes(b"")
    os.mkfifo(folder / "fifo.txt")
    result = CliRunner().invoke(main, ["ingest", str(folder), "--db", db_url, "-q"])
    assert result.exit_code == 1, result.output
    assert "4 files seen: 1 version stored" in result.output
    assert "3 failed" in result.output
    assert "image.png: binary file (PNG image), not text" in result.output
    assert "fifo.txt: not a regular file: a named pipe" in result.output


def test_memory_stays_bounded_on_100_mb_inputs(huge_file: Path, tmp_path: Path) -> None:
    """The 100 MB text is refused unread; a gzip bomb is decompressed only to the limit; a JSONL
    line and a WARC page of 100 MB are skipped as they stream by, the records around them kept."""
    size = HUGE_FILE_MB * MEGABYTE
    bomb = tmp_path / "bomb.txt.gz"
    gzip_bomb(bomb, size)
    feed = tmp_path / "feed.jsonl"
    good = [json.dumps({"text": article(n)[1]}).encode() + b"\n" for n in (1, 2)]
    write_repeated(feed, b"x", size, head=good[0] + b'{"text": "', tail=b'"}\n' + good[1])
    crawl = tmp_path / "crawl.warc"
    with crawl.open("wb") as out:
        out.write(warc_bytes([3], compress=False))
    write_warc_response(crawl, size)
    with crawl.open("ab") as out:
        out.write(warc_bytes([4], compress=False))
    script = textwrap.dedent(
        """
        import json, resource, sys
        from archive.storage.db import open_archive
        from archive.commands.ingest import ingest
        engine = open_archive(sys.argv[1])
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        report = ingest(sys.argv[2:], engine, workers=1)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        errors = [f.error for f in report.failures]
        print(json.dumps({"grown_kb": after - before, "stored": report.versions_stored,
                          "errors": errors}))
        """
    )
    paths = [str(huge_file), str(bomb), str(feed), str(crawl)]
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    done = subprocess.run(
        [sys.executable, "-c", script, url, *paths],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["grown_kb"] < MEMORY_BOUND_MB * 1024, result
    assert result["stored"] == 4  # two JSONL records and two WARC pages around the big ones
    errors = result["errors"]
    assert len(errors) == 4, errors
    assert errors[0].startswith("file too large: 100.0 MB > 5 MB limit")
    assert errors[1].startswith("file too large: over 5 MB once decompressed")
    assert errors[2].startswith("line 2 too large: 100.0 MB > 5 MB limit")
    assert errors[3].startswith("WARC record too large: 100.0 MB > 5 MB limit")


def write_warc_response(path: Path, size: int) -> None:
    """Append a WARC response record with an HTML payload of ``size`` bytes, written in chunks."""
    http = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
        + f"Content-Length: {size}\r\n\r\n".encode()
    )
    headers = (
        "WARC/1.0\r\nWARC-Type: response\r\n"
        "WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000000>\r\n"
        "WARC-Date: 2024-05-02T09:30:00Z\r\nWARC-Target-URI: https://news.example/huge\r\n"
        "Content-Type: application/http; msgtype=response\r\n"
        f"Content-Length: {len(http) + size}\r\n\r\n"
    ).encode()
    chunk = b"<p>" + b"word " * 200_000 + b"</p>"
    with path.open("ab") as out:
        out.write(headers + http)
        written = 0
        while written < size:
            piece = chunk[: size - written]
            out.write(piece)
            written += len(piece)
        out.write(b"\r\n\r\n")


@pytest.mark.parametrize("compress", [False, True])
def test_warc_cut_anywhere_keeps_the_records_before_the_cut_and_says_so(compress: bool) -> None:
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=compress)
    ends = []
    for n in (31, 32):
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        record = writer.create_warc_record(
            f"https://news.example/{n}",
            "response",
            payload=io.BytesIO(html_page(n).encode()),
            http_headers=headers,
        )
        writer.write_record(record)
        ends.append(buffer.tell())
    data = buffer.getvalue()
    name = "cut.warc.gz" if compress else "cut.warc"
    for record_no, (start, end) in enumerate(zip([0, *ends[:-1]], ends, strict=True)):
        # in the WARC headers, just after them, in the HTTP headers, in the page, at its very end
        for cut in (start + 10, start + 200, start + 400, (start + end) // 2, end - 6):
            results = list(parse_bytes(data[:cut], name))
            kept = [r.source_path for r in results if isinstance(r, ParsedRecord)]
            # cut in a gzip member's trailer: its page is whole, only the checksum is lost
            whole = record_no + (compress and cut == end - 6)
            assert kept == [f"{name}#{i}" for i in range(whole)], (cut, results)
            failure = results[-1]
            assert isinstance(failure, ParseFailure), (cut, results)
            assert "truncated" in failure.error, (cut, failure.error)


def test_size_limit_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "a.txt"
    path.write_text(article_text(0))
    monkeypatch.setenv("ARCHIVE_MAX_ARTICLE_MB", "0.0001")
    [result] = parse_file(path)
    assert isinstance(result, ParseFailure)
    assert result.error.startswith("file too large: 0.0 MB > 0.0001 MB limit")
    monkeypatch.setenv("ARCHIVE_MAX_ARTICLE_MB", "lots")
    [result] = parse_file(path)
    assert isinstance(result, ParseFailure)
    assert "ARCHIVE_MAX_ARTICLE_MB must be a positive number of megabytes" in result.error


def test_walk_does_not_follow_links_out_of_the_given_paths(tmp_path: Path) -> None:
    inside, outside = tmp_path / "in", tmp_path / "out"
    inside.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text(article_text(1))
    (inside / "secret.txt").symlink_to(outside / "secret.txt")
    (inside / "loop").symlink_to(inside, target_is_directory=True)
    assert [str(p) for p in collect_files([inside])] == [str(inside / "secret.txt")]
    assert [getattr(p, "reason", None) for p in collect_files([inside])] == [
        f"symbolic link to a file outside the given paths ({outside / 'secret.txt'}), not read"
    ]
    # ... unless the link is given itself, or its target is among the given paths
    assert not hasattr(next(collect_files([inside / "secret.txt"])), "reason")
    assert not hasattr(next(collect_files([inside, outside])), "reason")
    # ... or following links was asked for: each folder is still walked once, so loops end
    followed = list(collect_files([inside], follow_symlinks=True))
    assert followed == [str(inside / "secret.txt")]
    assert all(isinstance(r, ParsedRecord) for p in followed for r in parse_file(p))
