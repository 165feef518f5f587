"""What a version is compared by: the normalised body, its hash, features and 64-bit SimHash."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence

import numpy as np

from archive.article import Article

WeightedFeatures = Sequence[tuple[str, int]]
MAX_FEATURE_WEIGHT = 255

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


def simhash64(feature_list: Sequence[str] | WeightedFeatures) -> int:
    """``simhash.Simhash(feature_list).value``, bit for bit, computed with numpy.

    The package sets bit i when the weighted share of features whose hash has bit i set is over
    one half, a feature's hash being the last 8 bytes of the MD5 of its UTF-8 text. Here that
    vote is one matrix product instead of a Python loop over batches. Weights must be integers
    from 0 to 255: integers keep the sums exact, so ties fall as in the package, and the package
    itself fails on weights above 255 (it scales 8-bit arrays by them). Tests compare the two on
    random inputs.
    """
    if not feature_list:
        return 0
    if isinstance(feature_list[0], str):
        texts: Sequence[str] = feature_list  # type: ignore[assignment]
        weights = np.ones(len(feature_list), dtype=np.int64)
    else:
        texts = [text for text, _ in feature_list]  # type: ignore[misc]
        weights = np.fromiter((w for _, w in feature_list), dtype=np.int64)  # type: ignore[misc]
        if weights.min() < 0 or weights.max() > MAX_FEATURE_WEIGHT:
            raise ValueError(f"feature weights must be integers from 0 to {MAX_FEATURE_WEIGHT}")
    digests = b"".join(hashlib.md5(t.encode("utf-8")).digest()[-8:] for t in texts)
    bits = np.unpackbits(np.frombuffer(digests, dtype=np.uint8)).reshape(-1, 64)
    votes = weights @ bits
    majority = np.packbits(2 * votes > int(weights.sum()))
    return int.from_bytes(majority.tobytes(), "big")


def hamming(a: int, b: int) -> int:
    """Number of differing bits of two 64-bit fingerprints."""
    return (a ^ b).bit_count()
