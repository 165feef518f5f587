#!/usr/bin/env python3
"""Score story linking on the evaluation kit: generate a corpus, ingest it fresh, score it.

    python scripts/evaluate.py                       # default dev corpus (seed 1), SQLite
    python scripts/evaluate.py --seed 2              # another draw of the same data
    python scripts/evaluate.py --corpus /tmp/evalrun # a corpus generated already
    python scripts/evaluate.py --db postgresql+psycopg://localhost/eval   # an EMPTY database

Corpora and databases go to a scratch folder (never into the repository: the kit's data may
not be redistributed). Prints the scorer's report: pairwise precision/recall/F1, recall per kind,
false links per negative group. Extra arguments after ``--`` go to ``score.py`` (e.g. gates).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from archive.db import open_archive  # noqa: E402
from archive.ingest import ingest  # noqa: E402


def main() -> int:
    args = _arguments()
    kit = Path(args.kit).resolve()
    scratch = Path(args.workdir or tempfile.mkdtemp(prefix="archive-eval-"))
    scratch.mkdir(parents=True, exist_ok=True)
    corpus = Path(args.corpus) if args.corpus else _generate(kit, scratch, args.seed)
    labels = corpus / "labels.csv"
    db_url = args.db or f"sqlite:///{scratch / 'eval.db'}"
    if not args.db:
        (scratch / "eval.db").unlink(missing_ok=True)

    engine = open_archive(db_url)
    started = time.perf_counter()
    report = ingest([str(corpus / "corpus")], engine)
    elapsed = time.perf_counter() - started
    engine.dispose()
    print(f"ingest: {report.summary()}", file=sys.stderr)
    print(
        f"ingest: {elapsed:.1f} s, {report.files_seen / elapsed:.0f} files/s",
        file=sys.stderr,
    )
    score = [sys.executable, str(kit / "score.py"), "--labels", str(labels), "--db", db_url]
    return subprocess.call([*score, *args.score_args])


def _generate(kit: Path, scratch: Path, seed: int) -> Path:
    out = scratch / f"corpus-seed{seed}"
    if not (out / "labels.csv").exists():
        subprocess.run(
            [sys.executable, str(kit / "make_corpus.py"), "--out", str(out), "--seed", str(seed),
             "--quiet"],
            check=True,
        )  # fmt: skip
    return out


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kit", default=str(REPO.parent / "shared" / "eval"), help="eval kit")
    parser.add_argument("--seed", type=int, default=1, help="corpus generator seed")
    parser.add_argument("--corpus", help="a corpus folder (with corpus/ and labels.csv)")
    parser.add_argument("--db", help="an empty database URL (default: SQLite in the workdir)")
    parser.add_argument("--workdir", help="scratch folder (default: a new temporary one)")
    parser.add_argument("score_args", nargs="*", help="after --: options for score.py")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
