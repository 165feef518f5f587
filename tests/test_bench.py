"""The benchmark script runs end to end on a small corpus, so that it cannot rot (its
``--api`` measure of ``Archive.add_many`` too)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
KIT = REPO.parent / "shared" / "eval"


def _require_kit() -> None:
    if not (KIT / "make_corpus.py").exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"the evaluation kit is not at {KIT}: CI must run the benchmark smoke test")
        pytest.skip(f"needs the evaluation kit at {KIT}")


def test_benchmark_smoke_run_reports_every_measure(tmp_path: Path) -> None:
    _require_kit()
    result = subprocess.run(
        [sys.executable, "scripts/bench.py", "--smoke", "--db", "sqlite", "--workers", "2",
         "--api", "--workdir", str(tmp_path), "--out", str(tmp_path / "performance.md")],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = (tmp_path / "performance.md").read_text(encoding="utf-8")
    measures = ("simhash package", "MinHashLSH", "documents/s", "peak RSS MB", "bytes/version",
                "lookup p50 / p99 (ms), candidates", "add_many documents/s")  # fmt: skip
    for measure in measures:
        assert measure in report
    # the ingest's own processes, the workers too (started by a forkserver, read from /proc)
    row = next(line for line in report.splitlines() if line.startswith("| sqlite | "))
    writer_mb, worker_mb = (float(mb.replace(",", "")) for mb in row.split(" | ")[6].split(" / "))
    assert writer_mb > 0
    assert worker_mb > 0 or not Path("/proc/self/status").exists()


def test_benchmark_stopped_early_reports_what_it_measured(tmp_path: Path) -> None:
    _require_kit()
    result = subprocess.run(
        [sys.executable, "scripts/bench.py", "--smoke", "--db", "sqlite", "--workers", "1",
         "--batch-size", "50", "--time-limit", "0.000001", "--workdir", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith("| sqlite | "))
    documents = row.split(" | ")[1]
    assert documents.endswith("of 300 (stopped)")
    assert 0 < int(documents.split()[0].replace(",", "")) < 300
    lookups = [line for line in result.stdout.splitlines() if "lookup p50 / p99" in line]
    assert lookups and "at 300:" not in lookups[0]


@pytest.mark.postgres
def test_a_benchmark_on_postgresql_drops_the_databases_it_made(tmp_path: Path) -> None:
    """Each run makes a database per measure on the server (one of 1,000,000 documents is
    about 9 GB); they go when it ends."""
    _require_kit()
    from sqlalchemy import create_engine, text

    from .conftest import _postgres_admin_url

    server = _postgres_admin_url()
    admin = create_engine(server, isolation_level="AUTOCOMMIT")

    def benchmark_databases() -> set[str]:
        with admin.connect() as connection:
            names = connection.execute(text("SELECT datname FROM pg_database")).scalars()
            return {name for name in names if name.startswith("archive_bench_")}

    before = benchmark_databases()
    result = subprocess.run(
        [sys.executable, "scripts/bench.py", "--smoke", "--db", "postgres", "--pg-url", server,
         "--workers", "1", "--limit", "60", "--reference-docs", "20", "--lookups", "5",
         "--processes", "2", "--workdir", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "| postgres | 2 |" in result.stdout  # the scale-out ran, on a database of its own
    assert benchmark_databases() == before
    admin.dispose()
