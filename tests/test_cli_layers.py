"""The command line is a thin layer over the Python API (issue 20: "no second way of doing
anything"): archive/cli.py gets every answer from archive.api, and imports nothing else of the
library but what words, formats and prints answers. Read from its source with ``ast``, so that
an import inside a function (where the command line keeps most of them, to start at once)
counts as much as one at the top."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator

from .conftest import REPO

CLI = REPO / "archive" / "cli.py"

# What archive/cli.py may import of the archive, and why; None for any name of the module.
ARCHIVE_MODULES: dict[str, frozenset[str] | None] = {
    # The version that --version prints (the package's __init__ imports nothing else).
    "archive": frozenset({"__version__"}),
    # The API: Archive, parse() and files(), the result and error types. Everything the
    # commands read, write or parse goes through it.
    "archive.api": None,
    # Settings, not behaviour: where the archive is (--db, $ARCHIVE_DB), the default batch size,
    # and how a database URL is shown without its password.
    "archive.config": None,
    # How a failure of the database or the disk is worded in one line (issue 19).
    "archive.errors": None,
    # Presentation: the names of the link methods (for their labels), tables fitted to the
    # terminal and TSV/CSV writing, "3 versions".
    "archive.linking.method": None,
    "archive.tables": None,
    "archive.wording": None,
    # The renderers of an Archive.diff() answer, as docs/python.md tells scripts to use them;
    # not diff_versions, the query behind Archive.diff.
    "archive.commands.diff": frozenset({"render_plain", "render_rich"}),
}
# Other libraries: the command line's own (click, rich) and the database library's exception
# classes, to turn an archive that cannot be opened into a one-line message.
OTHER_MODULES: dict[str, frozenset[str] | None] = {
    "click": None,
    "rich": None,
    "sqlalchemy.exc": frozenset({"ArgumentError", "SQLAlchemyError"}),
}


def imports(source: str) -> Iterator[tuple[str, str | None, int]]:
    """(module, name imported from it or None, line) of every import in ``source``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            for alias in node.names:
                yield module, alias.name, node.lineno


def allowed(module: str, name: str | None) -> bool:
    top = module.split(".")[0]
    if top in sys.stdlib_module_names or module == "__future__":
        return True
    rules = ARCHIVE_MODULES if top == "archive" else OTHER_MODULES
    rule_of = module if module in rules else top if top in rules and top != "archive" else None
    if rule_of is None:
        return False
    names = rules[rule_of]
    return names is None or (name is not None and name in names)


def not_allowed(source: str) -> list[str]:
    return [
        f"line {line}: {'from ' + module + ' import ' + name if name else 'import ' + module}"
        for module, name, line in imports(source)
        if not allowed(module, name)
    ]


def test_the_command_line_imports_the_api_and_presentation_helpers_only() -> None:
    source = CLI.read_text(encoding="utf-8")
    assert not_allowed(source) == []
    used = {module for module, _, _ in imports(source)}
    assert "archive.api" in used  # the check sees the imports inside functions


def test_the_command_line_asks_the_database_nothing_itself() -> None:
    """No engine, session or SQL in cli.py: an Archive's engine is for scripts' own queries."""
    tree = ast.parse(CLI.read_text(encoding="utf-8"))
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    attributes = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert not {"engine", "Engine", "Session", "execute", "scalar", "scalars"} & (
        names | attributes
    )


def test_the_check_refuses_the_library_behind_the_api() -> None:
    source = (
        "import json\n"
        "from archive.api import Archive\n"
        "def stories():\n"
        "    from archive.commands.queries import list_stories\n"
        "    from archive.commands.diff import diff_versions, render_plain\n"
        "    import sqlalchemy\n"
        "    from sqlalchemy.exc import ArgumentError\n"
        "    from rich.table import Table\n"
        "    from .ingest import ingest\n"
    )
    assert not_allowed(source) == [
        "line 4: from archive.commands.queries import list_stories",
        "line 5: from archive.commands.diff import diff_versions",
        "line 6: import sqlalchemy",
        "line 9: from .ingest import ingest",
    ]
