"""News article archive with near-duplicate detection on ingest.

From Python: ``from archive import Archive`` (see :mod:`archive.api` and docs/python.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from archive.api import Added, Archive, NewArticle, to_jsonable

__all__ = ["Added", "Archive", "NewArticle", "to_jsonable"]


def __getattr__(name: str) -> Any:
    # The API is imported on first use: `import archive` (and `archive --version`) stays cheap.
    if name in __all__:
        from archive import api

        return getattr(api, name)
    raise AttributeError(f"module 'archive' has no attribute {name!r}")
