#!/usr/bin/env python3
"""Score story linking on the evaluation kit: generate a corpus, ingest it fresh, score it.

    python scripts/evaluate.py                       # default dev corpus (seed 1), SQLite
    python scripts/evaluate.py --seed 2              # another draw of the same data
    python scripts/evaluate.py --corpus /tmp/evalrun # a corpus generated already
    python scripts/evaluate.py --db postgresql+psycopg://localhost/eval   # an EMPTY database

Corpora and databases go to a scratch folder (never into the repository: the kit's data may
not be redistributed). Prints how many same-story pairs the candidate index alone finds, then the
scorer's report: pairwise precision/recall/F1, recall per kind,
false links per negative group. Extra arguments after ``--`` go to ``score.py`` (e.g. gates).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kit import DEFAULT_KIT, make_corpus  # noqa: E402
from sqlalchemy import Engine, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from archive.commands.ingest import ingest  # noqa: E402
from archive.linking.candidates import MIN_SHARED_KEYS  # noqa: E402
from archive.storage.db import open_archive  # noqa: E402
from archive.storage.models import INDEX_TABLES, Version  # noqa: E402

REWRITE_TAGS = ("seed", "rewrite-spun", "rewrite-condensed", "rewrite-restructured")


def main() -> int:
    args = _arguments()
    kit = Path(args.kit).resolve()
    scratch = Path(args.workdir or tempfile.mkdtemp(prefix="archive-eval-"))
    scratch.mkdir(parents=True, exist_ok=True)
    corpus = (
        Path(args.corpus)
        if args.corpus
        else make_corpus(kit, scratch / f"corpus-seed{args.seed}", "--seed", str(args.seed))
    )
    labels = corpus / "labels.csv"
    db_url = args.db or f"sqlite:///{scratch / 'eval.db'}"
    if not args.db:
        (scratch / "eval.db").unlink(missing_ok=True)

    engine = open_archive(db_url)
    started = time.perf_counter()
    report = ingest([str(corpus / "corpus")], engine, workers=args.workers)
    elapsed = time.perf_counter() - started
    print_index_recall(engine, labels)
    engine.dispose()
    print(f"ingest: {report.summary()}", file=sys.stderr)
    print(
        f"ingest: {elapsed:.1f} s, {report.files_seen / elapsed:.0f} files/s",
        file=sys.stderr,
    )
    score = [sys.executable, str(kit / "score.py"), "--labels", str(labels), "--db", db_url]
    return subprocess.call([*score, *args.score_args])


def print_index_recall(engine: Engine, labels: Path) -> None:
    """How many same-story pairs the candidate index alone puts together (``MIN_SHARED_KEYS``
    shared match keys or the same body hash), before verification: what linking can find
    directly (it finds more through other versions of the story)."""
    keys: dict[int, set[int]] = {}
    with Session(engine) as session:
        for table in INDEX_TABLES:
            for key, version_id in session.execute(select(table.c.key, table.c.version_id)):
                keys.setdefault(version_id, set()).add(key)
        versions = {
            _label_path(path): (version_id, body_hash, story_id)
            for version_id, path, body_hash, story_id in session.execute(
                select(Version.id, Version.source_path, Version.body_sha256, Version.story_id)
            )
        }
    stories: dict[str, list[dict[str, str]]] = {}
    with labels.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["path"] in versions:
                stories.setdefault(row["story"], []).append(row)
    counts: dict[str, list[int]] = {}
    for rows in stories.values():
        for a, b in itertools.combinations(rows, 2):
            tags = f"{a['kind']}+{b['kind']}"
            kind = next((t for t in (*REWRITE_TAGS, "rewrite-heavy") if t in tags), "copies+edits")
            (id_a, hash_a, story_a), (id_b, hash_b, story_b) = (
                versions[a["path"]],
                versions[b["path"]],
            )
            shared = keys.get(id_a, set()) & keys.get(id_b, set())
            found = hash_a == hash_b or len(shared) >= MIN_SHARED_KEYS
            tally = counts.setdefault(kind, [0, 0, 0])
            tally[0] += 1
            tally[1] += found
            tally[2] += story_a == story_b
    print(f"{'same-story pairs':24} {'pairs':>6} {'index recall':>13} {'linked':>8}")
    for kind, (pairs, found, linked) in sorted(counts.items()):
        print(f"{kind:24} {pairs:6} {found / pairs:13.3f} {linked / pairs:8.3f}")
    print()


def _label_path(source_path: str) -> str:
    return source_path.split("/corpus/", 1)[-1]


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kit", default=str(DEFAULT_KIT), help="eval kit")
    parser.add_argument("--seed", type=int, default=1, help="corpus generator seed")
    parser.add_argument("--corpus", help="a corpus folder (with corpus/ and labels.csv)")
    parser.add_argument("--db", help="an empty database URL (default: SQLite in the workdir)")
    parser.add_argument("--workers", type=int, default=1, help="parse/fingerprint processes")
    parser.add_argument("--workdir", help="scratch folder (default: a new temporary one)")
    parser.add_argument("score_args", nargs="*", help="after --: options for score.py")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
