"""Words of the messages: counts with the right plural."""

from __future__ import annotations


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``n`` and the noun that goes with it: "1 version", "3 versions", "0 stories"."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"
