"""Opening a file safely: only a regular file is read, and nothing else is opened for long (a
named pipe would block the ingest forever); what is not read says why (:class:`NotRead`)."""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO

_FILE_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


class NotRead(Exception):
    """A file that is not read at all; the message is the reason."""


def open_regular_file(path: str) -> tuple[BinaryIO, int]:
    """The file at ``path`` open for reading, and its size; raises :class:`NotRead` for
    anything but a regular file (a folder, pipe, socket or device, a broken link, a link
    loop) and for a file that cannot be opened."""
    # O_NONBLOCK: opening a named pipe would otherwise wait for a writer that may never come.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise NotRead(_open_error(path, exc)) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRead(f"not a regular file: {_kind(info.st_mode)}, not read")
        return os.fdopen(fd, "rb"), info.st_size
    except BaseException:
        os.close(fd)
        raise


def _open_error(path: str, exc: OSError) -> str:
    kind = _special_kind(path)
    if kind is not None:  # a socket cannot be opened at all (ENXIO)
        return f"not a regular file: {kind}, not read"
    if exc.errno == errno.ELOOP:
        return "symbolic link loop (too many levels of symbolic links), not read"
    if exc.errno == errno.ENOENT and os.path.islink(path):
        return f"broken symbolic link: its target {os.readlink(path)!r} does not exist"
    return f"cannot read file: {exc.strerror or exc}"


def _special_kind(path: str) -> str | None:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    return None if stat.S_ISREG(mode) else _kind(mode)


def _kind(mode: int) -> str:
    return next((name for test, name in _FILE_KINDS if test(mode)), "a special file")
