"""A process and its descendants, and their memory, read from ``/proc`` (Linux): for the
scripts that measure an ingest's memory, whose workers a forkserver starts (so they are not
the ingest's children, and ``RUSAGE_CHILDREN`` does not count them). Where there is no
``/proc``, a tree is its root alone and every figure is 0."""

from __future__ import annotations

import os
from pathlib import Path


def tree(root: int) -> list[int]:
    """``root`` and every process descended from it."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        entries = []
    for entry in entries:
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue  # ended meanwhile
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    found = [root]
    for pid in found:
        found.extend(children.get(pid, []))
    return found


def memory_kb(pid: int, field: str = "VmRSS") -> int:
    """A memory figure of ``/proc/PID/status`` in KB: ``VmRSS`` (resident now) or ``VmHWM``
    (its peak); 0 when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
