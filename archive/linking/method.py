"""How a version matched the version it is linked to: the names stored in
``versions.match_method`` and ``version_links.method`` (docs/schema.md, docs/linking.md).

A module of its own, with nothing heavy to import, so that the command line can name the
methods without loading the linking code.
"""

from __future__ import annotations

from enum import StrEnum


class Method(StrEnum):
    EXACT = "exact"  # the same normalised body
    NEAR = "near"  # a copy: most of the rarity-weighted words shared
    REWRITE = "rewrite"  # most sentences reworded, in order
    CONTAINED = "contained"  # nearly word for word inside the other: a trimmed copy, a teaser
    NEW_STORY = "new story"  # matched no stored version: the first version of its story
