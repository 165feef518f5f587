"""Find the title, date and article body in a plain-text file or a web page rendered to text.

A file is a sequence of *blocks*: its non-blank lines, after hard-wrapped paragraphs have been
joined back together (consecutive lines whose breaks all fit one greedy wrap width).

Rules, applied in this order:

1. **Prose or chrome.** A block is *prose* when it reads like running text: at least
   ``MIN_PROSE_WORDS`` words (CJK: two characters a word), it ends like a sentence (``.``,
   ``…``, ``。``, optionally followed by a closing quote or bracket; ``?``/``!`` only for long
   lines, since short ones are headlines and taglines) or is a very long multi-sentence block,
   it is not Title Case, not a list item (``- x``, ``• x``, ``1. x``) unless itself long, and it
   carries no boilerplate cue (copyright, cookies, newsletter, sharing, comment-form text, a
   call to action: "Click here", a line opening with "Click"/"Clique"/"Klicken").
   Everything else is *chrome*: menus, breadcrumbs, bylines, date lines, headline lists,
   "Advertisement", "Read more: <headline>", share buttons.
2. **Asides.** Prose that belongs to something else on the page is chrome too, and never kept:
   a photo caption (the block just above a short credit line such as "Photo: Ann Lee, AP" or
   "Ann Lee | Getty Images", or a block ending in "(Credit: ...)"), teasers of other pages
   (blocks ending in "[…]", and ellipsis-ended blocks when at least ``MIN_EXCERPTS`` of them have
   about one length: a site cuts its excerpts at a fixed width, while a writer's sentences
   trailing off "..." vary), and the footer's small print (prose shut in between the site's
   copyright notice and other boilerplate: disclaimers, trademark notices).
3. **Body = densest prose region.** Each prose block scores its word count, each chrome block
   costs ``CHROME_COST`` words, and boilerplate, bylines and bare date lines cost
   ``BOUNDARY_COST`` because they mark where an article ends (share bar, comment thread,
   teasers of other stories). The body is the contiguous run of blocks with the highest total
   (maximum-subarray, as in Finn et al.'s Body Text Extraction), widened by adjacent short
   sentences. A short interruption (an ad label, an inline "Read more" link, an embedded
   headline list) is crossed when real prose follows it; cookie banners and comments far from
   the article are not. Inside the region only prose blocks and short sentences are kept, never
   chrome, because a sidebar headline left in the body makes different stories look alike.
   An author's bio at the end ("About Jane Doe", with a name of 2-3 capitalised words, or
   "About the author", and at most ``MAX_BIO_BLOCKS`` blocks after it) is cut off.
4. **Clean files.** When the file is ``title, blank line, paragraphs`` and the region reaches
   from the second block to the last, the body is everything after the title (a clean article
   has no chrome, so its short lines such as subheadings are text too).
5. **Title.** Candidates are the chrome blocks shortly before the body that look like a
   headline: 2-40 words, no final full stop, not a list item, menu/breadcrumb, label, byline,
   date line or boilerplate. Each scores the share of its words found in the first paragraphs,
   plus a bonus when exactly one other line quotes it (``<title>``-like or breadcrumb lines) or a
   byline/dateline follows it, minus penalties when many lines quote it (a site name), when it
   contains another candidate (a breadcrumb), when it appears twice (sidebar lists), when it has
   few content words, and for each candidate between it and the body. The best one wins.
6. **Date.** The published date is taken from a short non-prose line with a recognisable date
   (ISO, "9 May 2005", "May 9, 2005", "09/05/2005", "09.05.2005", optional time, am/pm and zone):
   the one nearest after the title and before the body, else the nearest before the title,
   else the first one after the body. Zones (``GMT``, ``Z``, ``+02:00``, US abbreviations) make
   the datetime timezone-aware. How dates are written is :mod:`archive.sources.dates`'s.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import regex

from archive.sources.article import Article, BodyStatus
from archive.sources.compilation import as_compilation
from archive.sources.dates import date_in_text, opens_with_day_without_year, text_beside_date
from archive.sources.records import Document, ParseResult, checked_record, content_hash
from archive.text.terms import CJK_RUN, WORD_CHAR, WORD_START, is_latin1, split_cjk

MIN_PROSE_WORDS = 6
LONG_PROSE_WORDS = 15
CHROME_COST = 10
BOUNDARY_COST = 40
TITLE_WINDOW = 12
TITLE_RANK_COST = 0.2
MAX_TITLE_WORDS = 40
MAX_WRAP_WIDTH = 100
MAX_DATE_LINE_WORDS = 16
# a site cuts its teasers at one width: this many ellipsis-ended blocks of about one length
MIN_EXCERPTS = 3
EXCERPT_LENGTH_SLACK = 5
# "Photo: X" also titles galleries ("Photos: Cars for auction"), so a credit line is short
MAX_CREDIT_WORDS = 8
MAX_BIO_BLOCKS = 3
# a standfirst under a headline, when the page carries nothing else of the article
MIN_TEASER_WORDS = 10
# a line of page text worth keeping when no article can be told apart
MIN_PAGE_TEXT_WORDS = 3
# A text of more lines than this is kept whole as the page's text, without the article rules:
# no article has that many lines (a long read has a few hundred), and reading that many one by
# one takes seconds (2,400,000 lines of "x" took 23 s).
MAX_TEXT_LINES = 50_000

# Words: letters and digits of any script with the combining marks after them (re's \w alone
# cuts Hindi, Bengali or Tamil words at every vowel sign; emoji variation selectors are no
# part of a word), joined by apostrophes. Latin-1 text has no marks: re, twice as fast.
_LATIN1_WORD_RE = re.compile(r"\w+(?:['’]\w+)*")
_WORD_RE = regex.compile(rf"{WORD_START}{WORD_CHAR}*(?:['’]{WORD_START}{WORD_CHAR}*)*", regex.V1)
# One character of a script written without spaces (Han, kana): see archive.text.terms.CJK_RUN.
_CJK_RE = regex.compile(CJK_RUN.pattern.removesuffix("+"))
# Sentence ends of any script: the ideographic and fullwidth full stops and marks, Devanagari
# danda and double danda, Arabic question mark, Urdu full stop, Syriac, Armenian, Ethiopic,
# Myanmar and Tibetan ends.
_SENTENCE_END_RE = re.compile(r"[.!?…。！？．｡।॥؟۔܀։።။།][\"'”’»)\]」』]*$")
# A sentence end inside a line: before a capital (of any cased script) or a letter of a
# caseless one, after a danda or the like and a space, and after an ideographic end directly.
_INNER_SENTENCE_RE = regex.compile(
    r"[.!?][\"'”’)\]]*\s+[\"'“‘(]?(?:[A-Z0-9]|(?!\p{Latin})[\p{Lu}\p{Lt}\p{Lo}])"
    r"|[।॥؟۔܀։።။།][\"'”’)\]]*\s+\S|[。！？][」』”’)\]]*[^\s」』”’)\]]"
)
_LIST_ITEM_RE = re.compile(r"^(?:[-–—•·*▪►›»]\s+|\d{1,2}[.)]\s+)")
_NAV_SEPARATOR_RE = re.compile(r"\s[|>›»/·•]\s|(?<=\w)>|›| {2,}|\t")
# a character every separator above holds
_NAV_MARK_RE = re.compile(r"[|>›»/·•\t]|  ")
# "Categories: Sport", "Search for:", "Tags: a, b, c" - but not "Exclusive: Council quits"
_LABEL_RE = re.compile(r"^\w+(?: \w+)?:(?:\s*\S+)?\s*$|^\w+(?: \w+)?: [^,]+(?:, [^,]+)+$")
_BYLINE_RE = re.compile(r"^(?:by|von|par|por|di)\s+\S+(?:\s+\S+){0,4}$", re.IGNORECASE)
# an excerpt cut off to tease another page: "... the new C940 range has impro..."
_TRUNCATED_RE = re.compile(r"\w\W{0,2}(?:\.\.\.|…)$")
_ELLIPSES = ("...", "…")
_EXCERPT_MARKS = ("[...]", "[…]")  # WordPress's "read more" mark
# a photo credit under a caption: "Photo: Ann Lee, AP", "Ann Lee | Bloomberg | Getty Images"
# ("Additional reporting by Reuters" is no credit: an agency counts after a separator)
_CREDIT_RE = re.compile(
    r"^\(?(?:(?:photo|image|picture|photograph)(?: credit)?(?::| by )|credit:|ap photo\b)|"
    r"(?:^|[|/,]\s*)(?:getty images|shutterstock|istock|ap|afp|reuters)\)?$",
    re.IGNORECASE,
)
# the caption itself often carries its credit: "Marcelo Claure (Credit: Getty Images)"
_INLINE_CREDIT_RE = re.compile(r"\((?:photo|image|picture)?\s*credit:[^)]*\)$|[a-z]Credit:", re.I)
# Lines of page furniture that look like headlines (see _is_page_furniture), lower-cased.
_FURNITURE_RE = re.compile(
    r"@|https?:|www\.|\+\d[\d ()-]{6,}|"
    r"^(?:go|back|skip|scroll|return|jump) to\b|^image \d+ ?(?:of|/)|\b\d+ of \d+$|"
    r"order reprint|^e-?mail\b|^(?:print|close|next|previous|share|tweet|comments?|"
    r"advertisement|menu|search|home|more|show more|load more)\b[^a-z]*$|^/|\bsource: |"
    r"getty images|\bap photo\b|/ap\b|\bphoto:|\bphotograph:|\bimage:|\bcredit:"
)
MIN_TITLE_WORDS = 3
# A photo caption as news sites and agencies write them, whatever stands around it: "FILE - In
# this June 30, 2013 file photo, ...", "This March 20 photo shows ...", "... (AP Photo/Ann Lee)",
# "... (Photo by Ann Lee/Getty Images) less". Agency captions travel with the agency's pictures
# to every site that runs them, so left in a body they link different stories of one day.
_CAPTION_RE = re.compile(
    r"^\(?FILE\)?\s?[-–—]|^(?:In )?[Tt]his (?:[A-Z][a-z]+\.? \d{1,2}, \d{4},? )?(?:file )?photo\b|"
    r"\bAP Photo/|\((?:Photo|Image|Picture)s? (?:by|credit|courtesy)\b|"
    r"(?:/|\bvia |, )(?:AP|AFP|Getty Images|Reuters|Invision|Shutterstock|EPA)(?:, File)?\)"
    r"(?:\s*(?:less|more))?$"
)
# how the captions of _CAPTION_RE's first two alternatives begin
_CAPTION_OPENINGS = ("FILE", "(FILE", "This ", "this ", "In This ", "In this ")
# "About Jane Doe", "Über Moritz Bachmann", "About the author": an author's bio follows
_AUTHOR_BIO_RE = re.compile(
    r"^(?i:about|über|sobre|à propos de|a propos de|acerca de)\s+"
    r"(?:(?i:the author)|(?:[A-Z][\w'’.-]+\s+){1,2}[A-Z][\w'’-]+)$"
)
# the site's own notice ("© 2019 Acme Media", "All rights reserved"), not a picture's
_PAGE_COPYRIGHT_RE = re.compile(
    r"all rights reserved|©\s*(?:19|20)\d\d|copyright\s*(?:©\s*)?(?:19|20)\d\d", re.IGNORECASE
)
_SPACES_RE = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
# Boilerplate, matched case-insensitively (see _is_boilerplate): phrases found anywhere...
_BOILERPLATE_PHRASES = (
    "©", "copyright", "all rights reserved", "cookie", "newsletter", "sign up", "subscribe",
    "privacy policy", "terms of use", "terms of service", "email address will not be published",
    "required fields are marked", "leave a reply", "leave a comment", "share this", "share on",
    "share via", "follow us", "click here", "javascript",
    # walls and prompts that stand where an article's text would (paywalls, registration,
    # share dialogs, ad-blocker notices): extracted as a body, they make unrelated pages alike
    "continue reading", "read the full story", "read the full article", "free articles",
    "already a subscriber", "already have an account", "create an account",
    "create a free account", "a link has been sent", "has been posted to your",
    "ad blocker", "adblocker", "ad-blocker", "unlimited digital access", "to read this article",
)  # fmt: skip
# ...and patterns, searched in the lower-cased line.
_BOILERPLATE_RE = re.compile(
    r"\(c\) \d{4}|^disclaimer:|^(?:click|clique|cliquez|klicken)\s|"
    r"(?<![\w-])(?:log|sign) (?:in|up)(?: (?:or|now|here)\b| to (?:continue|read|comment|view|"
    r"access|your)\b|[.!:]|$)|^scroll to top\b"
)
# The characters a case-insensitive regular expression equates with an ASCII letter but whose
# str.lower() is not that letter (U+212A, the Kelvin sign, lower-cases to "k" already).
_CASE_ODDITIES = (("\u0130", "i"), ("\u0131", "i"), ("\u017f", "s"))
_STOP_TITLE_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "by",
        "as",
        "with",
        "from",
        "is",
        "are",
        "was",
        "be",
        "it",
        "its",
        "this",
        "that",
    ]
)


@dataclass(frozen=True)
class _Block:
    """One non-blank line (or re-joined wrapped paragraph) of the file."""

    text: str
    blank_before: bool
    prose: bool
    menu: bool
    aside: bool = False  # part of something else on the page: a caption, another page's teaser


def extract_text(text: str) -> Article:
    """Extract the article (title, body, published date) from plain text or a page dump.

    Nothing with text is lost: when no article body can be told apart, the result keeps a
    teaser (a headline and its standfirst), else the page's text, with a ``body_status`` that
    says so (see :class:`archive.sources.article.BodyStatus`); a live blog, digest or aggregator
    page is marked a compilation. A text of over ``MAX_TEXT_LINES`` lines is all page text
    (:func:`plain_page_text`).
    """
    if text.count("\n") + text.count("\r") > MAX_TEXT_LINES:
        return plain_page_text(text)
    raw_blocks = _blocks(text)
    if not raw_blocks:
        return Article(title="", body="")
    blocks = _mark_asides(raw_blocks)
    found = _article(blocks)
    if found is None:
        # Captions can take an article's paragraphs with them when each paragraph sits above a
        # photo credit: read the page again with them as prose.
        found = _article(raw_blocks)
    if found is None:
        found = _teaser(blocks)
    if found is None:
        return _page_text(blocks)
    return as_compilation(found, [b.text for b in raw_blocks])


def sniff(document: Document) -> bool:
    """Any text is a text dump: the format of a file that no other format takes."""
    return True


def read(document: Document) -> Iterator[ParseResult]:
    """A text's article (:func:`extract_text`)."""
    article = extract_text(document.text)
    yield checked_record(document.source, "text", content_hash(document.raw), article)


def _article(blocks: list[_Block]) -> Article | None:
    """The article of the page: its densest prose region, titled and dated; None when the page
    has no prose."""
    start, end = _body_region(blocks)
    if start < 0:
        return None
    title_index = _title_index(blocks, start, end)
    if _is_clean_layout(blocks, start, end, title_index):
        body_blocks = [b.text for b in blocks[1:]]
    else:
        body_blocks = [b.text for b in blocks[start:end] if _keep_in_body(b)]
    body_blocks = _without_repeats(body_blocks)
    if not body_blocks:
        return None
    title = blocks[title_index].text if title_index is not None else ""
    published = _published_date(blocks, title_index, start, end)
    return Article(title=title, body="\n\n".join(body_blocks), published_at=published)


def _without_repeats(texts: list[str]) -> list[str]:
    """Each paragraph once: pages repeat captions, pull quotes and teasers, and a paragraph
    counted twice would weigh twice in what the body is compared by."""
    seen: set[str] = set()
    kept = []
    for text in texts:
        if text not in seen:
            seen.add(text)
            kept.append(text)
    return kept


def _teaser(blocks: list[_Block]) -> Article | None:
    """A page that carries only a headline and its standfirst (a teaser of an article behind a
    link or a wall): the first sentence-like line of at least ``MIN_TEASER_WORDS`` words that
    is no chrome, with the headline above it."""
    for i, block in enumerate(blocks):
        line = block.text
        if (
            block.aside
            or block.menu
            or _word_count(line) < MIN_TEASER_WORDS
            or _is_boilerplate(line)
            or _LIST_ITEM_RE.match(line)
            or _is_title_case(_words(line))
            or _is_date_line(line)
        ):
            continue
        title_index = _title_index(blocks, i, i + 1)
        title = blocks[title_index].text if title_index is not None else ""
        published = _published_date(blocks, title_index, i, i + 1)
        return Article(title=title, body=line, published_at=published)
    return None


def _page_text(blocks: list[_Block]) -> Article:
    """The page's own text, every line of it, when it holds no article: ``page-text`` when some
    line of at least ``MIN_PAGE_TEXT_WORDS`` words is no boilerplate (a headline, bullet
    summaries, captions), else ``boilerplate-only`` (walls, notices, prompts)."""
    wordy = [
        b
        for b in blocks
        if not b.menu and not _is_boilerplate(b.text) and len(_words(b.text)) >= MIN_PAGE_TEXT_WORDS
    ]
    status = BodyStatus.PAGE_TEXT if wordy else BodyStatus.BOILERPLATE_ONLY
    title_index = _first_wordy_block(blocks, len(blocks)) if wordy else None
    title = blocks[title_index].text if title_index is not None else ""
    return Article(title=title, body="\n\n".join(b.text for b in blocks), body_status=status)


def plain_page_text(text: str) -> Article:
    """Every non-blank line of ``text``, white space collapsed, as a page's text (no title, no
    date): ``page-text`` when some line has ``MIN_PAGE_TEXT_WORDS`` words, else
    ``boilerplate-only``. Linear and cheap, for texts too big for the article rules."""
    lines = [" ".join(line.split()) for line in re.split(r"\r\n|\r|\n", text)]
    kept = [line for line in lines if line]
    wordy = any(line.count(" ") + 1 >= MIN_PAGE_TEXT_WORDS for line in kept)
    status = BodyStatus.PAGE_TEXT if wordy else BodyStatus.BOILERPLATE_ONLY
    return Article(title="", body="\n\n".join(kept), body_status=status)


# --- blocks ------------------------------------------------------------------------------


def _blocks(text: str) -> list[_Block]:
    raw_lines = [line.strip() for line in re.split(r"\r\n|\r|\n", text)]
    lines = [_SPACES_RE.sub(" ", line) for line in raw_lines]
    blocks: list[_Block] = []
    blank_before = True
    start = 0
    while start < len(lines):
        end = _wrap_group_end(lines, start) if lines[start] else start + 1
        if not lines[start]:
            blank_before = True
        else:
            joined = " ".join(lines[start:end])
            menu = end == start + 1 and _is_menu(raw_lines[start])
            blocks.append(_Block(joined, blank_before, _is_prose(joined), menu))
            blank_before = False
        start = end
    return blocks


def _mark_asides(blocks: list[_Block]) -> list[_Block]:
    """Mark prose that belongs to something other than the article: photo captions (the block
    above a credit line, or one ending in its credit), excerpts of other pages and the footer's
    small print."""
    excerpts = _excerpts(blocks)
    credits = [_is_credit(b.text) for b in blocks]
    aside = [
        credit or i in excerpts or _has_inline_credit(b.text) or _is_caption(b.text)
        for i, (b, credit) in enumerate(zip(blocks, credits, strict=True))
    ]
    for i in range(1, len(blocks)):
        if credits[i]:
            aside[i - 1] = True
    for first, last in _small_print(blocks):
        aside[first:last] = [True] * (last - first)
    return [
        replace(b, prose=False, aside=True) if a else b for b, a in zip(blocks, aside, strict=True)
    ]


def _excerpts(blocks: list[_Block]) -> set[int]:
    """Teasers of other pages: blocks ending in "[…]", and ellipsis-ended blocks when several
    have about one length (a site cuts its excerpts at a fixed width; a writer's sentences
    trailing off "..." have no such common length)."""
    cut = {
        i: len(b.text)
        for i, b in enumerate(blocks)
        if b.text.endswith(_ELLIPSES)
        and _TRUNCATED_RE.search(b.text)
        and len(_words(b.text)) >= MIN_PROSE_WORDS
    }
    found = {i for i, b in enumerate(blocks) if b.text.endswith(_EXCERPT_MARKS)}
    lengths = sorted(cut.values())
    for i, length in cut.items():
        low = bisect_left(lengths, length - EXCERPT_LENGTH_SLACK)
        high = bisect_right(lengths, length + EXCERPT_LENGTH_SLACK)
        if high - low >= MIN_EXCERPTS:
            found.add(i)
    return found


def _small_print(blocks: list[_Block]) -> list[tuple[int, int]]:
    """Runs of prose shut in between the site's copyright notice and other boilerplate: the
    footer's disclaimers and trademark notices. An article's own prose is not enclosed this
    way: its headline or byline stands on its other side.
    """
    runs: list[tuple[int, int]] = []
    for i, block in enumerate(blocks):
        if block.prose or not _PAGE_COPYRIGHT_RE.search(block.text):
            continue
        for step in (-1, 1):
            j = i + step
            while 0 <= j < len(blocks) and blocks[j].prose:
                j += step
            inside = (j + 1, i) if step < 0 else (i + 1, j)
            enclosed = inside[0] < inside[1] and 0 <= j < len(blocks)
            if enclosed and _is_boilerplate(blocks[j].text):
                runs.append(inside)
    return runs


def _is_credit(line: str) -> bool:
    """A photo credit under its caption ("Image copyright X" heads the picture instead)."""
    return (
        bool(_CREDIT_RE.search(line))  # first: most lines fail it, and it is cheaper
        and len(_words(line)) <= MAX_CREDIT_WORDS
        and not _has_inline_credit(line)
        and "copyright" not in line.lower()
    )


def _is_caption(line: str) -> bool:
    """A photo caption in an agency's or a site's house style (see ``_CAPTION_RE``)."""
    # What each of the expression's alternatives needs, told in C first: most lines have none
    # of it, and the expression tries every one of them at every position (50 times slower).
    return (
        "(" in line or ")" in line or "AP Photo/" in line or line.startswith(_CAPTION_OPENINGS)
    ) and bool(_CAPTION_RE.search(line))


def _has_inline_credit(line: str) -> bool:
    return "redit:" in line and bool(_INLINE_CREDIT_RE.search(line))


def _is_menu(raw_line: str) -> bool:
    """Navigation and breadcrumbs: items split by separators or wide gaps, each item short."""
    if not _NAV_MARK_RE.search(raw_line):  # no separator: one item (5 times faster than split)
        return False
    parts = [p for p in _NAV_SEPARATOR_RE.split(raw_line) if p.strip()]
    return len(parts) >= 3 or (len(parts) == 2 and all(len(p.split()) <= 3 for p in parts))


def _wrap_group_end(lines: list[str], start: int) -> int:
    """Index after the last line of the hard-wrapped paragraph starting at ``start``.

    Greedy wrapping at width W fills every line but the last to within one word of W and
    breaks only where the next word would not fit, so all breaks must admit one W.
    """
    lo, hi = len(lines[start]), 10**6
    end = start + 1
    while end < len(lines) and lines[end] and not _LIST_ITEM_RE.match(lines[end]):
        prev, nxt = lines[end - 1], lines[end]
        new_lo = max(lo, len(nxt))
        new_hi = min(hi, len(prev) + 1 + len(nxt.split(" ", 1)[0]))
        if not (new_lo < new_hi <= MAX_WRAP_WIDTH + 20 and 50 <= len(prev) >= new_lo - 15):
            break
        lo, hi = new_lo, new_hi
        end += 1
    if end - start == 2 and (
        not lines[start + 1][:1].islower() or _SENTENCE_END_RE.search(lines[start])
    ):
        return start + 1  # one break proves little: a headline can precede a short line
    return end


def _words(text: str) -> list[str]:
    """The words of ``text`` in any script; runs of Han and kana, written without spaces, cut
    into overlapping character bigrams as :mod:`archive.text.terms` does (so that a headline's words
    can be found in the lead paragraphs)."""
    if is_latin1(text):  # no marks, no CJK
        return _LATIN1_WORD_RE.findall(text)
    found = _WORD_RE.findall(text)
    if not CJK_RUN.search(text):
        return found
    return [piece for word in found for piece in split_cjk(word)]


def _word_count(text: str, words: list[str] | None = None) -> int:
    """Words of spaced scripts plus one per two CJK characters (which are written unspaced);
    ``words`` are the text's :func:`_words` when they are at hand."""
    if text.isascii():  # no CJK: only words
        return len(_LATIN1_WORD_RE.findall(text) if words is None else words)
    cjk = len(_CJK_RE.findall(text))
    if not cjk:
        return len(_words(text) if words is None else words)
    return len(_words(_CJK_RE.sub(" ", text))) + cjk // 2


def _is_boilerplate(line: str) -> bool:
    """Copyright, cookie and newsletter notices, sharing and comment prompts.

    As a case-insensitive regular expression would find them, but searched in the lower-cased
    line, phrases with ``in``: several times faster (every block of every page is checked).
    """
    for odd, letter in _CASE_ODDITIES:
        if odd in line:
            line = line.replace(odd, letter)
    line = line.lower()
    return any(phrase in line for phrase in _BOILERPLATE_PHRASES) or bool(
        _BOILERPLATE_RE.search(line)
    )


def _is_prose(line: str) -> bool:
    words = _words(line)
    count = _word_count(line, words)
    long = count >= LONG_PROSE_WORDS
    if count < MIN_PROSE_WORDS or (_is_boilerplate(line) and len(words) < 60):
        return False
    if (_LIST_ITEM_RE.match(line) and not long) or _is_title_case(words):
        return False
    return _ends_sentence(line, long) or (
        len(words) >= 40 and bool(_INNER_SENTENCE_RE.search(line))
    )


def _ends_sentence(line: str, long: bool) -> bool:
    match = _SENTENCE_END_RE.search(line)
    # a short line ending in ? or ! is as often a headline or a tagline as a sentence
    return match is not None and (match.group()[0] in ".…。．｡।॥۔܀։።။།" or long)


def _is_title_case(words: list[str]) -> bool:
    """Headlines, taglines and menus capitalise most words; prose does not."""
    if len(words) >= 25:
        return False
    longer = [w for w in words[1:] if len(w) >= 4 and w.isalpha()]
    capitalised = sum(w[0].isupper() for w in longer)
    return len(longer) >= 3 and capitalised >= 0.8 * len(longer)


def _keep_in_body(block: _Block) -> bool:
    """Prose, or a short sentence between prose (a one-line quote, a closing remark)."""
    if block.prose:
        return True
    line = block.text
    return (
        not block.aside
        and len(_words(line)) >= 3
        and bool(_SENTENCE_END_RE.search(line))
        and not _LIST_ITEM_RE.match(line)
        and not _is_boilerplate(line)
    )


# --- body region ---------------------------------------------------------------------------


def _body_region(blocks: Sequence[_Block]) -> tuple[int, int]:
    """The densest prose region, widened by adjacent short sentences (a one-line lead)."""
    start, end = _densest_region(blocks)
    if start < 0:
        return start, end
    end = _before_author_bio(blocks, start, end)
    while start > 0 and _is_short_sentence(blocks[start - 1]):
        start -= 1
    while end < len(blocks) and _is_short_sentence(blocks[end]):
        end += 1
    return start, end


def _before_author_bio(blocks: Sequence[_Block], start: int, end: int) -> int:
    """Where the article ends when its last blocks are an author's bio ("About Jane Doe", a
    paragraph or two): the bio reads like prose but is about someone else. A longer stretch
    after such a line is the article going on under a subheading."""
    for i in range(start + 1, end):
        if _AUTHOR_BIO_RE.match(blocks[i].text) and end - i - 1 <= MAX_BIO_BLOCKS:
            return i
    return end


def _chrome_cost(block: _Block) -> int:
    """Boilerplate, bylines and bare date lines mark where an article ends and others begin
    (share bar, comment thread, teasers of other stories)."""
    line = block.text
    if _is_boilerplate(line) or _BYLINE_RE.match(line) or _is_date_line(line, 2):
        return BOUNDARY_COST
    return CHROME_COST


def _is_short_sentence(block: _Block) -> bool:
    line = block.text
    return (
        not block.prose
        and not block.aside
        and len(_words(line)) >= 3
        and line.endswith(".")
        and not _LIST_ITEM_RE.match(line)
        and not _is_boilerplate(line)
        and not _is_date_line(line)
    )


def _densest_region(blocks: Sequence[_Block]) -> tuple[int, int]:
    """The [start, end) run of blocks with the highest prose-minus-chrome score (-1 if none)."""
    best, best_range = 0, (-1, -1)
    total, run_start = 0, 0
    for i, block in enumerate(blocks):
        if total <= 0:
            total, run_start = 0, i
        total += _word_count(block.text) if block.prose else -_chrome_cost(block)
        if total > best:
            best, best_range = total, (run_start, i + 1)
    return best_range


def _is_clean_layout(
    blocks: Sequence[_Block], start: int, end: int, title_index: int | None
) -> bool:
    return title_index == 0 and start == 1 and end == len(blocks) and blocks[1].blank_before


# --- title -------------------------------------------------------------------------------


def _title_index(blocks: Sequence[_Block], start: int, end: int) -> int | None:
    window = range(start - 1, max(0, start - TITLE_WINDOW) - 1, -1)
    # Furniture shaped like a headline cannot win, but it still stands between a candidate and
    # the body: ranks count it.
    shaped = [i for i in window if _has_headline_shape(blocks[i])]
    ranks = {i: rank for rank, i in enumerate(shaped) if _is_headline_text(blocks[i].text)}
    if not ranks:
        return _first_wordy_block(blocks, start)
    lead_words = _lead_words(blocks, start, end)
    counts = Counter(block.text for block in blocks)
    scores = {
        i: _title_score(blocks, i, lead_words, counts) - TITLE_RANK_COST * rank
        for i, rank in ranks.items()
    }
    return max(ranks, key=lambda i: scores[i])


def _first_wordy_block(blocks: Sequence[_Block], start: int) -> int | None:
    """The last line before ``start`` that could title the page; None rather than furniture."""
    before = [
        i
        for i in range(min(start, len(blocks)))
        if len(_words(blocks[i].text)) >= 2
        and not _is_picture_text(blocks[i].text)
        and not blocks[i].menu
        and not _is_boilerplate(blocks[i].text)
        and not _is_date_line(blocks[i].text)
        and not _is_page_furniture(blocks[i].text)
    ]
    return before[-1] if before else None


def _lead_words(blocks: Sequence[_Block], start: int, end: int) -> set[str]:
    lead = [b.text for b in blocks[start:end] if b.prose][:3]
    return {_stem(w) for w in _words(" ".join(lead))}


def _stem(word: str) -> str:
    """Crude, language-neutral stemming: "announces" and "announced" share their first letters."""
    return word.lower()[:5]


def _looks_like_headline(block: _Block) -> bool:
    return _has_headline_shape(block) and _is_headline_text(block.text)


def _is_headline_text(line: str) -> bool:
    """No caption, credit or piece of page furniture, whatever its shape."""
    return not _is_picture_text(line) and not _is_page_furniture(line)


def _has_headline_shape(block: _Block) -> bool:
    line = block.text
    words = _words(line)
    return (
        2 <= _word_count(line, words) <= MAX_TITLE_WORDS  # CJK: two characters a word
        and not block.prose
        and not block.menu
        and not _LIST_ITEM_RE.match(line)
        and not _LABEL_RE.match(line)
        and not _BYLINE_RE.match(line)
        and not _is_date_line(line)
        and not line.endswith(".")
        and not _is_boilerplate(line)
        and sum(not w.isdigit() for w in words) >= 2
    )


def _is_picture_text(line: str) -> bool:
    """A caption or credit by its own text (a headline above a picture's credit line is marked
    an aside by position, and stays a headline)."""
    return _is_caption(line) or _is_credit(line) or _has_inline_credit(line)


def _is_page_furniture(line: str) -> bool:
    """Lines that stand where a headline would but never are one: controls ("Go to permalink",
    "Image 1 of 3", "Scroll to top of page"), contact lines (an e-mail address, a phone
    number), picture credits, speaker labels of a transcript ("AUDIE CORNISH, HOST:"), a
    byline with its author's title, a bare name, a date without a year."""
    lower = line.lower()
    return (
        bool(_FURNITURE_RE.search(lower))
        or line.endswith(":")
        or (line.isascii() and len(_words(line)) < MIN_TITLE_WORDS)
        or bool(_BYLINE_RE.match(line.split(",")[0]))
        or (opens_with_day_without_year(line) and len(_words(line)) <= MAX_DATE_LINE_WORDS // 2)
    )


def _title_score(
    blocks: Sequence[_Block], i: int, lead_words: set[str], counts: Counter[str]
) -> float:
    line = blocks[i].text
    content = [w.lower() for w in _words(line) if w.lower() not in _STOP_TITLE_WORDS]
    overlap = sum(_stem(w) in lead_words for w in content) / (len(content) + 1)
    quoted = sum(line in b.text and b.text != line and not _is_boilerplate(b.text) for b in blocks)
    # a page repeats its headline once (<title>, breadcrumb); a site name recurs in many lines
    contains = sum(b.text in line and b.text != line and _looks_like_headline(b) for b in blocks)
    # the headline is usually followed by its byline or dateline
    nxt = blocks[i + 1].text if i + 1 < len(blocks) else ""
    signed = bool(_BYLINE_RE.match(nxt) or _is_date_line(nxt))
    score = overlap + 0.5 * (quoted == 1) - 0.5 * (quoted > 1) - 0.5 * (contains > 0) + 0.4 * signed
    if counts[line] > 1:
        score -= 0.5
    if min(len(content), _word_count(line)) < 3:  # CJK: two characters a word
        score -= 0.3
    return score


# --- date --------------------------------------------------------------------------------


def _is_date_line(line: str, max_other_words: int = 8) -> bool:
    """A date with at most a few other words around it (a dateline, not a headline)."""
    rest = text_beside_date(line)
    return rest is not None and len(_words(rest)) <= max_other_words


def _published_date(
    blocks: Sequence[_Block], title_index: int | None, start: int, end: int
) -> datetime | None:
    anchor = title_index if title_index is not None else start
    between = range(anchor + 1, start)
    before = range(anchor, -1, -1)
    after = range(end, len(blocks))
    for i in [*between, *before, *after]:
        line = blocks[i].text
        if blocks[i].prose or len(_words(line)) > MAX_DATE_LINE_WORDS:
            continue
        found = date_in_text(line)
        if found is not None:
            return found
    return None
