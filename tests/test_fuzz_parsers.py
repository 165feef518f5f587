"""Fuzzing every parser entry point: whatever the input, a result or a documented error, never
an unhandled exception, and every record found can be stored on SQLite and PostgreSQL alike."""

from __future__ import annotations

import gzip
import json
import os
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archive.sources.article import Article
from archive.sources.decode import UndecodableError, decode_text
from archive.sources.htmlpage import extract_html, html_to_text, strip_tags
from archive.sources.jsonrecords import RecordError, article_from_record
from archive.sources.parse import parse_bytes, parse_file
from archive.sources.records import ParsedRecord, ParseFailure, ParseResult
from archive.sources.textdump import extract_text

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW_FUZZ = settings(FUZZ, max_examples=60)

SUFFIXES = [".txt", ".html", ".json", ".jsonl", ".warc", ".gz", ".jsonl.gz", ".warc.gz", ""]
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

# Text with what breaks parsers: control characters, lone surrogates, every kind of line break,
# markup and JSON punctuation, right-to-left and combining marks, CJK.
hostile_text = st.lists(
    st.one_of(
        st.characters(),
        st.sampled_from(list("\x00\r\n\x0b\x0c\x1c\x85\u2028\u2029\ufeff\ufffd<>&;/\"'{}[]:,#")),
        st.sampled_from(["\ud800", "\udfff", "\u202e", "\u0301", "日本", "<p>", "</div>", "&#0;"]),
    ),
    max_size=300,
).map("".join)
sentences = st.sampled_from(
    [
        "The council approved the new budget for the coming year after a long debate.",
        "Residents said the plan was overdue and welcomed the money for road repairs.",
        "Breaking News | Sport | Weather",
        "© 2024 The Courier. All rights reserved.",
        "By Jane Doe",
        "Published 9 May 2005 10:30 GMT",
        "- Read more: Floods close mountain pass",
        "",
    ]
)
page_text = st.lists(st.one_of(sentences, hostile_text), max_size=20).map("\n".join)
tags = st.sampled_from(["p", "div", "article", "li", "ul", "script", "style", "h1", "br", "span"])


@st.composite
def html_documents(draw: st.DrawFn) -> str:
    """Markup that is usually well formed, sometimes not: unclosed, deep, interleaved."""
    parts: list[str] = []
    open_tags: list[str] = []
    for _ in range(draw(st.integers(0, 40))):
        action = draw(st.sampled_from(["open", "close", "text", "deep", "junk"]))
        if action == "open":
            tag = draw(tags)
            open_tags.append(tag)
            parts.append(f"<{tag}>")
        elif action == "close" and open_tags:
            parts.append(f"</{open_tags.pop()}>")
        elif action == "deep":
            depth = draw(st.integers(200, 3000))
            parts.append("<div>" * depth + draw(sentences) + "</div>" * depth)
        elif action == "junk":
            parts.append(draw(hostile_text))
        else:
            parts.append(draw(sentences))
    return "<html><body>" + "".join(parts)


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**1000),  # past float and date ranges
    st.floats(allow_nan=True, allow_infinity=True),
    hostile_text,
    sentences,
    st.sampled_from(["http://[::1", "https://", "2024-02-30T25:61:00Z", "<p>text</p>", "0"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=20,
)
field_names = st.sampled_from(
    ["title", "headline", "text", "body", "articleBody", "content", "url", "link", "date",
     "datePublished", "timestamp", "site", "publisher", "source", "Title", "TEXT", "x"]
)  # fmt: skip
records = st.dictionaries(field_names | hostile_text, json_values, max_size=8)


def utf8(text: str) -> bytes:
    """Encoded as UTF-8, lone surrogates too (as broken encoders write them)."""
    return text.encode("utf-8", "surrogatepass")


def deeply_nested(depth: int) -> str:
    """A JSON record whose text is ``depth`` lists deep (written out: json.dumps would recurse)."""
    text = '"The council approved the new budget after a long debate."'
    return '{"title": "t", "text": ' + "[" * depth + text + "]" * depth + "}"


def assert_results(results: list[ParseResult]) -> None:
    assert results, "a file always gives at least one result"
    for result in results:
        assert isinstance(result, ParsedRecord | ParseFailure)
        assert not UNSTORABLE.search(result.source_path)
        if isinstance(result, ParseFailure):
            assert result.error.strip()
        else:
            assert_storable(result.article)


def assert_storable(article: Article) -> None:
    assert article.body.strip()
    for value in (article.title, article.body, article.url or "", article.site or ""):
        assert not UNSTORABLE.search(value), value
        value.encode("utf-8")


@FUZZ
@given(data=st.binary(max_size=3000), suffix=st.sampled_from(SUFFIXES))
def test_parse_bytes_never_raises_on_random_bytes(data: bytes, suffix: str) -> None:
    assert_results(list(parse_bytes(data, "fuzz" + suffix)))


@FUZZ
@given(
    data=st.one_of(st.binary(max_size=2000), page_text.map(utf8)),
    suffix=st.sampled_from(SUFFIXES),
    compress=st.booleans(),
    cut=st.integers(0, 50),
)
def test_parse_file_never_raises_on_random_or_damaged_files(
    data: bytes, suffix: str, compress: bool, cut: int
) -> None:
    content = gzip.compress(data) if compress else data
    content = content[: max(0, len(content) - cut)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(content)
        assert_results(list(parse_file(path)))


@FUZZ
@given(
    head=st.sampled_from([b"WARC/1.0\r\n", b"WARC/1.1\r\nWARC-Type: response\r\n", b"WARC/"]),
    headers=st.lists(
        st.sampled_from(
            [
                b"WARC-Type: response",
                b"WARC-Type: warcinfo",
                b"Content-Length: 40",
                b"Content-Length: -1",
                b"Content-Length: 99999999999999999999",
                b"Content-Type: application/http; msgtype=response",
                b"WARC-Target-URI: http://[::1",
            ]
        ),
        max_size=5,
    ),
    body=st.binary(max_size=300),
    suffix=st.sampled_from([".warc", ".warc.gz"]),
)
def test_parse_never_raises_on_broken_warc_records(
    head: bytes, headers: list[bytes], body: bytes, suffix: str
) -> None:
    data = head + b"\r\n".join(headers) + b"\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
    data += b"\r\n" + body
    if suffix.endswith(".gz"):
        data = gzip.compress(data)
    assert_results(list(parse_bytes(data, "crawl" + suffix)))


@FUZZ
@given(lines=st.lists(st.one_of(records.map(json.dumps), hostile_text), max_size=6))
def test_jsonl_never_raises_and_keeps_good_lines(lines: list[str]) -> None:
    data = utf8("\n".join(lines))
    results = list(parse_bytes(data, "feed.jsonl"))
    assert_results(results)
    assert all("#" in r.source_path for r in results if isinstance(r, ParsedRecord))


@FUZZ
@given(text=st.one_of(hostile_text, page_text))
def test_extract_text_never_raises(text: str) -> None:
    article = extract_text(text)
    assert isinstance(article, Article)


@SLOW_FUZZ
@given(html=st.one_of(hostile_text, html_documents()))
def test_extract_html_never_raises(html: str) -> None:
    assert isinstance(extract_html(html), Article)
    assert isinstance(html_to_text(html), str)
    assert isinstance(strip_tags(html), str)


@FUZZ
@given(record=st.one_of(json_values, records))
def test_article_from_record_raises_only_record_error(record: object) -> None:
    try:
        article = article_from_record(record)
    except RecordError:
        return
    assert isinstance(article, Article)


@FUZZ
@given(depth=st.integers(0, 5000), name=st.sampled_from(["a.json", "a.jsonl", "a"]))
def test_deeply_nested_json_is_an_error_not_a_crash(depth: int, name: str) -> None:
    assert_results(list(parse_bytes(deeply_nested(depth).encode(), name)))
    assert_results(list(parse_bytes(b"[" * depth + b"]" * depth, name)))


@FUZZ
@given(
    data=st.one_of(
        st.binary(max_size=3000),
        hostile_text.map(utf8),
        hostile_text.map(lambda text: text.encode("utf-16", "surrogatepass")),
    )
)
def test_decode_text_returns_text_or_raises_undecodable(data: bytes) -> None:
    try:
        text = decode_text(data)
    except UndecodableError as exc:
        assert "not text" in str(exc) or "binary" in str(exc) or "invalid" in str(exc)
        return
    assert isinstance(text, str)


def test_file_names_that_are_not_utf_8_are_stored_escaped(tmp_path: Path) -> None:
    path = os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9.txt")
    Path(path).write_text("Title\n\n" + "The council approved the new budget after a debate. " * 3)
    [result] = parse_file(path)
    assert isinstance(result, ParsedRecord)
    assert result.source_path == f"{tmp_path}/caf\\xe9.txt"
