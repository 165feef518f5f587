#!/usr/bin/env python3
"""Score body and title extraction on the evaluation kit's pages and print a markdown table.

Usage: python3 scripts/eval_extraction.py [--shared ../shared/eval] [--out table.md]

Body scores are token precision / recall / F1 (whitespace tokens, multiset overlap, mean over
files) as in the article-extraction-benchmark. Gold texts:

- real pages (``real-html`` / ``real-dump``): the benchmark's ``ground-truth.json``;
- generated ``dump`` / ``html`` pages of the invented sites: the title and paragraphs that
  make_corpus.py put into that page (recorded while the corpus is generated, so edited
  headlines and truncated bodies are judged against what was written).

A fresh corpus is generated in a temporary folder with the kit's make_corpus.py (seed 1).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import importlib.util
import io
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import trafilatura  # noqa: E402

from archive.sources.article import Article  # noqa: E402
from archive.sources.htmlpage import extract_html  # noqa: E402
from archive.sources.textdump import extract_text  # noqa: E402


@dataclass
class Gold:
    """What a generated page really holds."""

    title: str
    body: str


@dataclass
class Scores:
    """Running means of body precision / recall / F1, title accuracy and time per file."""

    name: str
    precision: list[float] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)
    f1: list[float] = field(default_factory=list)
    titles: list[bool] = field(default_factory=list)
    seconds: float = 0.0

    def add_body(self, predicted: str, gold: str) -> None:
        p, r, f = token_prf(predicted, gold)
        self.precision.append(p)
        self.recall.append(r)
        self.f1.append(f)

    def row(self) -> str:
        n = len(self.f1) or len(self.titles)
        title = f"{mean(self.titles):.3f}" if self.titles else "-"
        body = [f"{mean(x):.3f}" if x else "-" for x in (self.precision, self.recall, self.f1)]
        ms = 1000 * self.seconds / max(1, n)
        return f"| {self.name} | {n} | {' | '.join(body)} | {title} | {ms:.1f} |"


def mean(values: list[float] | list[bool]) -> float:
    return sum(values) / len(values) if values else 0.0


def token_prf(predicted: str, gold: str) -> tuple[float, float, float]:
    pred, true = Counter(predicted.split()), Counter(gold.split())
    common = sum((pred & true).values())
    if not pred or not true:
        return (1.0 if not pred and not true else 0.0,) * 3  # type: ignore[return-value]
    p, r = common / sum(pred.values()), common / sum(true.values())
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def same_title(predicted: str, gold: str) -> bool:
    return " ".join(predicted.split()) == " ".join(gold.split())


def decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def load_make_corpus(shared: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_corpus", shared / "make_corpus.py")
    if spec is None or spec.loader is None:
        sys.exit(f"error: no make_corpus.py in {shared}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generate_corpus(shared: Path, out: Path) -> dict[str, Gold]:
    """Run make_corpus.py into ``out``; return the gold title/body of every dump/html page."""
    mc = load_make_corpus(shared)
    written: list[tuple[Any, Gold]] = []
    original_emit = mc.Builder.emit

    def recording_emit(
        self: Any, story: Any, art: Any, wrapper: str, *args: Any, **kw: Any
    ) -> None:
        original_emit(self, story, art, wrapper, *args, **kw)
        if wrapper in ("dump", "html"):
            paras = [" ".join(p.split()) for p in art.paras if p.strip()]
            written.append((self.outs[-1], Gold(art.title, "\n\n".join(paras))))

    mc.Builder.emit = recording_emit
    with contextlib.redirect_stdout(io.StringIO()):
        mc.main(["--out", str(out), "--quiet"])
    return {o.path: gold for o, gold in written}


def read_labels(out: Path) -> list[dict[str, str]]:
    with open(out / "labels.csv", encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def aeb_gold(shared: Path) -> dict[str, str]:
    root = shared / "data" / "article-extraction-benchmark"
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    return {f"aeb/{item_id[:16]}": rec["articleBody"] for item_id, rec in truth.items()}


def timed(scores: Scores, fn: Callable[[str], Article], text: str) -> Article:
    start = time.perf_counter()
    result = fn(text)
    scores.seconds += time.perf_counter() - start
    return result


def trafilatura_default(html: str) -> Article:
    return Article(title="", body=trafilatura.extract(html) or "")


REAL_HTML, REAL_HTML_TRAF = "real-html: extract_html", "real-html: trafilatura.extract default"
REAL_DUMP = "real-dump: extract_text"
HTML, HTML_TRAF = "invented html: extract_html", "invented html: trafilatura.extract default"
DUMP, DUMP_NEW_TITLE = (
    "invented dump: extract_text",
    "invented dump, changed headline: extract_text",
)
SEEDS = "seed dumps: extract_text"


def evaluate(shared: Path, corpus_dir: Path) -> list[Scores]:
    gold_pages = generate_corpus(shared, corpus_dir)
    aeb = aeb_gold(shared)
    html_title = load_make_corpus(shared).html_title
    names = (REAL_HTML, REAL_HTML_TRAF, REAL_DUMP, HTML, HTML_TRAF, DUMP, DUMP_NEW_TITLE, SEEDS)
    rows = {name: Scores(name) for name in names}
    real_titles: dict[str, str] = {}
    for label in read_labels(corpus_dir):
        path, kind, story = label["path"], label["kind"], label["story"]
        wrapper = kind.split("+")[0]
        if "#" in path or wrapper == "clean":
            continue
        text = decode((corpus_dir / "corpus" / path).read_bytes())
        if wrapper == "real-html":
            real_titles[story] = html_title(text)
            score_page(rows[REAL_HTML], extract_html, text, Gold(real_titles[story], aeb[story]))
            score_page(rows[REAL_HTML_TRAF], trafilatura_default, text, Gold("", aeb[story]))
        elif wrapper == "real-dump":
            score_page(rows[REAL_DUMP], extract_text, text, Gold("", aeb[story]))
        elif "seed" in kind:
            article = timed(rows[SEEDS], extract_text, text)
            rows[SEEDS].titles.append(article.title in SEED_TITLES)
        elif wrapper == "html":
            score_page(rows[HTML], extract_html, text, gold_pages[path])
            score_page(rows[HTML_TRAF], trafilatura_default, text, Gold("", gold_pages[path].body))
        elif wrapper == "dump":
            article = score_page(rows[DUMP], extract_text, text, gold_pages[path])
            if "edit-headline" in kind or "rewrite" in kind:
                same = same_title(article.title, gold_pages[path].title)
                rows[DUMP_NEW_TITLE].titles.append(same)
    return list(rows.values())


def score_page(row: Scores, extract: Callable[[str], Article], text: str, gold: Gold) -> Article:
    article = timed(row, extract, text)
    row.add_body(article.body, gold.body)
    if gold.title:
        row.titles.append(same_title(article.title, gold.title))
    return article


SEED_TITLES = {
    "North Korea’s Kim sets forth steps to boost Russia ties as US and Seoul warn about "
    "weapons deals",
    "Kim Jong-un Takes Action to Strengthen Relations with Russia Despite U.S. and Seoul’s "
    "Warnings of Weapons Deals",
}


def table(rows: list[Scores]) -> str:
    head = [
        "| pages: extractor | files | body precision | body recall | body F1 | title accuracy "
        "| ms/file |",
        "|---|---|---|---|---|---|---|",
    ]
    return "\n".join(head + [r.row() for r in rows])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared",
        type=Path,
        default=REPO / ".." / "shared" / "eval",
        help="the evaluation kit folder (default: ../shared/eval)",
    )
    parser.add_argument("--out", type=Path, help="also write the markdown table to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="eval-extraction-") as tmp:
        rows = evaluate(args.shared.resolve(), Path(tmp))
    text = table(rows)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
