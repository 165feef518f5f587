"""Comparing two bodies: rarity-weighted word overlap and sentence-by-sentence correspondence.

Two measures, both symmetric (the same for a, b as for b, a, so links do not depend on ingest
order; sums are exactly rounded with ``math.fsum`` so that not even the last bit depends on the
order words come in):

- ``overlap``: weighted Jaccard of the two bodies' sets of distinct words, each word weighing
  its rarity. Copies and edited copies score high; different stories share common words, which
  weigh little.
- sentence correspondence: a rewrite reworded sentence by sentence keeps, in most sentences, a
  few of the same rare words (the names, numbers and nouns of that sentence). Each sentence of
  the shorter body is paired with the sentence of the other that shares the most content weight
  (weighted Dice of their content words); it corresponds when that share is at least
  ``SENTENCE_MATCH``. ``covered`` is the share of the shorter body's sentences that correspond,
  ``in_order`` the share that corresponds in the same order (longest increasing run of partner
  positions), ``covered_other`` the share of the longer body's sentences that are partners.

An independent report of the same event shares names with the rewrite of a story, but not
sentence for sentence and not in order; a page that quotes a paragraph of an article covers little
of it. How the measures turn into a link is in :mod:`archive.match`.

Each profile weighs its words in its own language (:mod:`archive.terms`). When two profiles
differ in language (a translation quoting names, a page misread as another language), a word
they share weighs the smaller of its two rarities, which keeps both measures symmetric; in one
language a word weighs the same in both and nothing changes.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

from archive.language import detect_language
from archive.terms import CONTENT_RARITY, Analysis, analyse, analyse_in, rarities_of, words

# Weighted Dice of two sentences' content words at which they count as one sentence reworded.
SENTENCE_MATCH = 0.3
# A sentence needs this many content words to be compared at all (datelines, "He said." don't).
MIN_SENTENCE_TERMS = 2


@dataclass(eq=False)
class Profile:
    """What a body is compared by: its words' rarity and its sentences' content words.

    The sentences of a stored candidate are worked out only when its word overlap makes them
    matter (:func:`lazy_profile`): most candidates are told apart by their words alone.
    """

    weights: dict[str, float]
    total: float
    body: str | None = None
    _sentences: tuple[frozenset[str], ...] | None = None
    # the language the weights are in (None: unsure, weighed as English)
    language: str | None = None

    @property
    def sentences(self) -> tuple[frozenset[str], ...]:
        """The content words of each sentence long enough to compare."""
        if self._sentences is None:
            self._sentences = _sentence_terms(analyse_in(self.body or "", self.language))
        return self._sentences


@dataclass(frozen=True)
class Correspondence:
    """How a pair of bodies corresponds sentence by sentence (shares 0..1)."""

    covered: float
    in_order: float
    covered_other: float


NO_CORRESPONDENCE = Correspondence(0.0, 0.0, 0.0)


def profile(body: str | Analysis) -> Profile:
    """The :class:`Profile` of an article body (or of its analysis), sentences included."""
    analysis = analyse(body) if isinstance(body, str) else body
    weights = analysis.rarities
    return Profile(
        weights,
        math.fsum(weights.values()),
        None,
        _sentence_terms(analysis),
        language=analysis.language,
    )


def lazy_profile(
    body: str, distinct: set[str] | None = None, language: str | None = None
) -> Profile:
    """The :class:`Profile` of an article body, its sentences read only when asked for;
    ``distinct`` its :func:`distinct_words` when they are at hand, ``language`` its language
    when known (None: detected from the body, as :func:`profile` does).

    The words are those :func:`profile` finds: tokens never span the whitespace or the
    punctuation at which sentences are split.
    """
    if language is None:
        language = detect_language(body)
    weights = rarities_of(distinct_words(body) if distinct is None else distinct, language)
    return Profile(weights, math.fsum(weights.values()), body, language=language)


def distinct_words(body: str) -> set[str]:
    """The distinct words of a body, as its profile has them."""
    return set(words(body))


def overlap_ceiling(a: Profile, other_words: set[str]) -> float:
    """An upper bound of ``overlap(a, b)`` from the distinct words of ``b`` alone, without their
    rarities: ``b`` weighs at least what it shares with ``a``, so the union weighs at least
    ``a``; in another language a shared word weighs at most its rarity in ``a``, so the bound
    holds too. Raised by a hair, as the overlap's own rounding may put it a last bit higher."""
    shared = math.fsum(a.weights[word] for word in a.weights.keys() & other_words)
    return shared / a.total * (1 + 1e-9) if a.total > 0 else 0.0


def _sentence_terms(analysis: Analysis) -> tuple[frozenset[str], ...]:
    weights = analysis.rarities
    found = []
    for sentence in analysis.sentences:
        terms = frozenset(word for word in sentence if weights[word] >= CONTENT_RARITY)
        if len(terms) >= MIN_SENTENCE_TERMS:
            found.append(terms)
    return tuple(found)


def overlap(a: Profile, b: Profile) -> float:
    """Rarity-weighted Jaccard similarity of the two bodies' word sets (0..1)."""
    weights = a.weights
    common = weights.keys() & b.weights.keys()
    if _same_language(a, b):
        shared = math.fsum(weights[word] for word in common)
    else:
        other = b.weights
        shared = math.fsum(min(weights[word], other[word]) for word in common)
    union = a.total + b.total - shared
    return shared / union if union > 0 else 0.0


def _same_language(a: Profile, b: Profile) -> bool:
    """Whether both profiles weigh their words in one table (unsure text is weighed as English)."""
    return (a.language or "en") == (b.language or "en")


def correspondence(a: Profile, b: Profile) -> Correspondence:
    """Sentence correspondence of the shorter body to the longer (both ways when equally long,
    keeping the weaker, so that the result does not depend on which body is ``a``)."""
    if not a.sentences or not b.sentences:
        return NO_CORRESPONDENCE
    if len(a.sentences) != len(b.sentences):
        short, long = (a, b) if len(a.sentences) < len(b.sentences) else (b, a)
        return _correspond(short, long)
    one_way, other_way = _correspond(a, b), _correspond(b, a)
    return min(one_way, other_way, key=lambda c: (c.covered, c.in_order, c.covered_other))


def _correspond(short: Profile, long: Profile) -> Correspondence:
    # In one language a word weighs the same in both profiles: each sentence is weighed by its
    # own profile. In two, a shared word weighs the smaller of its rarities.
    weights = long.weights
    long_weights = [math.fsum(weights[w] for w in terms) for terms in long.sentences]
    same = _same_language(short, long)
    partners: list[int] = []
    for terms in short.sentences:
        own = math.fsum(short.weights[w] for w in terms)
        best, partner = 0.0, -1
        for index, other in enumerate(long.sentences):
            shared = terms & other
            if not shared:
                continue
            if same:
                common = math.fsum(weights[w] for w in shared)
            else:
                common = math.fsum(min(weights[w], short.weights[w]) for w in shared)
            dice = 2 * common / (own + long_weights[index])
            if dice > best:
                best, partner = dice, index
        if best >= SENTENCE_MATCH:
            partners.append(partner)
    n = len(short.sentences)
    return Correspondence(
        covered=len(partners) / n,
        in_order=_longest_increasing_run(partners) / n,
        covered_other=len(set(partners)) / len(long.sentences),
    )


def _longest_increasing_run(values: list[int]) -> int:
    """Length of the longest strictly increasing subsequence (patience sorting)."""
    tails: list[int] = []
    for value in values:
        position = bisect.bisect_left(tails, value)
        if position == len(tails):
            tails.append(value)
        else:
            tails[position] = value
    return len(tails)
