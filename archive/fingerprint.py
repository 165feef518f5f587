"""What a version is compared by: the normalised body, its hash, features and 64-bit SimHash."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from simhash import Simhash

from archive.article import Article

SHINGLE_WORDS = 3

_WORD = re.compile(r"\w+")
# Typographic variants that copies of one text differ in: curly quotes, dashes, odd spaces.
_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"',
        "\u2013": "-", "\u2014": "-", "\u2212": "-",
        "\u00a0": " ", "\u2009": " ", "\u202f": " ",
    }
)  # fmt: skip


def normalise_text(text: str) -> str:
    """Text with Unicode, typography and whitespace differences removed."""
    text = unicodedata.normalize("NFKC", text).translate(_TYPOGRAPHY)
    return " ".join(text.split())


def body_sha256(article: Article) -> str:
    """SHA-256 of the normalised body: equal for copies that differ only in typography."""
    return hashlib.sha256(normalise_text(article.body).encode("utf-8")).hexdigest()


def words(text: str) -> list[str]:
    """Lower-cased word tokens of ``text``."""
    return _WORD.findall(normalise_text(text).lower())


def features(article: Article) -> list[str]:
    """The SimHash features of a version: its body's word 3-shingles (the page is not used)."""
    tokens = words(article.body)
    if len(tokens) < SHINGLE_WORDS:
        return [" ".join(tokens)]
    return [" ".join(tokens[i : i + SHINGLE_WORDS]) for i in range(len(tokens) - SHINGLE_WORDS + 1)]


def simhash64(feature_list: list[str]) -> int:
    """The ``simhash`` package's unsigned 64-bit value for ``feature_list``."""
    return int(Simhash(feature_list).value)


def hamming(a: int, b: int) -> int:
    """Number of differing bits of two 64-bit fingerprints."""
    return (a ^ b).bit_count()
