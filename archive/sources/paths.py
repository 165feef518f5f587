"""The one spelling of a path that the archive stores as ``source_path``."""

from __future__ import annotations

import os


def source_name(path: str | os.PathLike[str]) -> str:
    """``path`` relative to the working directory when it is inside it, else absolute; both
    without ``.``, ``..`` or doubled separators (links are not resolved, so the name stays the
    one the user sees). ``ru``, ``./ru``, ``../here/ru`` and ``/abs/here/ru`` run from
    ``/abs/here`` are all ``ru``: re-running an ingest with another spelling finds the files
    archived. A path that cannot be placed (the working directory is gone) stays as given."""
    given = os.fspath(path)
    try:
        absolute = os.path.abspath(given)
        cwd = os.getcwd()
    except OSError:
        return given
    relative = os.path.relpath(absolute, cwd)
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return absolute
    return relative
