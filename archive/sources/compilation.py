"""Telling compilation pages (live blogs, "The Latest", digests, news-aggregator topic pages)
from articles: the one rule, used by every format's extractor.

A compilation quotes many stories, each in a few paragraphs, and changes from one snapshot to
the next. Linked as an article, it would join every story it quotes into one, so a compilation
is its own story: its versions are linked to other compilations only (see
``docs/linking.md``). The rule looks at what a compilation page shows on its face, never at
one site's markup: a title or a mark that says so, or body paragraphs that sit among time
stamps (a live blog's entries, an aggregator's dated headlines).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from archive.sources.article import Article, BodyStatus

# Titles that name a compilation, in the languages whose news sites say "live" this way.
# Deliberately not "Breaking:", "roundup" or "briefing" alone: a "Breaking:" headline, a wire
# "ROUNDUP" and a "press briefing" are articles about one story.
_TITLE_RE = re.compile(
    r"^(?:the latest|live|live updates?|en direct|en vivo|ao vivo|in diretta)\s*[:|–—-]"
    r"|\blive[ -]?(?:updates?|blog|coverage|stream|ticker)\b|\bliveblog\b|\bliveticker\b"
    r"|\bas it happened\b|\bminute[ -]by[ -]minute\b"
    r"|\b(?:morning|evening|daily|weekend|news) (?:briefing|digest|roundup|round-up)\b"
    r"|\bnews in brief\b|\btop (?:stories|headlines)\b|\bweek in review\b|\bfull coverage\b"
    r"|\bпрямой эфир\b|\bпрямая трансляция\b|\bонлайн-трансляция\b"
    r"|\b(?:en|em) (?:directo|vivo)\b|\bdirecto\s*[:|]",
    re.IGNORECASE,
)
# A line near the top that announces a running feed of items: AP's "The Latest on ... (all
# times local):", "Follow live updates", "This is a live blog".
_FEED_MARK_RE = re.compile(
    r"\(all times [a-z ]+\)|^the latest on\b"
    r"|\bfollow (?:our |the )?live\b|\bthis (?:is a )?live blog\b",
    re.IGNORECASE,
)
FEED_MARK_LINES = 8  # how far from the top a feed mark counts

# A line that is only a time stamp: a clock time (with a day, a date or a zone around it), or an
# age ("15m ago", "vor 2 Stunden").
_CLOCK = r"\d{1,2}(?:[:.h]\d{2})?\s*(?:[ap]\.?\s?m\.?)|\d{1,2}[:.h]\d{2}"
_STAMP_WORDS = (
    r"(?:updated|posted|published|last updated|aktualisiert|mis à jour|actualizado|обновлено)"
)
_CLOCK_LINE_RE = re.compile(
    rf"^(?:{_STAMP_WORDS}\s*:?\s*)?(?:[^\d\s][^\s]*,?\s+){{0,4}}(?:\d{{1,4}},?\s+){{0,2}}"
    rf"(?:at\s+)?(?:{_CLOCK})(?:\s*,?\s*[A-Za-z]{{1,5}}(?:[+-]\d{{1,2}})?)?\.?$",
    re.IGNORECASE,
)
_AGE_LINE_RE = re.compile(
    r"(?:^|[·•|–—-]\s*|^[^.!?]{0,60}\s)"
    r"(?:\d+\s*(?:s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?)\s+ago"
    r"|vor \d+ (?:sekunden|minuten|stunden|tagen)"
    r"|il y a \d+ (?:s|min|minutes?|h|heures?|jours?)"
    r"|hace \d+ (?:segundos?|minutos?|horas?|días?)"
    r"|há \d+ (?:segundos?|minutos?|horas?|dias?)"
    r"|\d+ (?:секунд\w*|минут\w*|час\w*|дн\w*|день) назад"
    r"|\d+\s*(?:秒|分钟|分鐘|小时|小時|天|分|時間|日)前)$",
    re.IGNORECASE,
)
MAX_STAMP_WORDS = 8
# Entries among time stamps: this many body paragraphs (or all of them, when fewer) within
# STAMP_REACH lines of a stamp, with at least MIN_STAMPS stamps on the page.
MIN_STAMPED_PARAGRAPHS = 3
MIN_STAMPS = 3
STAMP_REACH = 2


def is_time_stamp(line: str) -> bool:
    """Whether ``line`` is only a time stamp: "3:15 p.m.", "10:32 AM ET", "Updated 14:05 GMT",
    "June 5, 2019 3:15 PM", "CNN · 15m ago", "vor 2 Stunden"."""
    line = line.strip()
    if not line or len(line.split()) > MAX_STAMP_WORDS:
        return False
    return bool(_CLOCK_LINE_RE.match(line) or _AGE_LINE_RE.search(line))


def is_compilation(
    title: str, page_lines: Sequence[str], body_paragraphs: Sequence[str], *, marked: bool = False
) -> bool:
    """Whether a page is a compilation: ``marked`` so by its markup (a ``LiveBlogPosting``),
    titled as one, announcing a feed near its top, or with its body paragraphs among time
    stamps (see :func:`stamped_entries`)."""
    if marked or _TITLE_RE.search(title):
        return True
    if any(_FEED_MARK_RE.search(line) for line in page_lines[:FEED_MARK_LINES]):
        return True
    return stamped_entries(page_lines, body_paragraphs)


def stamped_entries(page_lines: Sequence[str], body_paragraphs: Sequence[str]) -> bool:
    """Whether the body's paragraphs are entries among time stamps: the page has at least
    ``MIN_STAMPS`` stamp lines, and ``MIN_STAMPED_PARAGRAPHS`` body paragraphs (every one, when
    the body has fewer) sit within ``STAMP_REACH`` lines of one.

    A sidebar of dated headlines beside an article does not count: its stamps sit next to other
    pages' headlines, not next to the article's paragraphs.
    """
    stamps = [i for i, line in enumerate(page_lines) if is_time_stamp(line)]
    if len(stamps) < MIN_STAMPS:
        return False
    body = {paragraph.strip() for paragraph in body_paragraphs if paragraph.strip()}
    if not body:
        return False
    stamped: set[str] = set()
    for i in stamps:
        for j in range(max(0, i - STAMP_REACH), min(len(page_lines), i + STAMP_REACH + 1)):
            line = page_lines[j].strip()
            if line in body:
                stamped.add(line)
    return len(stamped) >= min(MIN_STAMPED_PARAGRAPHS, len(body))


def as_compilation(article: Article, page_lines: Sequence[str], *, marked: bool = False) -> Article:
    """``article`` marked ``compilation`` when its page is one (:func:`is_compilation`); an
    article whose body is page text or boilerplate keeps its status (it is not linked at all)."""
    if article.body_status is not BodyStatus.ARTICLE:
        return article
    paragraphs = article.body.split("\n\n")
    if is_compilation(article.title, page_lines, paragraphs, marked=marked):
        return replace(article, body_status=BodyStatus.COMPILATION)
    return article
