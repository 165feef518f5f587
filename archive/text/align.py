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
of it. How the measures turn into a link is in :mod:`archive.linking.match`.

Each profile weighs its words in its own language (:mod:`archive.text.terms`). When two profiles
differ in language (a translation quoting names, a page misread as another language), a word
they share weighs the smaller of its two rarities, which keeps both measures symmetric; in one
language a word weighs the same in both and nothing changes.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from itertools import repeat

from archive.text.language import detect_language
from archive.text.terms import CONTENT_RARITY, Analysis, analyse, analyse_in, rarities_of, words

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
    body: str, distinct: Collection[str] | None = None, language: str | None = None
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


# Words are cut at whitespace (archive.text.terms), so a line break never falls inside one.
_WORD_SEPARATOR = "\n"


def packed_words(distinct: Collection[str]) -> str:
    """A body's distinct words as ``version_words`` stores them: sorted, one per line (about
    1.9 KB for an article). Not compressed: zlib would halve it, but inflating it again for
    every candidate of every lookup would cost more than a third of what it saves."""
    return _WORD_SEPARATOR.join(sorted(distinct))


def unpacked_words(packed: str) -> list[str]:
    """The words :func:`packed_words` stored, each once: a body's :func:`distinct_words`
    without reading the body again (25 us against 100 for tokenising an article)."""
    return packed.split(_WORD_SEPARATOR) if packed else []


def overlap_ceiling(a: Profile, other_words: Iterable[str]) -> float:
    """An upper bound of ``overlap(a, b)`` from the distinct words of ``b`` alone (each once),
    without their rarities: ``b`` weighs at least what it shares with ``a``, so the union
    weighs at least ``a``; in another language a shared word weighs at most its rarity in
    ``a``, so the bound holds too. Raised by a hair, as the overlap's own rounding may put it a
    last bit higher."""
    # fsum is exact: adding a zero for each word a lacks gives the sum over the shared words
    shared = math.fsum(map(a.weights.get, other_words, repeat(0.0)))
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
        best, _, partner = _best_partner(terms, short, long, long_weights, same)
        if best >= SENTENCE_MATCH:
            partners.append(partner)
    n = len(short.sentences)
    return Correspondence(
        covered=len(partners) / n,
        in_order=_longest_increasing_run(partners) / n,
        covered_other=len(set(partners)) / len(long.sentences),
    )


def _best_partner(
    terms: frozenset[str], short: Profile, long: Profile, long_weights: list[float], same: bool
) -> tuple[float, float, int]:
    """The sentence of ``long`` that shares the most content weight with ``terms`` (a sentence
    of ``short``): its weighted Dice, the share of the sentence's own weight it holds, and its
    index (-1 when none shares a word)."""
    weights = long.weights
    own = math.fsum(short.weights[w] for w in terms)
    best, kept, partner = 0.0, 0.0, -1
    for index, other in enumerate(long.sentences):
        shared = terms & other
        if not shared:
            continue
        if same:
            common = math.fsum(weights[w] for w in shared)
        else:  # in two languages a shared word weighs the smaller of its rarities
            common = math.fsum(min(weights[w], short.weights[w]) for w in shared)
        dice = 2 * common / (own + long_weights[index])
        if dice > best:
            best, kept, partner = dice, common / own, index
    return best, kept, partner


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


# --- containment: a short version inside a longer one -------------------------------------

# A sentence of the shorter body is the same sentence, lightly edited or trimmed, in the longer
# one when their weighted Dice is at least SAME_SENTENCE (a reworded sentence of a rewrite needs
# only SENTENCE_MATCH) and the other holds at least SENTENCE_KEPT of its content weight: a
# follow-up story that retells a sentence of the first report keeps its names, not its words.
SAME_SENTENCE = 0.5
SENTENCE_KEPT = 0.7


@dataclass(frozen=True)
class Containment:
    """How a body with fewer sentences sits inside another: the share of its sentences found
    nearly word for word in the other (``kept``), the share in the same order (``in_order``),
    the share of its rare-word weight the other holds (``words``) and where in the other the
    first of them stands (``start``, 0 = its first sentence, as a share of its sentences)."""

    kept: float
    in_order: float
    words: float
    start: float


NO_CONTAINMENT = Containment(0.0, 0.0, 0.0, 1.0)


def containment(a: Profile, b: Profile, min_words: float = 0.0) -> Containment:
    """How the body with fewer sentences is contained in the other (both ways when equally
    long, keeping the weaker, so that the result does not depend on which body is ``a``).

    A trimmed copy, a teaser and an earlier write-thru of a wire story are the first part of
    the longer version, sentence for sentence; an article quoting or reusing a few paragraphs
    of another is not. Under ``min_words`` of rare-word weight shared, the sentences are not
    compared (``NO_CONTAINMENT``).
    """
    if not a.sentences or not b.sentences:
        return NO_CONTAINMENT
    if len(a.sentences) != len(b.sentences):
        short, long = (a, b) if len(a.sentences) < len(b.sentences) else (b, a)
        return _contained(short, long, min_words)
    one_way, other_way = _contained(a, b, min_words), _contained(b, a, min_words)
    return min(one_way, other_way, key=lambda c: (c.kept, c.in_order, c.words, -c.start))


def _contained(short: Profile, long: Profile, min_words: float) -> Containment:
    weights = long.weights
    same = _same_language(short, long)
    common = short.weights.keys() & weights.keys()
    if same:
        shared_weight = math.fsum(short.weights[w] for w in common)
    else:  # a shared word weighs the smaller of its two rarities, as in overlap
        shared_weight = math.fsum(min(short.weights[w], weights[w]) for w in common)
    words = shared_weight / short.total if short.total > 0 else 0.0
    if words < min_words:
        return NO_CONTAINMENT
    long_weights = [math.fsum(weights[w] for w in terms) for terms in long.sentences]
    partners: list[int] = []
    for terms in short.sentences:
        best, kept, partner = _best_partner(terms, short, long, long_weights, same)
        if best >= SAME_SENTENCE and kept >= SENTENCE_KEPT:
            partners.append(partner)
    n = len(short.sentences)
    return Containment(
        kept=len(partners) / n,
        in_order=_longest_increasing_run(partners) / n,
        words=words,
        start=min(partners) / len(long.sentences) if partners else 1.0,
    )
