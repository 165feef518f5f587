"""Word-level differences between two versions' titles and bodies, plain or in colour."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from rich.text import Text

from archive.commands.queries import version_text
from archive.storage.reader import Reader, reading

if TYPE_CHECKING:
    from sqlalchemy import Engine

Op = Literal["equal", "delete", "insert"]

# A word and the whitespace after it: words are compared, the whitespace is kept so that the
# diff shows the paragraphs of the text it came from.
_WORD = re.compile(r"\S+\s*")


@dataclass(frozen=True)
class Chunk:
    """A run of text that both sides share (equal), only the first has (delete) or only the
    second has (insert)."""

    op: Op
    text: str


@dataclass(frozen=True)
class DiffSide:
    """One of the two versions compared."""

    version_id: int
    story_id: int
    source_path: str
    site: str | None
    words: int


@dataclass(frozen=True)
class VersionDiff:
    """How version ``b`` differs from version ``a``, word by word."""

    a: DiffSide
    b: DiffSide
    same_story: bool
    shared_words: float  # 0..1: share of the two bodies' words in unchanged runs
    title: tuple[Chunk, ...]
    body: tuple[Chunk, ...]


def word_diff(a: str, b: str) -> list[Chunk]:
    """The chunks that turn text ``a`` into text ``b``, compared word by word."""
    a_tokens, b_tokens = _WORD.findall(a), _WORD.findall(b)
    # autojunk would ignore frequent words ("the", "said") in long texts and misalign the rest
    matcher = difflib.SequenceMatcher(
        None, [t.rstrip() for t in a_tokens], [t.rstrip() for t in b_tokens], autojunk=False
    )
    chunks: list[Chunk] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            chunks.append(Chunk("equal", "".join(b_tokens[j1:j2])))
            continue
        if i2 > i1:
            removed = "".join(a_tokens[i1:i2])
            if j2 > j1:  # replaced: the new words' whitespace ends the run, not the old's
                removed = removed.rstrip() + " "
            chunks.append(Chunk("delete", removed))
        if j2 > j1:
            chunks.append(Chunk("insert", "".join(b_tokens[j1:j2])))
    return chunks


def diff_versions(db: Reader | Engine, a_id: int, b_id: int) -> VersionDiff:
    """Compare the stored titles and bodies of versions ``a_id`` and ``b_id``.

    Raises :class:`archive.commands.queries.NotFoundError` when either id is not in the archive.
    """
    with reading(db) as reader:
        a, b = version_text(reader, a_id), version_text(reader, b_id)
    body = word_diff(a.body, b.body)
    a_words, b_words = len(_WORD.findall(a.body)), len(_WORD.findall(b.body))
    shared = sum(len(_WORD.findall(c.text)) for c in body if c.op == "equal")
    return VersionDiff(
        a=DiffSide(a.version_id, a.story_id, a.source_path, a.site, a_words),
        b=DiffSide(b.version_id, b.story_id, b.source_path, b.site, b_words),
        same_story=a.story_id == b.story_id,
        shared_words=2 * shared / (a_words + b_words) if a_words + b_words else 1.0,
        title=tuple(word_diff(a.title, b.title)),
        body=tuple(body),
    )


def render_plain(chunks: tuple[Chunk, ...] | list[Chunk]) -> str:
    """The diff with git's plain word-diff markers: ``[-removed-]{+added+}``."""
    parts = []
    for chunk in chunks:
        if chunk.op == "equal":
            parts.append(chunk.text)
        else:
            # the markers hug the words; the whitespace after them stays outside
            words = chunk.text.rstrip()
            marker = ("[-", "-]") if chunk.op == "delete" else ("{+", "+}")
            parts.append(f"{marker[0]}{words}{marker[1]}{chunk.text[len(words) :]}")
    return "".join(parts)


def render_rich(chunks: tuple[Chunk, ...] | list[Chunk]) -> Text:
    """The diff for a terminal: removed words struck through in red, added words in green."""
    styles = {"equal": "", "delete": "red strike", "insert": "green"}
    text = Text()
    for chunk in chunks:
        words = chunk.text.rstrip()
        text.append(words, style=styles[chunk.op])
        text.append(chunk.text[len(words) :])
    return text
