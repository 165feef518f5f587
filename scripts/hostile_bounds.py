"""Time and memory of `archive ingest` on each kind of hostile input, measured on real processes.

    python3 scripts/hostile_bounds.py [--db URL] [--workers N] [--only NAME ...] [--keep DIR]

Each input is generated into a temporary folder (nothing is downloaded, nothing committed) and
ingested by `archive ingest` in a process of its own, into a fresh SQLite archive unless --db
names a PostgreSQL server (a new database is made on it for each input). While it runs, the
resident memory of the whole process tree (the writer, the forkserver, the workers and the
resource tracker) is summed every 50 ms from /proc (Linux). Printed: one Markdown row per
input with its size, wall time, peak memory of the tree and of its biggest process, exit code,
versions stored against those expected, ingest_errors rows, and whether a traceback was
printed. docs/reliability.md quotes a run of it.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from proctree import memory_kb, tree
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
MB = 1_000_000
# Words for made-up articles: the bundled samples' vocabulary.
_WORDS = sorted(
    {
        w.lower()
        for p in (REPO / "samples").glob("*.txt")
        for w in re.findall(r"[A-Za-z]{3,}", p.read_text(encoding="utf-8"))
    }
)


@dataclass
class Input:
    name: str
    make: Callable[[Path], Path]  # writes the input into a folder, returns the path to ingest
    stored: int  # versions the ingest must store


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choices(_WORDS, k=words)).capitalize() + "."


def _article(rng: random.Random, n: int) -> dict[str, str]:
    return {
        "title": f"Report {n}: " + _sentence(rng, 6),
        "text": "\n\n".join(" ".join(_sentence(rng, 14) for _ in range(3)) for _ in range(3)),
    }


def short_lines(folder: Path) -> Path:
    rng = random.Random(1)
    path = folder / "short-lines.jsonl"
    with path.open("w") as out:
        for _ in range(20_000):
            out.write(json.dumps({"title": _sentence(rng, 6), "text": _sentence(rng, 40)}) + "\n")
    return path


def json_array(folder: Path) -> Path:
    rng = random.Random(2)
    path = folder / "array.json"
    path.write_text(json.dumps([_article(rng, n) for n in range(2_000)]))
    return path


def bad_lines_gz(folder: Path) -> Path:
    path = folder / "empty-records.jsonl.gz"
    path.write_bytes(gzip.compress(b"{}\n" * 2_000_000, 9))
    return path


def bad_lines(folder: Path) -> Path:
    rng = random.Random(3)
    path = folder / "bad-lines.jsonl"
    with path.open("wb") as out:
        out.write(json.dumps(_article(rng, 0)).encode() + b"\n")
        for _ in range(30):
            out.write(b'{"id": 1}\n' * 10_000)
        out.write(json.dumps(_article(rng, 1)).encode() + b"\n")
    return path


def tags_with_text(folder: Path) -> Path:
    path = folder / "p-x.html"
    path.write_text("<html><body>" + "<p>x" * 1_200_000 + "</body></html>")
    return path


def tags_alone(folder: Path) -> Path:
    path = folder / "p.html"
    path.write_text("<html><body>" + "<p>" * 1_600_000 + "</body></html>")
    return path


def million_lines(folder: Path) -> Path:
    path = folder / "lines.txt"
    path.write_text("x\n" * 2_400_000)
    return path


def huge_text(folder: Path) -> Path:
    path = folder / "huge.txt"
    with path.open("wb") as out:
        for _ in range(100):
            out.write(b"A long report on nothing in particular keeps going.\n" * 19_231)
    return path


def gzip_bomb(folder: Path) -> Path:
    path = folder / "bomb.txt.gz"
    member = gzip.compress(b"All work and no play makes a dull article. " * 23_000)
    path.write_bytes(member * 101)
    return path


def warc_pages(folder: Path) -> Path:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    rng = random.Random(4)
    path = folder / "crawl.warc.gz"
    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        for n in range(2_000):
            article = _article(rng, n)
            paragraphs = "".join(f"<p>{p}</p>" for p in article["text"].split("\n\n"))
            page = (
                f"<html><head><title>{article['title']}</title></head><body><nav>Home News</nav>"
                f"<article><h1>{article['title']}</h1>{paragraphs}</article></body></html>"
            )
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], "HTTP/1.1")
            writer.write_record(
                writer.create_warc_record(
                    f"https://news.example/{n}",
                    "response",
                    payload=io.BytesIO(page.encode()),
                    http_headers=headers,
                )
            )
    return path


INPUTS = [
    Input("20,000 short JSONL lines", short_lines, 20_000),
    Input("JSON array of 2,000 articles", json_array, 2_000),
    Input("2,000,000 `{}` lines, gzipped (5.9 KB)", bad_lines_gz, 0),
    Input("300,000 bad JSONL lines around 2 good", bad_lines, 2),
    Input("WARC.gz of 2,000 pages", warc_pages, 2_000),
    Input('4.8 MB of "<p>x"', tags_with_text, 1),
    Input('4.8 MB of "<p>"', tags_alone, 0),
    Input('2,400,000 lines of "x"', million_lines, 1),
    Input("100 MB text file", huge_text, 0),
    Input("gzip expanding to 100 MB", gzip_bomb, 0),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="a PostgreSQL server URL (default: SQLite files)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", nargs="*", help="inputs whose name contains one of these")
    parser.add_argument("--keep", type=Path, help="make the inputs here and keep them")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="hostile-"))
    folder.mkdir(parents=True, exist_ok=True)
    print("| input | size | time | memory (tree) | biggest process | exit | stored | "
          "error rows | traceback |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    try:
        for item in INPUTS:
            if args.only and not any(word in item.name for word in args.only):
                continue
            path = item.make(folder)
            with _database(args.db, folder) as url:
                print(_measure(item, path, url, args.workers), flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


class _database:
    def __init__(self, server: str | None, folder: Path) -> None:
        self._server = server
        self._folder = folder
        self._name = f"hostile_{uuid.uuid4().hex[:10]}"

    def __enter__(self) -> str:
        if self._server is None:
            for old in self._folder.glob("archive.db*"):
                old.unlink()
            return f"sqlite:///{self._folder / 'archive.db'}"
        admin = create_engine(self._server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self._name}"'))
        admin.dispose()
        return make_url(self._server).set(database=self._name).render_as_string(False)

    def __exit__(self, *_: object) -> None:
        if self._server is not None:
            admin = create_engine(self._server, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)'))
            admin.dispose()


def _measure(item: Input, path: Path, url: str, workers: int) -> str:
    command = [sys.executable, "-c", "from archive.cli import main; main()", "ingest",
               str(path), "--db", url, "-q", "--workers", str(workers)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    tree_peak = biggest = 0
    stderr = b""
    while process.poll() is None:
        sizes = [memory_kb(pid) for pid in tree(process.pid)]
        tree_peak = max(tree_peak, sum(sizes))
        biggest = max(biggest, *sizes, 0)
        time.sleep(0.05)
    seconds = time.monotonic() - started
    stderr = process.stderr.read() if process.stderr else b""
    engine = create_engine(url)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT count(*) FROM versions")).scalar()
        errors = connection.execute(text("SELECT count(*) FROM ingest_errors")).scalar()
    engine.dispose()
    size = path.stat().st_size
    shown = f"{size / MB:.1f} MB" if size >= 100_000 else f"{size / 1000:.1f} KB"
    return (
        f"| {item.name} | {shown} | {seconds:.1f} s | {tree_peak / 1024:.0f} MB | "
        f"{biggest / 1024:.0f} MB | {process.returncode} | {stored} of {item.stored} | "
        f"{errors} | {'yes' if b'Traceback' in stderr else 'no'} |"
    )


if __name__ == "__main__":
    main()
