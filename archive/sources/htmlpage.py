"""HTML: the article (text and metadata) of a page, by trafilatura, then by the text rules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from html import unescape

import trafilatura
from lxml import etree
from lxml import html as lxml_html

from archive.sources.article import Article, BodyStatus
from archive.sources.compilation import as_compilation
from archive.sources.dates import ISO_LAYOUT, parse_iso_date
from archive.sources.records import Document, ParseResult, checked_record, content_hash
from archive.sources.textdump import extract_text, plain_page_text

# chosen with scripts/eval_extraction.py on the benchmark pages (docs/extraction.md): precision
# mode drops more related-links blocks, tables hold article text on some sites (the options are
# passed to trafilatura.bare_extraction in _trafilatura_document)
_DATE_OPTIONS = {
    "outputformat": ISO_LAYOUT,
    "original_date": True,
    "extensive_search": True,
}

_HTML_SNIFF = (b"<!doctype html", b"<html", b"<head", b"<body")
# schema.org's type for a live blog, in JSON-LD or microdata
_LIVE_BLOG_RE = re.compile(r"LiveBlogPosting\b")
# Tags ("<" counted, closing ones too) past which a page is read by tags alone: real news pages
# have a few thousand (the benchmark's largest: 3,229), "<p>x" repeated over 4.9 MB has 1.2
# million, which took trafilatura 68 s and 1.9 GB; 40,000 take it about 5 s.
MAX_TAGS = 40_000
_TITLE_RE = re.compile(r"<title[^<>]*>([^<]*)", re.I)

# huge_tree: keep markup nested past libxml2's default 256 levels instead of dropping its text
_PARSER = lxml_html.HTMLParser(huge_tree=True)
_INVISIBLE_OPEN_RE = re.compile(r"<!--|<(script|style|noscript|template|svg|head)\b", re.I)
_CLOSING_RE = {
    name: re.compile("-->" if name == "--" else f"</{name}[^<>]*>?", re.I)
    for name in ("--", "script", "style", "noscript", "template", "svg", "head")
}
# [^<>]: a tag ends at the next "<" too, so a page of unclosed "<" is read in linear time
_TAG_RE = re.compile(r"<[^<>]*>")

_SKIPPED_TAGS = frozenset(
    [
        "script",
        "style",
        "noscript",
        "template",
        "svg",
        "head",
        "iframe",
        "canvas",
        "object",
        "select",
        "math",
        "button",
        "form",
    ]
)
_BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "section",
        "article",
        "header",
        "footer",
        "nav",
        "aside",
        "main",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "li",
        "ul",
        "ol",
        "table",
        "tr",
        "td",
        "th",
        "blockquote",
        "figure",
        "figcaption",
        "dl",
        "dt",
        "dd",
        "pre",
        "hr",
        "address",
        "details",
        "summary",
        "br",
        "body",
        "html",
        "time",
    ]
)


def extract_html(html: str, url: str | None = None) -> Article:
    """Extract title, body (paragraphs joined by blank lines), date, url and site name.

    A page of more than ``MAX_TAGS`` tags is not given to trafilatura (which takes about 0.1 ms
    and some kilobytes a tag): its text by tags alone is kept as ``page-text``."""
    if html.count("<") > MAX_TAGS:
        return _page_by_tags(html, url)
    document = _trafilatura_document(html, url)
    meta = _metadata(document)
    body = _body_from_trafilatura(document, meta.title)
    status = BodyStatus.ARTICLE
    if not body:
        fallback = extract_text(html_to_text(html))
        if not fallback.body:
            # Markup nested deeper than lxml keeps (2048 levels) loses its text in the tree.
            fallback = extract_text(strip_tags(html))
        body, status = fallback.body, fallback.body_status
        meta.title = meta.title or fallback.title
        meta.published = meta.published or fallback.published_at
    article = Article(
        title=meta.title,
        body=body,
        url=meta.url or url,
        site=meta.site,
        published_at=meta.published,
        body_status=status,
    )
    return as_compilation(
        article, body.split("\n\n"), marked=_LIVE_BLOG_RE.search(html) is not None
    )


def sniff(document: Document) -> bool:
    """Whether a file not named as a page is one: its first bytes hold a page's first tags."""
    head = document.data[:2048].lstrip().lower()
    return any(marker in head for marker in _HTML_SNIFF)


def read(document: Document) -> Iterator[ParseResult]:
    """A page's article (:func:`extract_html`)."""
    article = extract_html(document.text)
    yield checked_record(document.source, "html", content_hash(document.raw), article)


def _page_by_tags(html: str, url: str | None) -> Article:
    """The page's text by tags alone (:func:`strip_tags`), as page text, and its <title>."""
    page = plain_page_text(strip_tags(html))
    status = BodyStatus.PAGE_TEXT if page.body_status == BodyStatus.ARTICLE else page.body_status
    title = _TITLE_RE.search(html, 0, 1 << 16)
    return Article(
        title=" ".join(unescape(title.group(1)).split()) if title else "",
        body=page.body,
        url=url,
        body_status=status,
    )


def _trafilatura_document(html: str, url: str | None) -> trafilatura.settings.Document | None:
    if not html.strip():
        return None
    try:
        result = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            date_extraction_params=_DATE_OPTIONS,
            include_comments=False,
            include_tables=True,
            favor_precision=True,
            favor_recall=False,
            fast=False,
        )
    except Exception:
        # trafilatura and lxml reject some malformed inputs instead of returning None, with
        # whatever error their code meets (ValueError, LxmlError, RecursionError on deep
        # markup...); the page still has the text fallback, so it must not fail here.
        return None
    return result if isinstance(result, trafilatura.settings.Document) else None


@dataclass
class _Metadata:
    title: str = ""
    url: str | None = None
    site: str | None = None
    published: datetime | None = None


def _metadata(document: trafilatura.settings.Document | None) -> _Metadata:
    if document is None:
        return _Metadata()
    return _Metadata(
        title=_clean(document.title),
        url=document.url or None,
        site=_clean(document.sitename) or document.hostname or None,
        published=parse_iso_date(document.date),
    )


def _body_from_trafilatura(document: trafilatura.settings.Document | None, title: str) -> str:
    if document is None or not document.text:
        return ""
    paragraphs = [_clean(line) for line in document.text.split("\n")]
    paragraphs = [p for p in paragraphs if p]
    if paragraphs and paragraphs[0] == title:
        paragraphs = paragraphs[1:]
    return "\n\n".join(paragraphs)


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


# --- HTML rendered to text lines (the fallback) ---------------------------------------------


def html_to_text(html: str) -> str:
    """Render a page as text: one line per block element, list items as ``- item``."""
    try:
        root = lxml_html.fromstring(html, parser=_PARSER)
    except (ValueError, etree.LxmlError):
        return strip_tags(html)
    lines: list[str] = []
    current: list[str] = []
    _render(root, lines, current)
    _flush(lines, current)
    return "\n".join(lines)


def strip_tags(html: str) -> str:
    """The page's text by pattern alone, one line per tag: for markup no parser can take."""
    visible: list[str] = []
    position = 0
    # Scripts, styles and comments cut out with one forward scan (a pattern with ".*?" would
    # rescan the rest of the page from every unclosed "<script").
    while opening := _INVISIBLE_OPEN_RE.search(html, position):
        visible.append(html[position : opening.start()])
        closing = _CLOSING_RE[(opening.group(1) or "--").lower()]
        found = closing.search(html, opening.end())
        if found is None:
            position = len(html)  # never closed: the rest of the page is inside it
            break
        position = found.end()
    visible.append(html[position:])
    return unescape(_TAG_RE.sub("\n", "\n".join(visible)))


def _render(root: etree._Element, lines: list[str], current: list[str]) -> None:
    # A loop, not recursion: pages nest thousands of elements deep (huge_tree lets lxml keep
    # 2048 levels), past Python's recursion limit.
    stack: list[tuple[etree._Element, bool]] = [(root, False)]
    while stack:
        element, closing = stack.pop()
        tag = element.tag if isinstance(element.tag, str) else ""
        if closing:
            if tag in _BLOCK_TAGS:
                _flush(lines, current)
            if element.tail:
                current.append(element.tail)
            continue
        if tag in _SKIPPED_TAGS or element.get("hidden") is not None:
            if element.tail:
                current.append(element.tail)
            continue
        if tag in _BLOCK_TAGS:
            _flush(lines, current)
        if tag == "li":
            current.append("- ")
        if isinstance(element.tag, str) and element.text:
            current.append(element.text)
        stack.append((element, True))
        stack.extend((child, False) for child in reversed(element))


def _flush(lines: list[str], current: list[str]) -> None:
    text = " ".join("".join(current).split())
    current.clear()
    if text and text != "-":
        lines.append(text)
