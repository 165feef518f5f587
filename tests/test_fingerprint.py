"""Fingerprints: the fast SimHash equals the simhash package's, and copies hash alike."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from simhash import Simhash

from archive.sources.article import Article
from archive.text.fingerprint import MAX_FEATURE_WEIGHT, body_sha256, hamming, simhash64
from archive.text.terms import _TYPOGRAPHY, normalise_text, words

feature_text = st.text(min_size=0, max_size=30)


@settings(max_examples=300)
@given(st.lists(feature_text, max_size=200))
def test_simhash_equals_the_simhash_package_for_plain_features(features: list[str]) -> None:
    assert simhash64(features) == Simhash(features).value


@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(feature_text, st.integers(min_value=0, max_value=MAX_FEATURE_WEIGHT)),
        max_size=200,
    )
)
def test_simhash_equals_the_simhash_package_for_weighted_features(
    features: list[tuple[str, int]],
) -> None:
    assert simhash64(features) == Simhash(features).value


def test_weights_the_package_cannot_take_are_refused() -> None:
    with pytest.raises(ValueError):
        simhash64([("word", MAX_FEATURE_WEIGHT + 1)])


def test_simhash_of_nothing_is_zero_like_the_package() -> None:
    assert simhash64([]) == Simhash([]).value == 0


@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1))
def test_hamming_distance_is_symmetric_and_zero_only_for_equal_values(a: int, b: int) -> None:
    assert hamming(a, b) == hamming(b, a)
    assert (hamming(a, b) == 0) == (a == b)


def test_typography_and_whitespace_do_not_change_the_body_hash() -> None:
    plain = Article(title="t", body='He said "no" - twice.\n\nThen  left.')
    fancy = Article(title="t", body="He said \u201cno\u201d \u2013 twice.\n\n Then\u00a0left. ")
    assert body_sha256(plain) == body_sha256(fancy)
    assert normalise_text(fancy.body) == 'He said "no" - twice. Then left.'


_TYPOGRAPHIC = [variant for variant, _ in _TYPOGRAPHY]
_TRICKY = st.sampled_from([*"ab .\n\t", *_TYPOGRAPHIC, "\ufb01", "\u00e9", "e", "\u0301"])


@settings(max_examples=300)
@given(st.text(alphabet=_TRICKY) | st.text())
def test_normalising_maps_every_typographic_variant_like_one_translation_table(text: str) -> None:
    table = str.maketrans(dict(_TYPOGRAPHY))
    expected = " ".join(unicodedata.normalize("NFKC", text).translate(table).split())
    assert normalise_text(text) == expected


@settings(max_examples=300)
@given(st.text(alphabet=_TRICKY) | st.text() | st.text(alphabet=st.characters(max_codepoint=127)))
def test_words_are_the_word_character_runs_of_the_normalised_text(text: str) -> None:
    # Combining marks and joiners inside a word keep it whole, and Han and kana runs become
    # bigrams (tests/test_scripts.py); characters Python's Unicode tables do not know yet may
    # be letters to the newer tables of the regex module. Without them, words are \w runs.
    text = "".join(c for c in text if not _script_specific(c))
    normalised = normalise_text(text).lower()
    assume(not any(_script_specific(c) for c in normalised))
    assert words(text) == re.findall(r"\w+", normalised)


def _script_specific(char: str) -> bool:
    return (
        unicodedata.category(char) in ("Mn", "Mc", "Cn")
        or char in "\u200c\u200d\u30fc"
        or unicodedata.name(char, "").startswith(("CJK", "HIRAGANA", "KATAKANA", "IDEOGRAPHIC"))
    )
