"""Deciding links: which stored versions are candidates for a new one, and which really match."""

from __future__ import annotations

from dataclasses import dataclass

from archive.article import Article
from archive.fingerprint import body_sha256, features, hamming, simhash64

BANDS = 4
BAND_BITS = 64 // BANDS
MAX_NEAR_DISTANCE = 3
# A candidate is linked when verification scores it at least this similar.
DEFAULT_THRESHOLD = 1.0 - MAX_NEAR_DISTANCE / 64


@dataclass(frozen=True)
class Fingerprint:
    """What a new version is looked up and stored by."""

    simhash: int
    body_sha256: str
    keys: tuple[int, ...]


@dataclass(frozen=True)
class Candidate:
    """A stored version that shares an index key with the new one."""

    version_id: int
    story_id: int
    simhash: int
    body_sha256: str
    title: str
    body: str


@dataclass(frozen=True)
class Verdict:
    """Evidence that a new version is a version of a candidate's story."""

    version_id: int
    story_id: int
    distance: int
    similarity: float
    method: str  # "exact" or "near"


def fingerprint(article: Article) -> Fingerprint:
    """The SimHash, body hash and candidate-index keys of ``article``."""
    value = simhash64(features(article))
    return Fingerprint(value, body_sha256(article), band_keys(value))


def band_keys(value: int) -> tuple[int, ...]:
    """The SimHash cut into bands; by pigeonhole, fingerprints within distance ``BANDS - 1``
    share at least one band. Each key carries its band number so bands never collide."""
    mask = (1 << BAND_BITS) - 1
    return tuple(
        (band << BAND_BITS) | ((value >> (band * BAND_BITS)) & mask) for band in range(BANDS)
    )


def verify(
    new: Fingerprint, candidate: Candidate, *, threshold: float | None = None
) -> Verdict | None:
    """A verdict if ``candidate`` is a version of the new one's story, else None."""
    distance = hamming(new.simhash, candidate.simhash)
    if new.body_sha256 == candidate.body_sha256:
        return Verdict(candidate.version_id, candidate.story_id, distance, 1.0, "exact")
    similarity = 1.0 - distance / 64
    if similarity >= (DEFAULT_THRESHOLD if threshold is None else threshold):
        return Verdict(candidate.version_id, candidate.story_id, distance, similarity, "near")
    return None


def best_verdict(verdicts: list[Verdict]) -> Verdict | None:
    """The strongest evidence: exact before near, then most similar, then the oldest version."""
    if not verdicts:
        return None
    return min(verdicts, key=lambda v: (v.method != "exact", -v.similarity, v.version_id))
