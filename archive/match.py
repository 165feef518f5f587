"""Deciding links: which stored versions are candidates for a new one, and which really match.

Candidates come from the ``match_keys`` index (see :func:`index_keys`); each is then verified
on the two bodies (see :func:`verify`). The design and its measurements are in
``docs/linking.md``.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import math
from collections import OrderedDict
from dataclasses import dataclass

from archive import align
from archive.article import Article
from archive.fingerprint import body_sha256, features, hamming, simhash64
from archive.terms import Analysis, analyse

# SimHash bands: fingerprints at most BANDS - 1 bits apart share a band (near-exact copies).
BANDS = 4
BAND_BITS = 64 // BANDS
# Rare-word pairs: every pair of a body's KEY_TERMS most distinctive words is a key.
KEY_TERMS = 10
KEY_MIN_RARITY = 2.0  # Zipf 5 or rarer: "russia" yes, "minister", "said" or "year" no
# Words rarer than this rank by how often the body uses them: a typo or a one-off number
# (unknown, rarity 7) must not push out a name the story repeats.
KEY_RARITY_CAP = 5.0
_TERM_KEY_BASE = 1 << 20  # term-pair keys sit above every band key

# SimHashes further apart than this are not compared further: no copy or rewrite measured on
# the dev corpus was more than 28 bits apart, two unrelated bodies are 32 on average.
MAX_DISTANCE = 30
# Verification (see verify): weighted word overlap that makes a copy on its own...
DEFAULT_THRESHOLD = 0.5
# ...and the evidence that makes a rewrite: most sentences of the shorter body reworded, in
# order, covering a fair part of the longer body, with a good part of the vocabulary shared.
REWRITE_MIN_OVERLAP = 0.3
REWRITE_MIN_COVERED = 0.8
REWRITE_MIN_IN_ORDER = 0.75
REWRITE_MIN_COVERED_OTHER = 0.25

EXACT, NEAR, REWRITE = "exact", "near", "rewrite"


@dataclass(frozen=True)
class Fingerprint:
    """What a new version is looked up and stored by."""

    simhash: int
    body_sha256: str
    keys: tuple[int, ...]
    profile: align.Profile


@dataclass(frozen=True)
class Candidate:
    """A stored version that shares index keys (or its body hash) with the new one: its body,
    or its comparison profile when that is at hand (cached, or a version of the same batch)."""

    version_id: int
    story_id: int
    simhash: int
    body_sha256: str
    body: str | None = None
    profile: align.Profile | None = None


@dataclass(frozen=True)
class Verdict:
    """Evidence that a new version is a version of a candidate's story."""

    version_id: int
    story_id: int
    distance: int  # Hamming distance of the SimHashes
    similarity: float  # align.overlap of the bodies
    method: str  # EXACT, NEAR or REWRITE
    sentences: float  # share of the shorter body's sentences that correspond


def fingerprint(article: Article) -> Fingerprint:
    """The SimHash, body hash, candidate-index keys and comparison profile of ``article``."""
    analysis = analyse(article.body)
    value = simhash64(features(analysis))
    keys = band_keys(value) + term_keys(analysis)
    return Fingerprint(value, body_sha256(article), keys, align.profile(analysis))


def band_keys(value: int) -> tuple[int, ...]:
    """The SimHash cut into bands; by pigeonhole, fingerprints within distance ``BANDS - 1``
    share at least one band. Each key carries its band number so bands never collide."""
    mask = (1 << BAND_BITS) - 1
    return tuple(
        (band << BAND_BITS) | ((value >> (band * BAND_BITS)) & mask) for band in range(BANDS)
    )


def key_terms(body: str | Analysis) -> list[str]:
    """The body's most distinctive words: rare in English, frequent in the body.

    Scored ``min(rarity, 5) * (1 + ln count)``: names and subject nouns recur in a story, a typo
    or an odd word of a rewriter appears once. Ties go by the word, so the choice is
    deterministic.
    """
    analysis = analyse(body) if isinstance(body, str) else body
    scored = []
    for word, count in analysis.counts.items():
        weight = analysis.rarities[word]
        if weight < KEY_MIN_RARITY or len(word) < 3:
            continue
        scored.append((-min(weight, KEY_RARITY_CAP) * (1 + math.log(count)), word))
    # nsmallest: as sorted(scored)[:KEY_TERMS], without sorting every word
    return sorted(word for _, word in heapq.nsmallest(KEY_TERMS, scored))


def term_keys(body: str | Analysis) -> tuple[int, ...]:
    """Index keys of a body: one per pair of its :func:`key_terms`.

    Versions become candidates when they share two keys (see ``store.MIN_SHARED_KEYS``), that
    is three of their distinctive words. Pairs are far more selective than words (a name recurs
    across a beat, a name with a place much less), and a copy or rewrite keeps most of the
    names and nouns it is built on. Keys are the first
    63 bits of a BLAKE2b hash of the pair, moved above the band keys.
    """
    keys = []
    for first, second in itertools.combinations(key_terms(body), 2):
        digest = hashlib.blake2b(f"{first}\x1f{second}".encode(), digest_size=8).digest()
        keys.append(
            _TERM_KEY_BASE + (int.from_bytes(digest, "big") >> 1) % (2**63 - _TERM_KEY_BASE)
        )
    return tuple(keys)


_profiles: OrderedDict[tuple[int, str], align.Profile] = OrderedDict()
_PROFILE_CACHE_SIZE = 4096


def candidate_profile(new: Fingerprint, candidate: Candidate, limit: float) -> align.Profile | None:
    """The comparison profile of a stored version; None when its words show, before their
    rarities are looked up, that its overlap with the new version is under ``limit``.

    Profiles are cached: the same versions come up as candidates again and again while their
    story is being ingested. The body hash is part of the key, so two archives opened in one
    process never share an entry. Most candidates not at hand share only common words with
    the new version; the bound rejects them for a third of the cost of a profile.
    """
    if candidate.profile is not None:
        return candidate.profile
    cached = cached_profile(candidate.version_id, candidate.body_sha256)
    if cached is not None:
        return cached
    if candidate.body is None:
        raise ValueError(f"candidate {candidate.version_id} has neither a body nor a profile")
    distinct = align.distinct_words(candidate.body)
    if align.overlap_ceiling(new.profile, distinct) < limit:
        return None
    computed = align.lazy_profile(candidate.body, distinct)
    _remember(candidate.version_id, candidate.body_sha256, computed)
    return computed


def cached_profile(version_id: int, body_sha256: str) -> align.Profile | None:
    """The cached comparison profile of a stored version, if any."""
    key = (version_id, body_sha256)
    cached = _profiles.get(key)
    if cached is not None:
        _profiles.move_to_end(key)
    return cached


def remember_profile(version_id: int, fingerprint: Fingerprint) -> None:
    """Cache the profile of a version just stored: copies of a story tend to arrive together,
    so it is likely to be a candidate soon."""
    _remember(version_id, fingerprint.body_sha256, fingerprint.profile)


def _remember(version_id: int, body_sha256: str, computed: align.Profile) -> None:
    _profiles[(version_id, body_sha256)] = computed
    _profiles.move_to_end((version_id, body_sha256))
    if len(_profiles) > _PROFILE_CACHE_SIZE:
        _profiles.popitem(last=False)


def worth_comparing(new: Fingerprint, simhash: int, body_sha256: str) -> bool:
    """Whether a stored version could pass :func:`verify`, judged by its fingerprint alone: so
    the bodies of most chance candidates are never read."""
    return body_sha256 == new.body_sha256 or hamming(new.simhash, simhash) <= MAX_DISTANCE


def verify(
    new: Fingerprint,
    candidate: Candidate,
    *,
    threshold: float | None = None,
    rewrites: bool = True,
) -> Verdict | None:
    """A verdict if ``candidate`` is a version of the new one's story, else None.

    - ``exact``: the normalised bodies are equal;
    - otherwise nothing when the SimHashes are more than 30 bits apart;
    - ``near``: rarity-weighted word overlap at least ``threshold`` (default 0.5): copies,
      trimmed or edited copies;
    - ``rewrite``: overlap at least 0.3, and at least 80% of the shorter body's sentences are
      reworded sentences of the other, three quarters of them in the same order, covering at
      least a quarter of the longer body. ``rewrites=False`` links copies only.
    """
    distance = hamming(new.simhash, candidate.simhash)
    if new.body_sha256 == candidate.body_sha256:
        return Verdict(candidate.version_id, candidate.story_id, distance, 1.0, EXACT, 1.0)
    if distance > MAX_DISTANCE:
        return None
    copy_threshold = DEFAULT_THRESHOLD if threshold is None else threshold
    least = min(REWRITE_MIN_OVERLAP, copy_threshold)
    other = candidate_profile(new, candidate, least)
    if other is None:
        return None
    similarity = align.overlap(new.profile, other)
    if similarity < least:
        return None
    sentences = align.correspondence(new.profile, other)
    if similarity >= copy_threshold:
        method = NEAR
    elif (
        rewrites
        and similarity >= REWRITE_MIN_OVERLAP
        and sentences.covered >= REWRITE_MIN_COVERED
        and sentences.in_order >= REWRITE_MIN_IN_ORDER
        and sentences.covered_other >= REWRITE_MIN_COVERED_OTHER
    ):
        method = REWRITE
    else:
        return None
    return Verdict(
        candidate.version_id, candidate.story_id, distance, similarity, method, sentences.covered
    )


def best_verdict(verdicts: list[Verdict]) -> Verdict | None:
    """The strongest evidence: exact, then near, then rewrite; then most similar; then the
    oldest version."""
    if not verdicts:
        return None
    rank = {EXACT: 0, NEAR: 1, REWRITE: 2}
    return min(verdicts, key=lambda v: (rank[v.method], -v.similarity, v.version_id))
