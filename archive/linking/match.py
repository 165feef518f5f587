"""What a version is matched by, and whether two versions match: the index keys of a
fingerprint (:func:`fingerprint`) and the verification of a candidate on the two bodies
(:func:`verify`). Which candidates are looked up and compared is
:mod:`archive.linking.candidates`'s; the design and its measurements are in ``docs/linking.md``.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import math
from collections import Counter, OrderedDict
from collections.abc import Collection
from dataclasses import dataclass, replace

from archive.linking.method import Method
from archive.sources.article import LINKED_STATUSES, Article, BodyStatus
from archive.text import align
from archive.text.fingerprint import body_sha256, features, hamming, simhash64
from archive.text.terms import Analysis, analyse

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
# Lead keys: pairs of the LEAD_TERMS most distinctive words of the first LEAD_SENTENCES
# sentences. A teaser, a headline-and-standfirst page or an early write-thru is mostly the
# lead of the full story, whose distinctive words as a whole are others.
LEAD_SENTENCES = 2
LEAD_TERMS = 10

# Verification (see verify): weighted word overlap that makes a copy on its own...
DEFAULT_THRESHOLD = 0.5
# ...and the evidence that makes a rewrite: most sentences of the shorter body reworded, in
# order, covering a fair part of the longer body, with a good part of the vocabulary shared.
REWRITE_MIN_OVERLAP = 0.3
REWRITE_MIN_COVERED = 0.8
REWRITE_MIN_IN_ORDER = 0.75
REWRITE_MIN_COVERED_OTHER = 0.25

# ...and the evidence that makes a contained copy (a trimmed copy, a teaser, an earlier
# write-thru of a wire story): most sentences of the shorter body, nearly word for word and in
# order, in the first part of the longer one, with most of its rare words.
CONTAINED_MIN_KEPT = 0.8
CONTAINED_MIN_IN_ORDER = 0.75
CONTAINED_MIN_WORDS = 0.6
CONTAINED_MAX_START = 0.25
EXACT, NEAR, REWRITE, CONTAINED = Method.EXACT, Method.NEAR, Method.REWRITE, Method.CONTAINED


@dataclass(frozen=True)
class Fingerprint:
    """What a new version is looked up and stored by. A body that is neither an article's nor
    a compilation's (page text, a wall) has no index keys and is never compared; a
    compilation's keys are its own kind's (see :func:`_index_keys`)."""

    simhash: int
    body_sha256: str
    keys: tuple[int, ...]
    profile: align.Profile
    body_status: BodyStatus = BodyStatus.ARTICLE
    # the body's distinct words as version_words stores them (align.packed_words); empty for
    # a body that is never compared
    words: str = ""

    @property
    def linkable(self) -> bool:
        return self.body_status in LINKED_STATUSES


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
    language: str | None = None  # of the stored body, as detected when it was stored
    words: list[str] | None = None  # its distinct words, when stored (version_words)


@dataclass(frozen=True)
class Verdict:
    """Evidence that a new version is a version of a candidate's story."""

    version_id: int
    story_id: int
    distance: int  # Hamming distance of the SimHashes
    similarity: float  # align.overlap of the bodies
    method: Method  # EXACT, NEAR, REWRITE or CONTAINED
    sentences: float  # share of the shorter body's sentences that correspond


def fingerprint(article: Article) -> Fingerprint:
    """The SimHash, body hash, candidate-index keys and comparison profile of ``article``."""
    analysis = analyse(article.body)
    value = simhash64(features(analysis))
    profile = align.profile(analysis)
    keys: tuple[int, ...] = ()
    words = ""
    if article.linkable:
        keys = _index_keys(value, analysis, article.body_status)
        words = align.packed_words(profile.weights.keys())
    return Fingerprint(value, body_sha256(article), keys, profile, article.body_status, words)


def _index_keys(value: int, analysis: Analysis, status: BodyStatus) -> tuple[int, ...]:
    """Band keys, then the body's and the lead's term-pair keys, each once (the lead's names
    are mostly the body's). A compilation's keys are hashed again with its kind, so that
    compilations and articles are never each other's candidates: a live blog holds the names
    of every story it quotes."""
    terms = term_keys(analysis)
    known = set(terms)
    lead = tuple(key for key in lead_keys(analysis) if key not in known)
    keys = band_keys(value) + terms + lead
    if status is BodyStatus.COMPILATION:
        return tuple(_hashed_key(f"{status.value}\x1f{key}") for key in keys)
    return keys


def band_keys(value: int) -> tuple[int, ...]:
    """The SimHash cut into bands; by pigeonhole, fingerprints within distance ``BANDS - 1``
    share at least one band. Each key carries its band number so bands never collide."""
    mask = (1 << BAND_BITS) - 1
    return tuple(
        (band << BAND_BITS) | ((value >> (band * BAND_BITS)) & mask) for band in range(BANDS)
    )


def key_terms(body: str | Analysis, limit: int = KEY_TERMS) -> list[str]:
    """The body's most distinctive words: rare in English, frequent in the body.

    Scored ``min(rarity, 5) * (1 + ln count)``: names and subject nouns recur in a story, a typo
    or an odd word of a rewriter appears once. Ties go by the word, so the choice is
    deterministic.
    """
    analysis = analyse(body) if isinstance(body, str) else body
    scored = []
    for word, count in analysis.counts.items():
        weight = analysis.rarities[word]
        # short words are abbreviations and fragments, except in unspaced scripts, whose words
        # are character bigrams (archive.text.terms)
        if weight < KEY_MIN_RARITY or (len(word) < 3 and word.isascii()):
            continue
        scored.append((-min(weight, KEY_RARITY_CAP) * (1 + math.log(count)), word))
    # nsmallest: as sorted(scored)[:KEY_TERMS], without sorting every word
    return sorted(word for _, word in heapq.nsmallest(limit, scored))


def term_keys(body: str | Analysis) -> tuple[int, ...]:
    """Index keys of a body: one per pair of its :func:`key_terms`.

    Versions become candidates when they share two keys (see ``candidates.MIN_SHARED_KEYS``), that
    is three of their distinctive words. Pairs are far more selective than words (a name recurs
    across a beat, a name with a place much less), and a copy or rewrite keeps most of the
    names and nouns it is built on. Keys are the first
    63 bits of a BLAKE2b hash of the pair, moved above the band keys.
    """
    return _pair_keys(key_terms(body))


def lead_keys(analysis: Analysis) -> tuple[int, ...]:
    """Index keys of a body's lead: one per pair of the :func:`key_terms` of its first
    ``LEAD_SENTENCES`` sentences, hashed as :func:`term_keys` (a pair is one key, whichever
    part of a body it comes from)."""
    lead = Counter(word for sentence in analysis.sentences[:LEAD_SENTENCES] for word in sentence)
    return _pair_keys(key_terms(replace(analysis, counts=lead), LEAD_TERMS))


def _pair_keys(terms: list[str]) -> tuple[int, ...]:
    return tuple(
        _hashed_key(f"{first}\x1f{second}") for first, second in itertools.combinations(terms, 2)
    )


def _hashed_key(text: str) -> int:
    """A key above the band keys: the first 63 bits of the BLAKE2b hash of ``text``."""
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return _TERM_KEY_BASE + (int.from_bytes(digest, "big") >> 1) % (2**63 - _TERM_KEY_BASE)


_profiles: OrderedDict[bytes, align.Profile] = OrderedDict()
_PROFILE_CACHE_SIZE = 4096


def candidate_profile(new: Fingerprint, candidate: Candidate, limit: float) -> align.Profile | None:
    """The comparison profile of a stored version; None when its words show, before their
    rarities are looked up, that its overlap with the new version is under ``limit``.

    Profiles are cached by the exact text of the body: the same versions come up as
    candidates again and again while their story is being ingested, and a worker has the
    profiles of the versions it fingerprinted itself. Most candidates not at hand share only
    common words with the new version; the bound rejects them for a third of the cost of a
    profile.
    """
    if candidate.profile is not None:
        return candidate.profile
    if candidate.body is None:
        raise ValueError(f"candidate {candidate.version_id} has neither a body nor a profile")
    key = _body_key(candidate.body)
    cached = _profiles.get(key)
    if cached is not None:
        _profiles.move_to_end(key)
        return cached
    distinct: Collection[str] = (
        candidate.words if candidate.words is not None else align.distinct_words(candidate.body)
    )
    if ruled_out(new, distinct, limit):
        return None
    computed = align.lazy_profile(candidate.body, distinct, candidate.language)
    _remember(key, computed)
    return computed


def ruled_out(new: Fingerprint, words: Collection[str], limit: float) -> bool:
    """Whether a stored version whose body has these distinct words cannot pass
    :func:`verify`, told from its words alone, without its body: its overlap with the new
    version cannot reach ``limit`` (:func:`least_overlap`) and it cannot be contained in it."""
    return align.overlap_ceiling(new.profile, words) < limit and not _may_be_inside(
        new.profile, words
    )


def least_overlap(threshold: float | None = None) -> float:
    """The least word overlap any verdict but ``exact`` needs, for a copy ``threshold``
    (default ``DEFAULT_THRESHOLD``): the copy threshold or the rewrite's, whichever is lower."""
    return min(REWRITE_MIN_OVERLAP, DEFAULT_THRESHOLD if threshold is None else threshold)


def _may_be_inside(new: align.Profile, other_words: Collection[str]) -> bool:
    """Whether a stored body could be contained in the new one, judged by its distinct words
    alone: it has fewer distinct words, and most of them are the new body's."""
    if not other_words or len(other_words) >= len(new.weights):
        return False
    return len(new.weights.keys() & other_words) >= CONTAINED_MIN_WORDS * len(other_words)


def remember_profile(body: str, profile: align.Profile) -> None:
    """Cache the profile of a body just fingerprinted or stored: copies of a story tend to
    arrive together, so it is likely to be a candidate soon."""
    _remember(_body_key(body), profile)


def _body_key(body: str) -> bytes:
    # The exact text, not body_sha256: that hash leaves out typography and line breaks, which
    # can change how a body is cut into sentences.
    return hashlib.blake2b(body.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _remember(key: bytes, computed: align.Profile) -> None:
    _profiles[key] = computed
    _profiles.move_to_end(key)
    if len(_profiles) > _PROFILE_CACHE_SIZE:
        _profiles.popitem(last=False)


def verify(
    new: Fingerprint,
    candidate: Candidate,
    *,
    threshold: float | None = None,
    rewrites: bool = True,
) -> Verdict | None:
    """A verdict if ``candidate`` is a version of the new one's story, else None.

    - ``exact``: the normalised bodies are equal;
    - ``near``: rarity-weighted word overlap at least ``threshold`` (default 0.5): copies,
      trimmed or edited copies;
    - ``rewrite``: overlap at least 0.3, and at least 80% of the shorter body's sentences are
      reworded sentences of the other, three quarters of them in the same order, covering at
      least a quarter of the longer body;
    - ``contained``: at least 80% of the shorter body's sentences are sentences of the other,
      nearly word for word (weighted Dice >= 0.5), three quarters of them in order, starting in
      the first quarter of the longer body, which holds at least 60% of the shorter body's
      rare-word weight: a trimmed copy, a teaser, an earlier write-thru of a wire story (a
      compilation's earlier snapshot may start anywhere in the later one). No SimHash bound:
      a short version inside a long one is far from it.

    Candidates are of the new version's kind (article or compilation) by construction: their
    index keys and body lookups are the kind's own.

    ``rewrites=False`` links by word overlap only (``exact``, ``near``).
    """
    distance = hamming(new.simhash, candidate.simhash)
    if new.body_sha256 == candidate.body_sha256:
        return Verdict(candidate.version_id, candidate.story_id, distance, 1.0, EXACT, 1.0)
    copy_threshold = DEFAULT_THRESHOLD if threshold is None else threshold
    least = least_overlap(threshold)
    other = candidate_profile(new, candidate, least)
    if other is None:
        return None
    similarity = align.overlap(new.profile, other)
    method: Method | None = None
    if similarity >= least:
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
        if method is not None:
            return Verdict(
                candidate.version_id,
                candidate.story_id,
                distance,
                similarity,
                method,
                sentences.covered,
            )
    if not rewrites:
        return None
    inside = align.containment(new.profile, other, min_words=CONTAINED_MIN_WORDS)
    if (
        inside.kept >= CONTAINED_MIN_KEPT
        and inside.in_order >= CONTAINED_MIN_IN_ORDER
        and inside.words >= CONTAINED_MIN_WORDS
        # A compilation grows at the top (a live blog's newest entries come first): its
        # earlier snapshot may sit anywhere in a later one.
        and (inside.start <= CONTAINED_MAX_START or new.body_status is BodyStatus.COMPILATION)
    ):
        return Verdict(
            candidate.version_id, candidate.story_id, distance, similarity, CONTAINED, inside.kept
        )
    return None


def best_verdict(verdicts: list[Verdict]) -> Verdict | None:
    """The strongest evidence: exact, then near, then rewrite; then most similar; then the
    oldest version."""
    if not verdicts:
        return None
    rank = {EXACT: 0, NEAR: 1, REWRITE: 2, CONTAINED: 3}
    return min(verdicts, key=lambda v: (rank[v.method], -v.similarity, v.version_id))
