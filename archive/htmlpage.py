"""Extract the article (text and metadata) from an HTML page: trafilatura, then a text fallback."""

from __future__ import annotations

import re
from datetime import datetime

import trafilatura
from lxml import etree
from lxml import html as lxml_html

from archive.article import Article
from archive.textdump import extract_text, parse_date

# chosen with scripts/eval_extraction.py on the benchmark pages (docs/extraction.md): precision
# mode drops more related-links blocks, tables hold article text on some sites
_TRAFILATURA_OPTIONS = {
    "include_comments": False,
    "include_tables": True,
    "favor_precision": True,
    "favor_recall": False,
    "fast": False,
}
_DATE_OPTIONS = {
    "outputformat": "%Y-%m-%dT%H:%M:%S%z",
    "original_date": True,
    "extensive_search": True,
}

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
    """Extract title, body (paragraphs joined by blank lines), date, url and site name."""
    document = _trafilatura_document(html, url)
    meta = _metadata(document)
    body = _body_from_trafilatura(document, meta["title"])
    if not body:
        fallback = extract_text(html_to_text(html))
        body = fallback.body
        meta["title"] = meta["title"] or fallback.title
        meta["published"] = meta["published"] or fallback.published_at
    return Article(
        title=meta["title"] or "",
        body=body,
        url=meta["url"] or url,
        site=meta["site"],
        published_at=meta["published"],
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
            **_TRAFILATURA_OPTIONS,
        )
    except (ValueError, TypeError, etree.LxmlError):
        # trafilatura and lxml reject some malformed inputs instead of returning None
        return None
    return result if isinstance(result, trafilatura.settings.Document) else None


def _metadata(document: trafilatura.settings.Document | None) -> dict[str, str | datetime | None]:
    if document is None:
        return {"title": None, "url": None, "site": None, "published": None}
    return {
        "title": _clean(document.title),
        "url": document.url or None,
        "site": _clean(document.sitename) or document.hostname or None,
        "published": _parse_iso(document.date),
    }


def _body_from_trafilatura(document: trafilatura.settings.Document | None, title: object) -> str:
    if document is None or not document.text:
        return ""
    paragraphs = [_clean(line) for line in document.text.split("\n")]
    paragraphs = [p for p in paragraphs if p]
    if paragraphs and paragraphs[0] == title:
        paragraphs = paragraphs[1:]
    return "\n\n".join(paragraphs)


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, _DATE_OPTIONS["outputformat"])
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return parse_date(value)


# --- HTML rendered to text lines (the fallback) ---------------------------------------------


def html_to_text(html: str) -> str:
    """Render a page as text: one line per block element, list items as ``- item``."""
    try:
        root = lxml_html.fromstring(html)
    except (ValueError, etree.LxmlError):
        return re.sub(r"<[^>]*>", "\n", html)
    lines: list[str] = []
    current: list[str] = []
    _render(root, lines, current)
    _flush(lines, current)
    return "\n".join(lines)


def _render(element: etree._Element, lines: list[str], current: list[str]) -> None:
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag in _SKIPPED_TAGS or element.get("hidden") is not None:
        if element.tail:
            current.append(element.tail)
        return
    block = tag in _BLOCK_TAGS
    if block:
        _flush(lines, current)
    if tag == "li":
        current.append("- ")
    if isinstance(element.tag, str) and element.text:
        current.append(element.text)
    for child in element:
        _render(child, lines, current)
    if block:
        _flush(lines, current)
    if element.tail:
        current.append(element.tail)


def _flush(lines: list[str], current: list[str]) -> None:
    text = " ".join("".join(current).split())
    current.clear()
    if text and text != "-":
        lines.append(text)
