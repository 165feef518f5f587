"""Content words and how rare they are: what fingerprints and verification see of a text.

A story survives copying, trimming and rewording in its rare words: names, places, numbers,
the unusual nouns of its subject. Page chrome and independent reports of one event share mostly
common words. So every word is weighted by its rarity in general use of the text's language,
taken from the ``wordfreq`` package's frequency table for that language (a fixed table, not
statistics of the archive: a version's fingerprint must not change as the archive grows, and
the same files must link the same way in any order).

``rarity(word) = 7 - zipf(word)``, clamped to 0..7, where ``zipf`` is wordfreq's Zipf
frequency (log10 of occurrences per billion words): "the" (7.7) weighs 0, "said" (6.1) 0.9,
"government" (5.3) 1.7, "Kilroy" (2.6) 4.4, and words the table does not know (numbers, most
names, typos) weigh 7.

Languages: the language of a body is detected (:mod:`archive.text.language`) unless given. English,
and text whose language is unsure or has no wordfreq table (Thai, Georgian, most Indic scripts
but Hindi, Bengali and Tamil...), are weighed by the English table (its "large" list, as always:
English results do not change); other languages by their own ("best" list), loaded on first use.
Words are runs of letters, digits and combining marks of any script (a Hindi word keeps its
vowel signs). Chinese and Japanese are written without spaces: their runs of Han and kana are
cut into overlapping character bigrams. The zh and ja tables are of segmented words, many of
them two characters long, so a bigram that is a word ("政府", "東京") gets its own rarity and
one that straddles two words, or is written in traditional characters the zh table lacks, is
unknown and weighs 7, as a name does.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from itertools import repeat

import regex
from wordfreq import get_frequency_dict

from archive.text.language import detect_language

MAX_RARITY = 7.0
# Words at least this rare (Zipf 5.5 or less) carry a sentence's content; commoner ones are
# function words and the stock vocabulary of every news story.
CONTENT_RARITY = 1.5

# Letters, digits and the combining marks after them (re's \w leaves out the vowel signs of
# Indic scripts and cuts their words apart), but not emoji variation selectors; a zero-width
# joiner or non-joiner inside a word (Persian) keeps it whole. A word starts as a \w word does.
# WORD_START and WORD_CHAR are pattern pieces (``regex`` V1 syntax) that textdump builds its
# words of too.
WORD_START = r"[\p{L}\p{N}_]"
WORD_CHAR = r"[[\p{L}\p{N}\p{Mn}\p{Mc}_]--[\ufe00-\ufe0f\U000e0100-\U000e01ef]]"
_WORD = regex.compile(
    rf"{WORD_START}{WORD_CHAR}*(?:[\u200c\u200d]+{WORD_CHAR}+)*",
    regex.V1,
)
# The same on Latin-1 text, which has no combining marks and no CJK: re is twice as fast.
_LATIN1_WORD = re.compile(r"\w+")
# Runs of the scripts written without spaces between words (the prolonged sound mark with kana).
CJK_RUN = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\u30fc]+")
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
# Non-ASCII text: the English rule, where a capital of a cased script other than Latin, or a
# letter of a caseless script, counts as a capital...
_SENTENCE_END_ANY_SCRIPT = regex.compile(
    r"(?<=[.!?…]['\")])\s+"
    r"|(?<=[.!?…])\s+(?=['\"(\[]?(?:[A-Z0-9]|(?!\p{Latin})[\p{Lu}\p{Lt}\p{Lo}]))"
)
# ...and for a language other than English, any capital, and the inverted marks that open
# Spanish sentences.
_SENTENCE_END_OTHER_LANGUAGE = regex.compile(
    r"(?<=[.!?…]['\")])\s+|(?<=[.!?…])\s+(?=['\"(\[¿¡]?[\p{Lu}\p{Lt}\p{Lo}\p{N}])"
)
# Other scripts' sentence ends, with the closing quotes and brackets after them: Devanagari
# danda and double danda, Arabic question mark, Urdu full stop, Syriac, Armenian, Ethiopic,
# Myanmar and Tibetan ones, each followed by a space; the ideographic full stop, or ! ? after a
# Han or kana character (NFKC makes ！？ plain), followed by anything: Chinese and Japanese put
# no space between sentences. The text is cut after the match's ``end`` group; a search from
# the mark itself is ten times faster than a look-behind tried at every position.
_OTHER_END = regex.compile(
    r"(?P<end>[।॥؟۔܀։።။།]['\")\]」』]*)\s+"
    r"|(?P<end>(?:。|(?<=[\p{Han}\p{Hiragana}\p{Katakana}\u30fc])[!?])['\")\]」』]*)\s*"
)
_OTHER_END_MARKS = re.compile(r"[।॥؟۔܀։።။།。!?]")


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


# The wordfreq table each language's rarities come from; English (and None: unsure, or no table
# of its own) keep the "large" English list.
_ENGLISH = "en"
_WORDFREQ_CODES = {"hr": "sh", "sr": "sh", "bs": "sh", "tl": "fil", "no": "nb", "nn": "nb"}
_TABLES: dict[str, dict[str, float]] = {}


def _rarities(language: str | None = None) -> dict[str, float]:
    """The rarity table of a language, loaded on first use (one per language per process: a dict
    lookup per word instead of a logarithm)."""
    key = _ENGLISH if language is None else language
    table = _TABLES.get(key)
    if table is None:
        table = _TABLES[key] = _load_rarities(key)
    return table


def _load_rarities(language: str) -> dict[str, float]:
    if language == _ENGLISH:
        frequencies = get_frequency_dict(_ENGLISH, wordlist="large")
    else:
        try:
            code = _WORDFREQ_CODES.get(language, language)
            frequencies = get_frequency_dict(code, wordlist="best")
        except LookupError:  # no table for this language: English, as for unsure text
            return _rarities(_ENGLISH)
    table = {}
    for word, frequency in frequencies.items():
        zipf = math.log10(frequency) + 9
        table[word] = min(MAX_RARITY, max(0.0, MAX_RARITY - zipf))
    return table


def rarity(word: str, language: str | None = None) -> float:
    """How rare a lower-cased word is in a language (None: English), from 0 (the) to 7
    (unknown)."""
    return _rarities(language).get(word, MAX_RARITY)


@dataclass(frozen=True)
class Analysis:
    """A body read once: its words per sentence, how often each word occurs, each word's
    rarity, and the language they were weighed in (None: unsure, weighed as English).
    Fingerprints, index keys and comparisons are all derived from it."""

    sentences: tuple[tuple[str, ...], ...]
    counts: Counter[str]
    rarities: dict[str, float]
    language: str | None = None


def analyse(body: str, language: str | None = None) -> Analysis:
    """The :class:`Analysis` of an article body in ``language`` (None: detected from the body)."""
    return analyse_in(body, detect_language(body) if language is None else language)


def analyse_in(body: str, language: str | None) -> Analysis:
    """The :class:`Analysis` of a body whose language is known (None: unsure, English table);
    nothing is detected."""
    per_sentence = tuple(tuple(_tokens(s.lower())) for s in sentences(body, language))
    counts = Counter(word for sentence in per_sentence for word in sentence)
    return Analysis(per_sentence, counts, rarities_of(counts.keys(), language), language)


def words(text: str) -> list[str]:
    """Lower-cased word tokens of ``text``, after Unicode and typography normalisation."""
    # Whitespace is not collapsed as normalise_text does: no token spans it.
    return _tokens(_without_typography(text).lower())


def _tokens(text: str) -> list[str]:
    r"""The words of ``text``: runs of letters, digits and marks, Han and kana runs cut into
    bigrams."""
    if text.isascii():
        # One bytes.translate and one split, both in C: two to three times faster than the
        # regular expression, which reads the bodies of stored candidates on every comparison.
        return text.encode("ascii").translate(_ASCII_WORDS).decode("ascii").split()
    if is_latin1(text):
        return _LATIN1_WORD.findall(text)
    found = _WORD.findall(text)
    if not CJK_RUN.search(text):
        return found
    return [token for word in found for token in split_cjk(word)]


def split_cjk(word: str) -> list[str]:
    """A word with its Han and kana runs cut into overlapping character bigrams (a run of one
    character stays whole), the rest of it (Latin letters, digits) kept as words.

    Chinese and Japanese put no spaces between words, so a run of their characters is a whole
    phrase or sentence. Bigrams need no segmenter (a dictionary-sized dependency whose output
    changes between versions, which would change stored fingerprints), and they are the
    standard indexing unit for unspaced CJK in information retrieval: most words are one or
    two characters, so a word of the text is, or is covered by, its bigrams.
    """
    pieces: list[str] = []
    position = 0
    for run in CJK_RUN.finditer(word):
        if run.start() > position:
            pieces.append(word[position : run.start()])
        text = run.group()
        if len(text) == 1:
            pieces.append(text)
        else:
            pieces.extend(text[i : i + 2] for i in range(len(text) - 1))
        position = run.end()
    if position < len(word):
        pieces.append(word[position:])
    return pieces


def _split_at_other_ends(text: str) -> list[str]:
    """``text`` cut after the sentence ends of :data:`_OTHER_END`."""
    pieces, start = [], 0
    for match in _OTHER_END.finditer(text):
        if match.end() < len(text):
            pieces.append(text[start : match.end("end")])
            start = match.end()
    pieces.append(text[start:])
    return [piece for piece in pieces if piece]


def is_latin1(text: str) -> bool:
    """Whether every character of ``text`` is below U+0100 (checked in C, in well under a
    microsecond for an article)."""
    return len(text.encode("latin-1", "ignore")) == len(text)


def rarities_of(distinct: Collection[str], language: str | None = None) -> dict[str, float]:
    """Each of these distinct words with its rarity in ``language`` (None: English)."""
    # map over the table's get: faster than a dict comprehension (stored candidates' bodies
    # are read through here on every comparison).
    table = _rarities(language)
    return dict(zip(distinct, map(table.get, distinct, repeat(MAX_RARITY)), strict=True))


def sentences(body: str, language: str | None = None) -> list[str]:
    """The sentences of ``body``: paragraphs split at sentence ends (of any script; in a
    language other than English, also before any capital and before ¿ ¡)."""
    other = language is not None and language != _ENGLISH
    found: list[str] = []
    for paragraph in body.split("\n"):
        paragraph = normalise_text(paragraph)
        if not paragraph:
            continue
        if paragraph.isascii() or (not other and is_latin1(paragraph)):
            # the English rule is every rule that can apply to ASCII, and in English to Latin-1
            found.extend(s for s in _SENTENCE_END.split(paragraph) if s)
        else:
            rule = _SENTENCE_END_OTHER_LANGUAGE if other else _SENTENCE_END_ANY_SCRIPT
            for piece in rule.split(paragraph):
                if _OTHER_END_MARKS.search(piece):
                    found.extend(_split_at_other_ends(piece))
                elif piece:
                    found.append(piece)
    return found
