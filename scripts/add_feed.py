"""Add the articles of a JSON Lines feed to the archive, then print the stories that gained a
version: each with its versions, the new ones marked +.

    python scripts/add_feed.py feed.jsonl --db news.db
    curl -s https://example.org/feed.jsonl | python scripts/add_feed.py - --db news.db

Each line of the feed is a JSON object; its fields title, body (or html), url, site,
published and source are used, others (id, author...) are left out.
"""

import argparse
import json
import sys
from collections.abc import Iterator

from archive import Archive

FIELDS = ("title", "body", "html", "url", "site", "published", "source")


def articles(lines: Iterator[str]) -> Iterator[dict[str, object]]:
    for line in lines:
        if line.strip():
            item = json.loads(line)
            yield {field: item[field] for field in FIELDS if field in item}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "feed",
        type=argparse.FileType(encoding="utf-8"),
        help="a JSON Lines file, or - for standard input",
    )
    parser.add_argument("--db", default="archive.db", help="SQLite file or database URL")
    args = parser.parse_args()

    with args.feed as feed, Archive(args.db) as archive:
        added = archive.add_many(articles(feed))

        stored = [a for a in added if a.status == "stored"]
        new_stories = sum(a.new_story for a in stored)
        archived = sum(a.status == "archived" for a in added)
        failed = [a for a in added if a.status == "failed"]
        print(
            f"{len(stored)} stored ({new_stories} new stories, {len(stored) - new_stories} "
            f"linked), {archived} already archived, {len(failed)} failed"
        )
        for failure in failed:
            print(f"failed: {failure.source}: {failure.error}", file=sys.stderr)

        new_versions = {a.version_id for a in stored}
        for story_id in sorted({a.story_id for a in stored if a.story_id is not None}):
            story = archive.story(story_id)
            if len(story.versions) < 2:
                continue  # a new story with one version: it gained nothing to compare
            print(f"story {story.story_id}: {story.title} ({len(story.versions)} versions)")
            for version in story.versions:
                mark = "+" if version.version_id in new_versions else " "
                how = version.method
                if version.similarity is not None and version.method != "exact":
                    how += f", similarity {version.similarity:.2f}"
                print(f"  {mark} {version.version_id} {version.source_path} ({how})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
