"""The article record every parser produces and every later stage consumes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class BodyStatus(StrEnum):
    """How a body was told apart from its page (``versions.body_status``).

    Nothing a user gives is dropped: a page whose article cannot be told apart keeps its text,
    marked so. Only ``ARTICLE`` and ``COMPILATION`` bodies are linked to other versions, each
    only to its own kind: page text carries the site's chrome, two registration walls are alike
    whatever story stands behind them, and a live blog quotes many stories without being any
    of them (see :mod:`archive.sources.compilation`).
    """

    ARTICLE = "article"  # the article's text, page chrome left out
    COMPILATION = "compilation"  # a live blog, "The Latest", a digest or an aggregator page
    PAGE_TEXT = "page-text"  # no article told apart: the page's own text, chrome and all
    BOILERPLATE_ONLY = "boilerplate-only"  # only walls, notices, captions or share prompts


@dataclass(frozen=True)
class Article:
    """What extraction found in one file or record: the story text and its metadata.

    ``body`` is the article text only (paragraphs separated by blank lines), never page
    chrome, when ``body_status`` is ``ARTICLE`` or ``COMPILATION``; otherwise the page's text
    as it was found.
    Fields a format does not carry are ``None``; ``published_at`` is timezone-aware when the
    source gave a zone, naive otherwise.
    """

    title: str
    body: str
    url: str | None = None
    site: str | None = None
    published_at: datetime | None = None
    body_status: BodyStatus = BodyStatus.ARTICLE

    @property
    def linkable(self) -> bool:
        """Whether the body is an article's or a compilation's, and so may link to other
        versions (of its own kind)."""
        return self.body_status in LINKED_STATUSES


LINKED_STATUSES = frozenset({BodyStatus.ARTICLE, BodyStatus.COMPILATION})
