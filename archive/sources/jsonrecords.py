"""Articles from JSON records: the field names feeds, scrapers and datasets commonly use."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlsplit

from archive.sources.article import Article, BodyStatus
from archive.sources.compilation import as_compilation
from archive.sources.dates import parse_date
from archive.sources.htmlpage import extract_html

# Checked in order; the first present, non-empty field wins. Matching ignores case and "_"/"-".
TITLE_FIELDS = ("title", "headline", "name", "subject")
BODY_FIELDS = ("text", "body", "content", "articlebody", "article", "maintext", "fulltext")
URL_FIELDS = ("url", "link", "uri", "canonicalurl", "permalink", "href")
DATE_FIELDS = (
    "published", "datepublished", "publishedat", "published_at", "pubdate", "date",
    "datepublish", "created", "createdat", "timestamp", "time", "updated", "datemodified",
)  # fmt: skip
SITE_FIELDS = ("site", "sitename", "source", "publisher", "domain", "outlet", "provider")

_HTML_TAG = re.compile(r"<(p|div|br|span|a|article|h[1-6]|ul|li|html|body)\b", re.IGNORECASE)


# Text nested deeper than this in lists and objects is not article text; the bound keeps
# recursion far from Python's limit on hostile JSON ("[[[[...]]]]" hundreds deep).
_MAX_DEPTH = 20


class RecordError(ValueError):
    """A JSON value that is not an article record."""


def article_from_record(record: object) -> Article:
    """The article in one JSON record; raises :class:`RecordError` when it has no text."""
    if not isinstance(record, Mapping):
        raise RecordError(f"expected a JSON object, found {type(record).__name__}")
    fields = {_normalise_key(key): value for key, value in record.items()}
    body = _text_of(_first(fields, BODY_FIELDS))
    url = _text_of(_first(fields, URL_FIELDS)) or None
    title = _text_of(_first(fields, TITLE_FIELDS))
    status = BodyStatus.ARTICLE
    if _HTML_TAG.search(body):
        from_html = extract_html(body, url=url)
        body, status = from_html.body, from_html.body_status
        title = title or from_html.title
    if not body.strip():
        raise RecordError("record has no article text (looked for: " + ", ".join(BODY_FIELDS) + ")")
    site = _text_of(_first(fields, SITE_FIELDS)) or _host(url)
    article = Article(
        title=title.strip(),
        body=body.strip(),
        url=url,
        site=site or None,
        published_at=_date_of(_first(fields, DATE_FIELDS)),
        body_status=status,
    )
    return as_compilation(article, article.body.splitlines())


def _date_of(value: object) -> datetime | None:
    try:
        return parse_date(value)
    except (OverflowError, ValueError):
        # A JSON integer too large for a float (1e400 written out): no date, not a bad record.
        return None


def _normalise_key(key: object) -> str:
    return str(key).lower().replace("_", "").replace("-", "")


def _first(fields: Mapping[str, object], names: tuple[str, ...]) -> object:
    for name in names:
        value = fields.get(name.replace("_", ""))
        if value not in (None, "", [], {}):
            return value
    return None


def _text_of(value: object, depth: int = 0) -> str:
    """Strings as they are; lists of paragraphs joined; objects by their name or text."""
    if value is None or depth > _MAX_DEPTH:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = (_text_of(item, depth + 1).strip() for item in value)
        return "\n\n".join(part for part in parts if part)
    if isinstance(value, Mapping):
        for key in ("name", "text", "value", "url", "@id"):
            if key in value:
                return _text_of(value[key], depth + 1)
        return ""
    return str(value)


def _host(url: str | None) -> str:
    if not url:
        return ""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:  # "http://[::1": a malformed IPv6 host
        return ""
    return host.removeprefix("www.")
