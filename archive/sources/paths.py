"""The one spelling of a path that the archive stores as ``source_path``."""

from __future__ import annotations

import os

from archive.sources.records import UNSTORABLE


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


def display_path(path: str | os.PathLike[str]) -> str:
    """``path`` as stored in ``source_path`` (an ingest first writes it the one way of
    :func:`source_name`), except that bytes of a file name that are not UTF-8 (which no
    database text column can hold) are written as ``\\xNN``."""
    text = str(os.fspath(path))  # a plain str, also for a str subclass
    if UNSTORABLE.search(text) is None:
        return text
    return os.fsencode(text).decode("utf-8", "backslashreplace").replace("\x00", "\\x00")
