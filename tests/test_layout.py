"""The package is laid out as the pipeline (issue 17), and imports go only downward.

Layers, lowest first:

0. the base modules ``archive/config.py``, ``errors.py``, ``wording.py``: settings, one-line
   failures, counts in words; they import no other module of the archive but each other;
1. ``archive/text/``: words, sentences, rarity, languages, SimHash, comparison profiles;
2. ``archive/sources/``: paths to parsed records (walk, open, decode, one module per format);
3. ``archive/storage/``: the schema, engines, the writer lock, storable text;
4. ``archive/linking/``: candidates, verification, the link methods, stories as rows;
5. ``archive/commands/``: what each command does, as library functions;
6. the top: ``archive/__init__.py``, ``api.py``, ``cli.py``, ``tables.py``,
   ``datasette_plugin.py``, which may import anything.

A module of a subpackage imports its own subpackage, lower layers and the base modules, never a
higher layer. Read from the source with ``ast``, so that an import inside a function or under
``if TYPE_CHECKING:`` (where many of them are, to start at once) counts as much as one at the
top. Each subpackage says in its docstring what it owns and what it may import, and its
``__init__`` imports nothing: ``archive --help`` imports ``archive.linking.method``, which runs
``archive/linking/__init__.py`` first.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import REPO

ARCHIVE = REPO / "archive"
BASE = frozenset({"archive.config", "archive.errors", "archive.wording"})
# The subpackages, lowest first: layer 1, 2...
LAYERS = ("text", "sources", "storage", "linking", "commands")
TOP_LAYER = len(LAYERS) + 1
TOP = frozenset(
    {"archive", "archive.api", "archive.cli", "archive.tables", "archive.datasette_plugin"}
)


def module_name(path: Path, root: Path = ARCHIVE) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int | None:
    """The layer of ``module`` (a module or package of the archive), None when it has none."""
    if module in BASE:
        return 0
    if module in TOP:
        return TOP_LAYER
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in LAYERS:
        return LAYERS.index(parts[1]) + 1
    return None


def layer_name(rank: int) -> str:
    return "base" if rank == 0 else "top" if rank == TOP_LAYER else LAYERS[rank - 1]


def is_module(name: str, root: Path) -> bool:
    """Whether ``name`` (archive.x.y) is a module or package file under ``root``'s parent."""
    path = root.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imported(source: str, module: str, is_package: bool, root: Path) -> Iterator[tuple[str, int]]:
    """(archive module imported, line) for every import of the archive in ``source``, wherever it
    stands: ``from archive.x import y`` names the module archive.x.y when there is one (a
    submodule), else archive.x."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "archive":
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.split(".")[0] != "archive":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                yield (sub if is_module(sub, root) else target), node.lineno


def wrong_imports(path: Path, root: Path = ARCHIVE) -> list[str]:
    """The imports of the module at ``path`` that go up the layers, or to a module that belongs
    to no layer, as ``archive/x/y.py line N: ...``."""
    module = module_name(path, root)
    own = layer(module)
    where = path.relative_to(root.parent).as_posix()
    if own is None:
        return [f"{where}: in no layer (add it to a subpackage, or to BASE or TOP here)"]
    found = []
    source = path.read_text(encoding="utf-8")
    for target, line in imported(source, module, path.name == "__init__.py", root):
        rank = layer(target)
        if rank is None:
            found.append(f"{where} line {line}: imports {target}, which is in no layer")
        elif rank > own or (own == 0 and rank != 0):
            found.append(
                f"{where} line {line}: {layer_name(own)} imports {target} ({layer_name(rank)})"
            )
    return found


def archive_modules() -> list[Path]:
    return sorted(ARCHIVE.rglob("*.py"))


def subpackages() -> list[Path]:
    return sorted(path.parent for path in ARCHIVE.glob("*/__init__.py"))


def test_every_import_goes_down_the_layers() -> None:
    modules = archive_modules()
    assert len(modules) > 40  # the walk sees the package
    assert [wrong for path in modules for wrong in wrong_imports(path)] == []


def test_every_subpackage_is_a_layer_with_a_docstring_and_imports_nothing() -> None:
    found = sorted(path.name for path in subpackages())
    assert found == sorted(LAYERS)
    for package in subpackages():
        tree = ast.parse((package / "__init__.py").read_text(encoding="utf-8"))
        assert ast.get_docstring(tree), f"{package.name}/__init__.py: no docstring"
        imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
        assert imports == [], f"{package.name}/__init__.py imports"


def test_only_the_base_and_top_modules_stay_at_the_top() -> None:
    top_level = {module_name(path) for path in ARCHIVE.glob("*.py")}
    assert top_level == BASE | TOP


@pytest.fixture
def fake_archive(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    for name in (
        "__init__.py",
        "config.py",
        "api.py",
        "text/__init__.py",
        "text/terms.py",
        "sources/__init__.py",
        "sources/article.py",
        "storage/__init__.py",
        "storage/models.py",
        "linking/__init__.py",
        "linking/store.py",
        "commands/__init__.py",
        "commands/queries.py",
    ):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text('"""A module."""\n', encoding="utf-8")
    return root


def test_the_check_refuses_imports_up_the_layers_wherever_they_stand(fake_archive: Path) -> None:
    path = fake_archive / "text" / "fingerprint.py"
    path.write_text(
        "from typing import TYPE_CHECKING\n"
        "from archive.config import MEGABYTE\n"
        "from archive.text import terms\n"
        "from . import terms as same\n"
        "if TYPE_CHECKING:\n"
        "    from archive.sources.article import Article\n"
        "def fingerprint():\n"
        "    from archive import storage\n"
        "    import archive.linking.store\n"
        "    from ..commands.queries import show_story\n"
        "    from archive import Archive\n"
        "    from archive.unplaced import thing\n",
        encoding="utf-8",
    )
    assert wrong_imports(path, fake_archive) == [
        "archive/text/fingerprint.py line 6: text imports archive.sources.article (sources)",
        "archive/text/fingerprint.py line 8: text imports archive.storage (storage)",
        "archive/text/fingerprint.py line 9: text imports archive.linking.store (linking)",
        "archive/text/fingerprint.py line 10: text imports archive.commands.queries (commands)",
        "archive/text/fingerprint.py line 11: text imports archive (top)",
        "archive/text/fingerprint.py line 12: imports archive.unplaced, which is in no layer",
    ]


def test_the_check_lets_imports_go_down_and_refuses_base_modules_that_import_up(
    fake_archive: Path,
) -> None:
    down = fake_archive / "commands" / "export.py"
    down.write_text(
        "from archive.commands.queries import last_seen\n"
        "from archive.linking import store\n"
        "from archive.storage.models import Story\n"
        "from archive.sources.article import Article\n"
        "from archive.text.terms import words\n"
        "from archive.config import MEGABYTE\n",
        encoding="utf-8",
    )
    assert wrong_imports(down, fake_archive) == []
    base = fake_archive / "errors.py"
    base.write_text("from archive.config import MEGABYTE\nfrom archive.text import terms\n")
    assert wrong_imports(base, fake_archive) == [
        "archive/errors.py line 2: base imports archive.text.terms (text)"
    ]
