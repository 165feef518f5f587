"""The article record every parser produces and every later stage consumes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Article:
    """What extraction found in one file or record: the story text and its metadata.

    ``body`` is the article text only (paragraphs separated by blank lines), never page
    chrome. Fields a format does not carry are ``None``; ``published_at`` is timezone-aware
    when the source gave a zone, naive otherwise.
    """

    title: str
    body: str
    url: str | None = None
    site: str | None = None
    published_at: datetime | None = None
