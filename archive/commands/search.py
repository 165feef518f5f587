"""Full-text search over versions: SQLite's FTS5 table or PostgreSQL's tsvector table, both
``versions_fts`` (migrations 0005 and 0013),
in plain SQL run on a :class:`archive.storage.reader.Reader` like the other read queries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from archive.storage.reader import Reader, reading
from archive.storage.schema import read_time

if TYPE_CHECKING:
    from sqlalchemy import Engine

# A search term is a run of letters and digits, as both full-text tokenizers split words
# (FTS5 unicode61 and PostgreSQL's 'simple' parser); a trailing * asks for a prefix.
_TERM = re.compile(r"([^\W_]+)(\*?)")
SNIPPET_WORDS = 16
_HEADLINE_OPTIONS = (
    f"StartSel=[, StopSel=], MaxFragments=1, MinWords={SNIPPET_WORDS // 2}, "
    f"MaxWords={SNIPPET_WORDS}"
)


@dataclass(frozen=True)
class SearchHit:
    """A version whose title or body has every searched word, best match first."""

    version_id: int
    story_id: int
    title: str
    site: str | None
    source_path: str
    published_at: datetime | None
    snippet: str  # a passage of the body with the found words in [brackets]


def search_terms(query: str) -> list[tuple[str, bool]]:
    """The words of ``query``, lower-cased, each with whether it ends in * (a prefix)."""
    return [(word.lower(), bool(star)) for word, star in _TERM.findall(query)]


def search_versions(db: Reader | Engine, query: str, *, limit: int = 20) -> list[SearchHit]:
    """Versions that contain every word of ``query`` in their title or body, best first.

    Words are matched whole and case-insensitively (``barrier`` does not find ``barriers``;
    ``barrier*`` does). Raises ValueError when ``query`` has no word.
    """
    terms = search_terms(query)
    if not terms:
        raise ValueError(f"nothing to search for in {query!r}: give at least one word")
    with reading(db) as reader:
        statement, params = search_statement(reader.dialect, terms, limit)
        rows = reader.rows(statement, params)
    return [
        SearchHit(
            version_id=version_id,
            story_id=story_id,
            title=title,
            site=site,
            source_path=source_path,
            published_at=read_time(published_at),
            snippet=" ".join(snippet.split()),
        )
        for version_id, story_id, title, site, source_path, published_at, snippet in rows
    ]


def search_statement(
    dialect: str, terms: list[tuple[str, bool]], limit: int
) -> tuple[str, dict[str, object]]:
    """The query that finds ``terms`` on this database (``sqlite`` or ``postgresql``), and its
    parameters."""
    if dialect == "sqlite":
        # Each word quoted, so FTS5 reads it as a word, never as an operator (AND, NEAR, ...).
        match = " ".join(f'"{word}"' + ("*" if prefix else "") for word, prefix in terms)
        return _SQLITE_SEARCH, {"match": match, "limit": limit, "words": SNIPPET_WORDS}
    # Terms are letters and digits only, so they are safe inside a to_tsquery expression.
    tsquery = " & ".join(word + (":*" if prefix else "") for word, prefix in terms)
    return _POSTGRES_SEARCH, {"q": tsquery, "limit": limit, "options": _HEADLINE_OPTIONS}


_SQLITE_SEARCH = """
    SELECT v.id, v.story_id, v.title, v.site, v.source_path, v.published_at,
           snippet(versions_fts, -1, '[', ']', '…', :words) AS snippet
    FROM versions_fts
    JOIN versions v ON v.id = versions_fts.rowid
    WHERE versions_fts MATCH :match
    ORDER BY bm25(versions_fts), v.id
    LIMIT :limit
    """

# The vectors are in versions_fts (migration 0013), written as each batch commits. Headlines
# are costly, so they are made for the page of hits only.
_POSTGRES_SEARCH = """
    SELECT hit.id, hit.story_id, hit.title, hit.site, hit.source_path, hit.published_at,
           ts_headline('simple', hit.body, to_tsquery('simple', :q), :options) AS snippet
    FROM (
        SELECT v.id, v.story_id, v.title, v.site, v.source_path, v.published_at, v.body,
               ts_rank(f.document, to_tsquery('simple', :q)) AS rank
        FROM versions_fts f
        JOIN versions v ON v.id = f.version_id
        WHERE f.document @@ to_tsquery('simple', :q)
        ORDER BY rank DESC, v.id
        LIMIT :limit
    ) hit
    ORDER BY hit.rank DESC, hit.id
    """
