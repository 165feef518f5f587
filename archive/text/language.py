"""Which language a text is written in (ISO 639-1), as far as word rarity needs to know."""

from __future__ import annotations

from functools import cache
from typing import Any

import regex

# Only the opening of a text is read: enough to tell a language, and the cost stays flat.
PREFIX_CHARS = 1500
# English is told from this many characters (about 100 words).
ENGLISH_PREFIX_CHARS = 600
# Fewer letters than this and nothing is said (a dateline, a caption).
MIN_LETTERS = 20
# English is told without the model when at least this share of the opening's words are among
# these common English function words (English news: 15-20%, results tables and lists less;
# other languages in Latin script: next to none, since none of these is a common word of theirs).
ENGLISH_SHARE = 0.06
MIN_ENGLISH_WORDS = 12
# The model's probability, among the languages written in the text's script, below which the
# answer is "unsure".
MIN_CONFIDENCE = 0.6

# Frequent English words that are not frequent words of other languages written in Latin
# script ("a", "in", "die", "was", "also", "will", "is", "on", "at" are: left out).
_ENGLISH_WORDS = frozenset((
    "the", "of", "and", "to", "that", "for", "with", "were", "by", "from", "his", "her", "she",
    "they", "their", "have", "had", "been", "said", "which", "who", "would", "this", "not",
    "but", "it", "its", "be", "are", "or", "after", "there", "about", "than",
))  # fmt: skip
_ENGLISH_BYTES = frozenset(word.encode("ascii") for word in _ENGLISH_WORDS)
# ASCII bytes to word characters (letters, digits, apostrophe-less): others become spaces.
_ASCII_LETTERS = bytes(c if chr(c).isalnum() else 32 for c in range(128)) + b" " * 128

# Scripts whose letters name a language outright (for the languages wordfreq has a table of).
_SCRIPT_LANGUAGE = {
    "Greek": "el",
    "Hebrew": "he",
    "Bengali": "bn",
    "Tamil": "ta",
    "Hangul": "ko",
    "Hiragana": "ja",
    "Katakana": "ja",
    "Han": "zh",
}
# Scripts read by the model, each with the languages it may answer for text in that script.
# Devanagari is Hindi unless the model is sure of Marathi or Nepali (which wordfreq lacks).
_SCRIPT_CANDIDATES = {
    "Arabic": ("ar", "fa", "ur", "ps", "ku", "ug"),
    "Devanagari": ("hi", "mr", "ne"),
    "Cyrillic": ("ru", "uk", "bg", "mk", "sr", "be", "kk", "ky", "mn"),
}
_SCRIPTS = (
    "Latin", "Cyrillic", "Greek", "Arabic", "Hebrew", "Devanagari", "Bengali", "Tamil",
    "Hangul", "Hiragana", "Katakana", "Han", "Thai", "Georgian", "Armenian", "Ethiopic",
    "Gujarati", "Gurmukhi", "Telugu", "Kannada", "Malayalam", "Oriya", "Sinhala", "Khmer",
    "Lao", "Myanmar", "Tibetan", "Syriac", "Thaana",
)  # fmt: skip
# One pass over the opening: runs of letters of one script.
_SCRIPT_RUNS = regex.compile(
    "|".join(rf"(?P<{name}>[\p{{Script={name}}}--[\P{{L}}]]+)" for name in _SCRIPTS), regex.V1
)
# Languages wordfreq has a table of, under the ISO 639-1 codes the model answers with.
_WORDFREQ_LANGUAGES = frozenset((
    "ar", "bg", "bn", "ca", "cs", "da", "de", "el", "en", "es", "fa", "fi", "fr", "he", "hi",
    "hu", "id", "is", "it", "ja", "ko", "lt", "lv", "mk", "ms", "nb", "nl", "pl", "pt", "ro",
    "ru", "sk", "sl", "sv", "ta", "tr", "uk", "ur", "vi", "zh", "hr", "bs", "tl", "no",
))  # fmt: skip


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of the language ``text`` is written in, or None when unsure or when
    wordfreq has no word table for that language (rarity then falls back to English).

    English is told from its function words without the model; most other scripts name their
    language (Devanagari Hindi, Hangul Korean, kana Japanese, Han alone Chinese, Greek, Hebrew,
    Bengali, Tamil); the model (py3langid, on the first ``PREFIX_CHARS`` characters) tells the
    languages of Latin, Cyrillic, Arabic and Devanagari script apart.
    """
    opening = text[:ENGLISH_PREFIX_CHARS].encode("ascii", "ignore")
    if len(opening) >= 0.9 * min(len(text), ENGLISH_PREFIX_CHARS):
        found = opening.translate(_ASCII_LETTERS).lower().split()
        english = sum(map(_ENGLISH_BYTES.__contains__, found))
        if len(found) >= MIN_ENGLISH_WORDS and english >= ENGLISH_SHARE * len(found):
            return "en"
    prefix = text[:PREFIX_CHARS]
    plain = prefix.encode("ascii", "ignore")
    if len(plain) >= 0.9 * len(prefix):  # Latin letters, a few accented ones or symbols aside
        found = plain.translate(_ASCII_LETTERS).split()
        if sum(map(len, found)) < MIN_LETTERS:
            return None
        return _supported(_classify(prefix, None))
    letters: dict[str, int] = {}
    for match in _SCRIPT_RUNS.finditer(prefix):
        script = match.lastgroup or ""
        letters[script] = letters.get(script, 0) + len(match.group())
    if sum(letters.values()) < MIN_LETTERS:
        return None
    script = max(letters, key=lambda name: letters[name])
    if script in ("Han", "Hiragana", "Katakana"):
        kana = letters.get("Hiragana", 0) + letters.get("Katakana", 0)
        # Japanese writes its grammar in kana; Chinese text has next to none.
        return "ja" if kana >= 0.05 * (kana + letters.get("Han", 0)) else "zh"
    if script in _SCRIPT_LANGUAGE:
        return _SCRIPT_LANGUAGE[script]
    if script == "Latin":
        return _supported(_classify(prefix, None))
    if script in _SCRIPT_CANDIDATES:
        candidates = _SCRIPT_CANDIDATES[script]
        language = _classify(prefix, candidates)
        if language is None and script != "Cyrillic":
            language = candidates[0]  # the script's main language
        return _supported(language)
    return None


def _supported(language: str | None) -> str | None:
    """The language if wordfreq has a table of it, else None."""
    return language if language in _WORDFREQ_LANGUAGES else None


def _classify(prefix: str, candidates: tuple[str, ...] | None) -> str | None:
    """The model's language for ``prefix`` among ``candidates`` (None: any), if it is sure."""
    ranked = _identifier().rank(prefix)
    if candidates is not None:
        ranked = [(language, p) for language, p in ranked if language in candidates]
    total = sum(p for _, p in ranked)
    if not ranked or total <= 0:
        return None
    language, probability = ranked[0]
    return str(language) if probability >= MIN_CONFIDENCE * total else None


@cache
def _identifier() -> Any:
    # Loaded on first need (about a second): English-only ingests never load it.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
