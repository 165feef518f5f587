"""The walk from the paths given to the files to read: folders walked in order, links followed
only within the given paths, and what is not read (:class:`Refused`) kept with its reason."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from archive.sources.paths import display_path, source_name
from archive.sources.records import ParseFailure


@dataclass(frozen=True)
class Refused:
    """A path that the walk found but will not have read (a symbolic link out of the given
    folders, a folder it cannot list), with the reason: it ingests as a failure that says so.

    Path-like, but no ``str``: nothing takes it for a file to read by mistake (the parser
    gives its :meth:`failure` without opening it), and it goes to the worker processes as it is
    (a frozen dataclass pickles as its fields).
    """

    path: str
    reason: str

    def __fspath__(self) -> str:
        return self.path

    def __str__(self) -> str:
        return self.path

    def failure(self) -> ParseFailure:
        """What parsing it gives."""
        return ParseFailure(display_path(self.path), self.reason)


@dataclass(frozen=True)
class Shard:
    """One of ``count`` parts of the files to ingest (``--shard 2/4``): the files whose path,
    as walked from the given paths, hashes to it. N processes on N machines given the same
    paths split them without talking to each other."""

    number: int  # 1 .. count
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.number <= self.count:
            raise ValueError(
                f"shard {self.number}/{self.count}: the number must be 1 to {self.count}"
            )

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"I/N"``, as the command line takes it."""
        number, slash, count = text.partition("/")
        if not slash or not number.strip().isdigit() or not count.strip().isdigit():
            raise ValueError(f"shard {text!r}: expected I/N, for example 2/4")
        return cls(int(number), int(count))

    def holds(self, path: str) -> bool:
        # BLAKE2b, not hash(): the same path must fall in the same shard in every process.
        digest = hashlib.blake2b(os.fsencode(path), digest_size=8).digest()
        return int.from_bytes(digest, "big") % self.count == self.number - 1


def walk(
    paths: Iterable[str | os.PathLike[str]],
    *,
    follow_symlinks: bool = False,
    shard: Shard | None = None,
) -> Iterator[str | Refused]:
    """The files to ingest: files as they are, folders walked recursively in sorted order,
    skipping hidden entries (names starting with a dot). Each path given is first written the
    one way it is stored (:func:`archive.sources.paths.source_name`), so ``ru``, ``./ru`` and
    ``/abs/ru`` are one source.

    A path given is read even when it is a symbolic link: it was asked for. Inside a walked
    folder, links are followed only to what lies within the given paths (a link to a folder is
    never walked twice, so link loops end), unless ``follow_symlinks``; a link out of them, and
    a folder that cannot be listed, come out as a :class:`Refused` that ingests as a failure
    with the reason, never silently skipped.
    """
    given = [source_name(p) for p in paths]
    allowed = [os.path.realpath(p) for p in given]
    for path in given:
        found = _walk(path, allowed, follow_symlinks) if Path(path).is_dir() else iter([path])
        yield from (f for f in found if shard is None or shard.holds(os.fspath(f)))


def collect_files(
    paths: Iterable[str | os.PathLike[str]],
    *,
    follow_symlinks: bool = False,
    shard: Shard | None = None,
) -> Iterator[str]:
    """The paths :func:`walk` finds, a refused one as its path: what the ingest of ``paths``
    goes through, in its order (:func:`archive.api.files`)."""
    for found in walk(paths, follow_symlinks=follow_symlinks, shard=shard):
        yield os.fspath(found)


def _walk(top: str, allowed: list[str], follow_symlinks: bool) -> Iterator[str | Refused]:
    def inside(target: str) -> bool:
        return any(os.path.commonpath([root, target]) == root for root in allowed)

    unlistable: list[Refused] = []

    def on_error(exc: OSError) -> None:
        where = os.path.normpath(exc.filename) if isinstance(exc.filename, str) else top
        unlistable.append(Refused(where, f"cannot list folder: {exc.strerror or exc}"))

    # Each folder once, by identity: a link or bind mount back up the tree cannot loop.
    walked = {_identity(top)}
    for root, dirs, files in os.walk(top, onerror=on_error, followlinks=follow_symlinks):
        yield from unlistable
        unlistable.clear()
        kept = []
        for name in sorted(d for d in dirs if not d.startswith(".")):
            folder = _join(root, name)
            if os.path.islink(folder) and not follow_symlinks:
                target = os.path.realpath(folder)
                if not inside(target):
                    yield Refused(
                        folder,
                        f"symbolic link to a folder outside the given paths ({target}), "
                        "not followed",
                    )
                continue  # a folder inside the given paths is walked where it really is
            identity = _identity(folder)
            if identity not in walked:
                walked.add(identity)
                kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            if name.startswith("."):
                continue
            file = _join(root, name)
            if not follow_symlinks and os.path.islink(file) and os.path.exists(file):
                target = os.path.realpath(file)
                if not inside(target):
                    yield Refused(
                        file,
                        f"symbolic link to a file outside the given paths ({target}), not read",
                    )
                    continue
            # Broken links and link loops go on to the parser, which reports them.
            yield file
    yield from unlistable


def _join(root: str, name: str) -> str:
    # The working directory walked as "." gives "name" and "sub/name", never "./name".
    root = os.path.normpath(root)
    return name if root == os.curdir else os.path.join(root, name)


def _identity(folder: str) -> tuple[int, int] | str:
    try:
        info = os.stat(folder)
    except OSError:
        return os.path.realpath(folder)
    return (info.st_dev, info.st_ino)
