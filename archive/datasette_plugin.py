"""Datasette plugin: an archive opens in Datasette ready to read.

Installed with the package (entry point ``datasette``), it applies to every database Datasette
serves that is an archive (it has the ``stories``, ``versions`` and ``alembic_version`` tables),
whatever the file is called:

- internal tables (the candidate index ``match_keys`` and ``match_keys_recent``, the stored
  words ``version_words``, held keys ``unindexed_batches``, Alembic's ``alembic_version``) are
  hidden, so the front page starts with ``versions`` and ``stories``;
- tables are described and their columns labelled where a name does not say it all (what a
  column holds, with units); a version's story shows by its title; the views and ``versions``
  are faceted by match method, site and format;
- table pages show columns in reading order: id, story, title, site and date first, the match
  evidence next, hashes and SimHash last, and a version's body on its own page only (Datasette's
  own ``?_col=`` does it; a page that names its own ``_col`` or ``_nocol`` is left alone);
- times show to the second, without the microseconds SQLite keeps.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from datasette import hookimpl
from datasette.utils import tilde_decode

# Tables that make a database an archive.
_MARKERS = {"stories", "versions", "alembic_version"}
_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(\.\d+)?$")

_SEEN = "a version is seen at its publication time, else when it was ingested"
TABLES: dict[str, dict[str, Any]] = {
    "stories": {
        "description": "One row per story: every version of one article, copied, edited or "
        "rewritten. Start with story_summary for counts and sites.",
        "label_column": "title",
        "sort_desc": "first_seen_at",
        "columns": {
            "title": "title of the canonical version",
            "canonical_version_id": "the earliest published version (then earliest ingested)",
            "first_seen_at": f"earliest time any version was seen, UTC ({_SEEN})",
            "last_seen_at": "latest publication date of any version, UTC; the latest ingest "
            "time when no version has a date",
        },
    },
    "versions": {
        "description": "One row per ingested file or record, with how it was matched to the "
        "versions before it. A version's text is on its own page (follow its id).",
        "label_column": "title",
        "facets": ["match_method", "site", "format"],
        "columns": {
            "published_at": "publication time, UTC (empty when the page has none)",
            "match_method": "exact, near, rewrite, or new story (matched nothing before it)",
            "match_similarity": "0-1: rarity-weighted word overlap with the matched version",
            "match_sentences": "0-1: share of the shorter body's sentences found reworded",
            "matched_version_id": "the version it matched best",
            "match_distance": "Hamming distance of the two SimHashes, in bits (0-64)",
            "source_path": "file it came from; FILE#N for record N of a JSONL, JSON or WARC file",
            "body_status": "article, page-text (no article told apart) or boilerplate-only",
            "simhash": "64-bit SimHash, stored signed (add 2^64 when negative)",
            "source_path_sha256": "SHA-256 of source_path; with content_sha256 unique",
        },
    },
    "version_links": {
        "description": "Every verified link between two versions of a story (a story is the "
        "connected set of its links).",
        "facets": ["method"],
        "columns": {
            "version_id": "the later version",
            "linked_version_id": "the older version it is a copy or rewrite of",
            "method": "exact, near or rewrite",
            "similarity": "0-1: rarity-weighted word overlap",
            "sentences": "0-1: share of the shorter body's sentences found reworded",
            "distance": "Hamming distance of the SimHashes, in bits",
        },
    },
    "story_merges": {
        "description": "Story ids merged into another story by a version that linked both.",
        "columns": {
            "merged_story_id": "the id that is gone",
            "story_id": "the story that holds its versions now",
            "version_id": "the version that bridged them",
            "merged_at": "UTC",
        },
    },
    "version_removals": {
        "description": "Versions removed with archive remove.",
        "sort_desc": "removed_at",
    },
    "ingest_runs": {
        "description": "One row per run of archive ingest, with its counts.",
        "sort_desc": "id",
        "facets": ["status"],
    },
    "ingest_errors": {
        "description": "Files and records that could not be ingested, and why.",
        "sort_desc": "id",
        "facets": ["run_id"],
    },
    "story_summary": {
        "description": "One row per story with its number of versions and sites.",
        "sort_desc": "versions",
        "facets": ["site_count"],
        "columns": {
            "versions": "number of versions",
            "site_count": "number of distinct sites",
            "sites": "the sites, comma-separated",
            "canonical_source_path": "source of the canonical version",
        },
    },
    "version_matches": {
        "description": "Each version with its story and the evidence of its match.",
        "facets": ["match_method", "site", "is_canonical"],
        "columns": {
            "is_canonical": "1 for the canonical version of its story",
            "seen_at": _SEEN,
            "matched_source_path": "source of the version it matched",
            "matched_site": "site of the version it matched",
            "match_similarity": "0-1: rarity-weighted word overlap",
            "match_sentences": "0-1: share of the shorter body's sentences found reworded",
        },
    },
    "site_copies": {
        "description": "Pairs of sites: site carried versions of stories first seen at "
        "source_site.",
        "sort_desc": "links",
        "facets": ["site", "source_site"],
    },
    "match_keys": {"hidden": True},
    "match_keys_recent": {"hidden": True},
    "version_words": {"hidden": True},
    "unindexed_batches": {"hidden": True},
    "alembic_version": {"hidden": True},
}
# Columns first in this order; the others follow in the table's own order. A table page leaves
# out the columns of _LONG (a whole article makes every row a page tall): each row's own page,
# the JSON and the CSV have them, and ?_col= brings them back.
_LONG = {"versions": {"body"}}
READING_ORDER: dict[str, list[str]] = {
    "versions": [
        "id",
        "story_id",
        "title",
        "site",
        "published_at",
        "match_method",
        "match_similarity",
        "match_sentences",
        "matched_version_id",
        "source_path",
        "url",
        "format",
        "body_status",
        "language",
        "ingested_at",
        "run_id",
        "match_distance",
        "body",
        "source_path_sha256",
        "simhash",
        "content_sha256",
        "body_sha256",
    ],
    "version_matches": [
        "version_id",
        "story_id",
        "title",
        "site",
        "published_at",
        "match_method",
        "match_similarity",
        "match_sentences",
        "matched_version_id",
        "matched_site",
        "is_canonical",
        "source_path",
        "matched_source_path",
    ],
    "stories": ["id", "title", "first_seen_at", "last_seen_at", "canonical_version_id"],
    "version_removals": ["id", "version_id", "title", "source_path", "story_id"],
}
DESCRIPTION = (
    "A news archive: stories and their versions. story_summary lists the stories, "
    "version_matches every version with how it matched, site_copies who carried whose stories."
)

# The archives among each Datasette's databases, found at start-up.
_archives: MutableMapping[Any, set[str]] = weakref.WeakKeyDictionary()


@hookimpl
def startup(datasette: Any) -> Callable[[], Awaitable[None]]:
    async def find_archives() -> None:
        found = set()
        for name, database in datasette.databases.items():
            if set(await database.table_names()) >= _MARKERS:
                found.add(name)
        _archives[datasette] = found

    return find_archives


@hookimpl
def get_metadata(
    datasette: Any, key: str, database: str | None, table: str | None
) -> dict[str, Any]:
    archives = _archives.get(datasette, set())
    return {
        "databases": {
            name: {"description": DESCRIPTION, "tables": TABLES} for name in sorted(archives)
        }
    }


@hookimpl
def render_cell(value: Any, column: str, table: str, database: str, datasette: Any) -> str | None:
    if not column.endswith("_at") or database not in _archives.get(datasette, ()):
        return None
    if isinstance(value, str) and (time := _TIME.match(value)):
        return time.group(1)
    return None


@hookimpl
def asgi_wrapper(datasette: Any) -> Callable[[Any], Any]:
    def wrap(app: Any) -> Any:
        async def in_reading_order(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope.get("type") == "http":
                scope = await _ordered(datasette, scope)
            await app(scope, receive, send)

        return in_reading_order

    return wrap


async def _ordered(datasette: Any, scope: dict[str, Any]) -> dict[str, Any]:
    """The request for /DATABASE/TABLE (an HTML page of an archive table with an order of
    its own, not asking for columns itself) with that order as ``_col`` parameters."""
    parts = scope.get("path", "").strip("/").split("/")
    if len(parts) != 2:
        return scope
    name, table = (tilde_decode(part) for part in parts)
    if table not in READING_ORDER or name not in _archives.get(datasette, ()):
        return scope
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    if any(key in {"_col", "_nocol"} for key, _ in query):
        return scope
    columns = await datasette.get_database(name).table_columns(table)
    primary_keys = await datasette.get_database(name).primary_keys(table)
    first = [c for c in READING_ORDER[table] if c in columns]
    ordered = [c for c in first + columns if c not in _LONG.get(table, ())]
    ordered = list(dict.fromkeys(ordered))
    # _col lists what follows the primary key, which Datasette always shows first
    query += [("_col", c) for c in ordered if c not in primary_keys]
    return {**scope, "query_string": urlencode(query).encode("latin-1")}
