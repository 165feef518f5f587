"""Format detection and record handling: every format yields articles, bad input yields errors."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from archive.sources.parse import parse_bytes, parse_file
from archive.sources.records import ParsedRecord, ParseFailure

from .conftest import SAMPLES

TITLE = "Village bakery wins national bread award"
PARAGRAPHS = [
    "A bakery in the village of Lower Amblecote has been named the best independent bakery in "
    "the country at the National Bread Awards in Birmingham.",
    "Owner Priya Haldane, who opened the shop in a former post office in 2016, said the team "
    "had entered a rye sourdough and a seeded spelt loaf made with flour milled four miles away.",
    "The judges praised the \u201copen, glossy crumb\u201d of the sourdough and said the bakery "
    "showed how a small business could rebuild a village high street.",
]
BODY = "\n\n".join(PARAGRAPHS)
CLEAN_TEXT = TITLE + "\n\n" + BODY + "\n"


def parsed(results: list[ParsedRecord | ParseFailure]) -> list[ParsedRecord]:
    assert all(isinstance(r, ParsedRecord) for r in results), results
    return [r for r in results if isinstance(r, ParsedRecord)]


def only(results: object) -> ParsedRecord:
    records = parsed(list(results))  # type: ignore[arg-type]
    assert len(records) == 1
    return records[0]


def html_page(title: str = TITLE, body_paragraphs: list[str] = PARAGRAPHS) -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in body_paragraphs)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{title}</title></head><body>"
        "<nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
        f"<article><h1>{title}</h1>{paragraphs}</article>"
        "<footer>Copyright 2024 The Amblecote Courier</footer></body></html>"
    )


def warc_bytes(pages: list[tuple[str, str]], *, compress: bool = True) -> bytes:
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=compress)
    writer.write_record(writer.create_warcinfo_record("test.warc", {"software": "tests"}))
    for url, page in pages:
        data = page.encode("utf-8")
        headers = StatusAndHeaders(
            "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
        )
        record = writer.create_warc_record(
            url, "response", payload=io.BytesIO(data), http_headers=headers
        )
        writer.write_record(record)
    return buffer.getvalue()


def test_clean_text_file_gives_title_and_body() -> None:
    record = only(parse_bytes(CLEAN_TEXT.encode(), "bakery.txt"))
    assert record.format == "text"
    assert record.article.title == TITLE
    assert record.article.body.startswith("A bakery in the village")
    assert record.source_path == "bakery.txt"


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1252", "latin-1"]
)
def test_text_in_any_common_encoding_decodes_to_the_same_article(encoding: str) -> None:
    text = CLEAN_TEXT.replace("\u201c", '"').replace("\u201d", '"')
    text = text.replace("a former post office", "a former caf\u00e9")
    data = text.encode(encoding)
    if encoding in ("utf-16-le", "utf-16-be"):
        data = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}[encoding] + data
    record = only(parse_bytes(data, "bakery.txt"))
    assert record.article.title == TITLE
    assert "former caf\u00e9" in record.article.body


def test_gzipped_text_is_read_like_plain_text() -> None:
    record = only(parse_bytes(gzip.compress(CLEAN_TEXT.encode()), "bakery.txt.gz"))
    assert record.article.title == TITLE


def test_json_record_maps_common_field_names() -> None:
    data = json.dumps(
        {
            "headline": TITLE,
            "articleBody": BODY,
            "link": "https://www.courier.example/bakery",
            "datePublished": "2024-05-02T09:30:00+01:00",
            "publisher": {"name": "Amblecote Courier"},
        }
    ).encode()
    record = only(parse_bytes(data, "bakery.json"))
    assert record.format == "json"
    assert record.article.title == TITLE
    assert record.article.body == BODY
    assert record.article.url == "https://www.courier.example/bakery"
    assert record.article.site == "Amblecote Courier"
    assert record.article.published_at is not None
    assert record.article.published_at.isoformat() == "2024-05-02T09:30:00+01:00"


def test_json_without_site_takes_the_host_of_its_url() -> None:
    data = json.dumps({"title": TITLE, "text": BODY, "url": "https://www.courier.example/x"})
    assert only(parse_bytes(data.encode(), "a.json")).article.site == "courier.example"


def test_jsonl_records_are_numbered_by_line_from_zero() -> None:
    lines = [json.dumps({"title": f"{TITLE} {n}", "text": BODY}) for n in range(3)]
    records = parsed(list(parse_bytes("\n".join(lines).encode(), "feed.jsonl")))
    assert [r.source_path for r in records] == ["feed.jsonl#0", "feed.jsonl#1", "feed.jsonl#2"]
    assert len({r.content_sha256 for r in records}) == 3


def test_one_bad_jsonl_line_fails_alone() -> None:
    good = json.dumps({"title": TITLE, "text": BODY})
    data = "\n".join([good, "{not json", good.replace("award", "prize")]).encode()
    results = list(parse_bytes(data, "feed.jsonl"))
    assert [type(r).__name__ for r in results] == ["ParsedRecord", "ParseFailure", "ParsedRecord"]
    failure = results[1]
    assert isinstance(failure, ParseFailure)
    assert failure.source_path == "feed.jsonl#1"
    assert "invalid JSON" in failure.error


def test_json_array_gives_one_record_per_element() -> None:
    data = json.dumps([{"title": TITLE, "text": BODY}, {"title": "Other", "text": BODY[:200]}])
    records = parsed(list(parse_bytes(data.encode(), "many.json")))
    assert [r.source_path for r in records] == ["many.json#0", "many.json#1"]


def test_text_file_starting_with_a_bracket_is_text_not_json() -> None:
    text = "[Review] " + CLEAN_TEXT
    record = only(parse_bytes(text.encode(), "review.txt"))
    assert record.format == "text"
    assert record.article.title == "[Review] " + TITLE


def test_json_content_is_recognised_without_a_json_name() -> None:
    data = json.dumps({"title": TITLE, "text": BODY}).encode()
    assert only(parse_bytes(data, "download")).format == "json"


def test_json_record_without_text_is_an_error() -> None:
    results = list(parse_bytes(json.dumps({"title": TITLE}).encode(), "x.json"))
    assert isinstance(results[0], ParseFailure)
    assert "no article text" in results[0].error


def test_html_page_gives_article_not_page_chrome() -> None:
    record = only(parse_bytes(html_page().encode(), "bakery.html"))
    assert record.format == "html"
    assert record.article.title == TITLE
    assert "Lower Amblecote" in record.article.body
    assert "Copyright" not in record.article.body
    assert "Home" not in record.article.body.split()


@pytest.mark.parametrize("compress", [True, False])
def test_warc_html_responses_are_records_numbered_in_file_order(compress: bool) -> None:
    other = [p.replace("bakery", "butcher") for p in PARAGRAPHS]
    data = warc_bytes(
        [
            ("https://courier.example/bakery", html_page()),
            ("https://courier.example/butcher", html_page("Butcher shop opens", other)),
        ],
        compress=compress,
    )
    records = parsed(list(parse_bytes(data, "crawl.warc.gz" if compress else "crawl.warc")))
    # record 0 is the warcinfo record
    assert [r.source_path.rsplit("#", 1)[1] for r in records] == ["1", "2"]
    assert records[0].article.url == "https://courier.example/bakery"
    assert records[0].format == "warc"
    assert records[1].article.title == "Butcher shop opens"


def test_truncated_warc_keeps_records_before_the_damage() -> None:
    data = warc_bytes([("https://a.example/1", html_page()), ("https://a.example/2", html_page())])
    results = list(parse_bytes(data[: len(data) - 200], "cut.warc.gz"))
    assert isinstance(results[0], ParsedRecord)
    assert isinstance(results[-1], ParseFailure)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.txt", b"  \n\n \t\n", "empty"),
        ("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" * 40, "not text"),
        ("broken.json", b'{"title": "x", "text": ', "invalid JSON"),
        ("cut.txt.gz", gzip.compress(CLEAN_TEXT.encode())[:30], "damaged gzip"),
    ],
)
def test_bad_files_give_a_clear_error(name: str, data: bytes, message: str) -> None:
    results = list(parse_bytes(data, name))
    assert len(results) == 1
    assert isinstance(results[0], ParseFailure)
    assert message in results[0].error


def test_missing_file_is_an_error_not_an_exception(tmp_path: Path) -> None:
    results = list(parse_file(tmp_path / "nope.txt"))
    assert isinstance(results[0], ParseFailure)
    assert "cannot read" in results[0].error


def test_samples_folder_parses_without_failures() -> None:
    for path in sorted(SAMPLES.iterdir()):
        for result in parse_file(path):
            assert isinstance(result, ParsedRecord), result


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000), st.sampled_from(["a.txt", "a.json", "a.jsonl", "a.html", "a"]))
def test_parser_never_raises_on_arbitrary_bytes(data: bytes, name: str) -> None:
    for result in parse_bytes(data, name):
        assert isinstance(result, ParsedRecord | ParseFailure)
