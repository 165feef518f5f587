"""Content words and how rare they are: what fingerprints and verification see of a text.

A story survives copying, trimming and rewording in its rare words: names, places, numbers,
the unusual nouns of its subject. Page chrome and independent reports of one event share mostly
common words. So every word is weighted by its rarity in general English, taken from the
``wordfreq`` package's frequency table (a fixed table, not statistics of the archive: a
version's fingerprint must not change as the archive grows, and the same files must link the
same way in any order).

``rarity(word) = 7 - zipf(word)``, clamped to 0..7, where ``zipf`` is wordfreq's Zipf
frequency (log10 of occurrences per billion words): "the" (7.7) weighs 0, "said" (6.1) 0.9,
"government" (5.3) 1.7, "Kilroy" (2.6) 4.4, and words the table does not know (numbers, most
names, typos, words of other languages) weigh 7.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from itertools import repeat

from wordfreq import get_frequency_dict

MAX_RARITY = 7.0
# Words at least this rare (Zipf 5.5 or less) carry a sentence's content; commoner ones are
# function words and the stock vocabulary of every news story.
CONTENT_RARITY = 1.5

_WORD = re.compile(r"\w+")
# _WORD on ASCII text as a byte table: word characters kept, every other byte a space.
_ASCII_WORDS = bytes(
    c if c < 128 and (chr(c).isalnum() or chr(c) == "_") else 32 for c in range(256)
)
# Typographic variants that copies of one text differ in: curly quotes, dashes, odd spaces.
_TYPOGRAPHY = (
    ("\u2018", "'"), ("\u2019", "'"), ("\u201a", "'"), ("\u201b", "'"),
    ("\u201c", '"'), ("\u201d", '"'), ("\u201e", '"'), ("\u201f", '"'),
    ("\u2013", "-"), ("\u2014", "-"), ("\u2212", "-"),
    ("\u00a0", " "), ("\u2009", " "), ("\u202f", " "),
)  # fmt: skip
# A sentence ends at . ! ? … followed by a capital or a digit, or by a closing quote or bracket.
_SENTENCE_END = re.compile(r"(?<=[.!?…]['\")])\s+|(?<=[.!?…])\s+(?=['\"(\[]?[A-Z0-9])")


def normalise_text(text: str) -> str:
    """Text with Unicode, typography and whitespace differences removed."""
    return " ".join(_without_typography(text).split())


def _without_typography(text: str) -> str:
    """Text with Unicode and typography differences removed (whitespace left as it is)."""
    if text.isascii():  # ASCII is in NFKC already and has no typographic variants
        return text
    text = unicodedata.normalize("NFKC", text)
    # One str.replace per variant present: str.translate looks up every character in a dict,
    # five times slower on an article.
    for variant, plain in _TYPOGRAPHY:
        if variant in text:
            text = text.replace(variant, plain)
    return text


@cache
def _rarities() -> dict[str, float]:
    # One table for the process: a dict lookup per word instead of a logarithm.
    table = {}
    for word, frequency in get_frequency_dict("en", wordlist="large").items():
        zipf = math.log10(frequency) + 9
        table[word] = min(MAX_RARITY, max(0.0, MAX_RARITY - zipf))
    return table


def rarity(word: str) -> float:
    """How rare a lower-cased word is in English, from 0 (the) to 7 (unknown)."""
    return _rarities().get(word, MAX_RARITY)


@dataclass(frozen=True)
class Analysis:
    """A body read once: its words per sentence, how often each word occurs, and each word's
    rarity. Fingerprints, index keys and comparisons are all derived from it."""

    sentences: tuple[tuple[str, ...], ...]
    counts: Counter[str]
    rarities: dict[str, float]


def analyse(body: str) -> Analysis:
    """The :class:`Analysis` of an article body."""
    per_sentence = tuple(tuple(_tokens(s.lower())) for s in sentences(body))
    counts = Counter(word for sentence in per_sentence for word in sentence)
    return Analysis(per_sentence, counts, rarities_of(counts.keys()))


def words(text: str) -> list[str]:
    """Lower-cased word tokens of ``text``, after Unicode and typography normalisation."""
    # Whitespace is not collapsed as normalise_text does: no token spans it.
    return _tokens(_without_typography(text).lower())


def _tokens(text: str) -> list[str]:
    r"""The runs of word characters (``\w+``) of ``text``."""
    if text.isascii():
        # One bytes.translate and one split, both in C: two to three times faster than the
        # regular expression, which reads the bodies of stored candidates on every comparison.
        return text.encode("ascii").translate(_ASCII_WORDS).decode("ascii").split()
    return _WORD.findall(text)


def rarities_of(distinct: Collection[str]) -> dict[str, float]:
    """Each of these distinct words with its rarity."""
    # map over the table's get: faster than a dict comprehension (stored candidates' bodies
    # are read through here on every comparison).
    return dict(zip(distinct, map(_rarities().get, distinct, repeat(MAX_RARITY)), strict=True))


def sentences(body: str) -> list[str]:
    """The sentences of ``body``: paragraphs split at sentence ends."""
    found: list[str] = []
    for paragraph in body.split("\n"):
        paragraph = normalise_text(paragraph)
        if paragraph:
            found.extend(s for s in _SENTENCE_END.split(paragraph) if s)
    return found
