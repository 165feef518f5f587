"""The 64-bit SimHash of a version and the hash of its normalised body."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from archive.text.terms import Analysis, analyse, normalise_text

WeightedFeatures = Sequence[tuple[str, int]]
MAX_FEATURE_WEIGHT = 255
# A feature's integer weight is its rarity (0..7) times this: fine enough to rank words, and
# within the 0..255 the simhash package accepts.
WEIGHT_SCALE = 10


class HasBody(Protocol):
    """What is fingerprinted: anything with a body, such as a parsed article
    (``archive.sources.article.Article``, which the text layer does not import)."""

    @property
    def body(self) -> str: ...


def body_sha256(article: HasBody) -> str:
    """SHA-256 of the normalised body: equal for copies that differ only in typography."""
    return hashlib.sha256(normalise_text(article.body).encode("utf-8")).hexdigest()


def features(article: HasBody | Analysis) -> list[tuple[str, int]]:
    """The SimHash features of a version: each distinct word of its body (never the page, never
    the title), weighted by rarity as ``round(10 * rarity(word))``; words of weight 0 left out.

    Distinct words rather than shingles: a rewrite keeps a story's names, numbers and rare
    nouns but hardly a phrase of it, and rare words dominate the vote rather than the page's
    stock vocabulary. Sorted, so the list is the same for the same text.
    """
    analysis = article if isinstance(article, Analysis) else analyse(article.body)
    weighted = ((word, round(WEIGHT_SCALE * r)) for word, r in analysis.rarities.items())
    return sorted((word, weight) for word, weight in weighted if weight > 0)


def simhash64(feature_list: Sequence[str] | WeightedFeatures) -> int:
    """``simhash.Simhash(feature_list).value``, bit for bit, computed with numpy.

    The package sets bit i when the weighted share of features whose hash has bit i set is over
    one half, a feature's hash being the last 8 bytes of the MD5 of its UTF-8 text. Here that
    vote is one matrix product instead of a Python loop over batches, and each word's MD5 is
    computed once per process. Weights must be integers from 0 to 255: integers keep the sums
    exact, so ties fall as in the package, and the package itself fails on weights above 255
    (it scales 8-bit arrays by them). Tests compare the two on random inputs.
    """
    if not feature_list:
        return 0
    if isinstance(feature_list[0], str):
        texts: Sequence[str] = feature_list  # type: ignore[assignment]
        weights = np.ones(len(feature_list))
    else:
        texts, raw_weights = zip(*feature_list, strict=True)
        weights = np.array(raw_weights, dtype=np.float64)
        if weights.min() < 0 or weights.max() > MAX_FEATURE_WEIGHT or (weights % 1).any():
            raise ValueError(f"feature weights must be integers from 0 to {MAX_FEATURE_WEIGHT}")
    hashes = list(map(_hashes.get, texts))
    if None in hashes:
        pairs = zip(texts, hashes, strict=True)
        hashes = [h if h is not None else _feature_hash(t) for t, h in pairs]
    digests = b"".join(hashes)  # type: ignore[arg-type]
    bits = np.unpackbits(np.frombuffer(digests, dtype=np.uint8)).reshape(-1, 64)
    # Floating point, for BLAS speed, yet exact: the sums are integers far below 2**53.
    votes = weights @ bits.astype(np.float64)
    majority = np.packbits(2 * votes > weights.sum())
    return int.from_bytes(majority.tobytes(), "big")


_hashes: dict[str, bytes] = {}
_HASH_CACHE_SIZE = 500_000


def _feature_hash(text: str) -> bytes:
    """The last 8 bytes of the MD5 of a feature, as the simhash package hashes it.

    Cached: the features are words, and an archive's vocabulary repeats from one article to
    the next, so most MD5s would be computed again and again (the cache is emptied when full,
    which keeps memory bounded at a few tens of MB).
    """
    digest = _hashes.get(text)
    if digest is None:
        if len(_hashes) >= _HASH_CACHE_SIZE:
            _hashes.clear()
        digest = _hashes[text] = hashlib.md5(text.encode("utf-8")).digest()[-8:]
    return digest


def hamming(a: int, b: int) -> int:
    """Number of differing bits of two 64-bit fingerprints."""
    return (a ^ b).bit_count()
