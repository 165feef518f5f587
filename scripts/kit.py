"""The evaluation kit beside the repository (../shared/eval): generating corpora with it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DEFAULT_KIT = Path(__file__).resolve().parent.parent.parent / "shared" / "eval"


def make_corpus(kit: Path, out: Path, *options: str) -> Path:
    """``out`` holding a corpus made by the kit's ``make_corpus.py`` with ``options``, made
    only if it is not there already."""
    if not (out / "labels.csv").exists():
        command = [sys.executable, str(kit / "make_corpus.py"), "--out", str(out), *options]
        subprocess.run([*command, "--quiet"], check=True)
    return out
