"""Streaming export of stories and versions as JSON Lines (a story per line) or CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TextIO

from sqlalchemy import Engine, select

from archive.storage.models import Story, Version

Format = Literal["jsonl", "csv"]
FORMATS: tuple[Format, ...] = ("jsonl", "csv")
# Rows fetched from the database at a time; PostgreSQL streams them with a server-side cursor.
FETCH_ROWS = 500

STORY_FIELDS = ("story_id", "story_title", "canonical_version_id", "first_seen_at", "last_seen_at")
VERSION_FIELDS = (
    "version_id",
    "source_path",
    "format",
    "site",
    "url",
    "title",
    "published_at",
    "ingested_at",
    "match_method",
    "matched_version_id",
    "match_distance",
    "match_similarity",
    "match_sentences",
    "simhash",
    "content_sha256",
    "body_sha256",
    "body",
)


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote."""

    format: Format
    stories: int
    versions: int


def version_rows(engine: Engine, *, bodies: bool = True) -> Iterator[dict[str, Any]]:
    """Every version with its story's fields, by story then version id, fetched in chunks.

    ``simhash`` is the unsigned value of the ``simhash`` package, not the stored signed one.
    """
    columns = [
        Story.id.label("story_id"),
        Story.title.label("story_title"),
        Story.canonical_version_id,
        Story.first_seen_at,
        Story.last_seen_at,
        Version.id.label("version_id"),
        *(getattr(Version, name) for name in VERSION_FIELDS[1:] if name != "body"),
    ]
    if bodies:
        columns.append(Version.body)
    query = (
        select(*columns).join(Version, Version.story_id == Story.id).order_by(Story.id, Version.id)
    )
    with engine.connect() as connection:
        result = connection.execution_options(yield_per=FETCH_ROWS).execute(query)
        for row in result:
            yield dict(row._mapping)


def story_records(engine: Engine, *, bodies: bool = True) -> Generator[dict[str, Any], None, None]:
    """One record per story with its versions nested, holding one story in memory at a time."""
    current: dict[str, Any] | None = None
    for row in version_rows(engine, bodies=bodies):
        if current is None or current["story_id"] != row["story_id"]:
            if current is not None:
                yield current
            current = {
                "story_id": row["story_id"],
                "title": row["story_title"],
                "canonical_version_id": row["canonical_version_id"],
                "first_seen_at": row["first_seen_at"],
                "last_seen_at": row["last_seen_at"],
                "versions": [],
            }
        current["versions"].append({name: row[name] for name in row if name not in STORY_FIELDS})
    if current is not None:
        yield current


def export(engine: Engine, out: TextIO, *, format: Format, bodies: bool = True) -> ExportSummary:
    """Write the archive to ``out``: JSON Lines with one story (and its versions) per line, or
    CSV with one version (and its story's fields) per row. Times are ISO 8601 in UTC."""
    stories = versions = 0
    if format == "jsonl":
        for record in story_records(engine, bodies=bodies):
            out.write(json.dumps(record, ensure_ascii=False, default=_json_default) + "\n")
            stories += 1
            versions += len(record["versions"])
    elif format == "csv":
        names = [*STORY_FIELDS, *(n for n in VERSION_FIELDS if bodies or n != "body")]
        writer = csv.DictWriter(out, fieldnames=names, lineterminator="\n")
        writer.writeheader()
        last_story = None
        for row in version_rows(engine, bodies=bodies):
            writer.writerow(
                {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
            )
            versions += 1
            if row["story_id"] != last_story:
                stories, last_story = stories + 1, row["story_id"]
    else:
        raise ValueError(f"unknown export format {format!r}: one of {', '.join(FORMATS)}")
    return ExportSummary(format, stories, versions)


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
