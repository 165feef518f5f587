"""Security hygiene: database passwords are never printed, SQL takes values only as bound
parameters, and the file walk reads nothing outside the given paths through links."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from archive.cli import main
from archive.commands.ingest import ingest
from archive.config import display_url, mask_secrets
from archive.storage.models import Version

from .conftest import REPO, SEEDS

PASSWORD = "S3cret-Pa55"
# SQL metacharacters of every dialect and driver paramstyle: quotes, comments, statement ends,
# %-, :name-, $n- and ?-placeholders, backslashes
HOSTILE_TITLE = 'Robert\'); DROP TABLE stories;-- "quoted" %s %(x)s :name $1 ? \\ ;'
HOSTILE_NAME = "'; DROP TABLE versions; --.txt"
# calls whose first argument is SQL text
_SQL_CALLS = {"execute", "exec_driver_sql", "executescript", "executemany", "text"}


def printed(result: Result) -> str:
    """Everything the command wrote, on stdout and stderr."""
    return result.output + (result.stderr if result.stderr_bytes is not None else "")


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://archive:{PASSWORD}@127.0.0.1:1/archive",
        f"postgresql+psycopg://archive@127.0.0.1:1/archive?password={PASSWORD}",
        f"postgresql+psycopg://archive:{PASSWORD}@127.0.0.1:1/archive?sslpassword={PASSWORD}",
        f"postgresql+psycopg://archive:{PASSWORD}@127.0.0.1:not-a-port/archive",
    ],
)
def test_password_is_not_printed_when_the_database_cannot_be_opened(url: str) -> None:
    result = CliRunner().invoke(main, ["ingest", str(SEEDS[0]), "--db", url, "-q"])
    assert result.exit_code != 0
    assert PASSWORD not in printed(result)
    assert PASSWORD not in repr(result.exception)


@pytest.mark.postgres
def test_password_is_masked_in_the_summary_of_an_ingest(postgres_url: str) -> None:
    # The test server trusts local connections, so any password is accepted and ignored.
    url = make_url(postgres_url).set(password=PASSWORD).render_as_string(hide_password=False)
    result = CliRunner().invoke(main, ["ingest", str(SEEDS[0]), "--db", url, "--workers", "1"])
    assert result.exit_code == 0, printed(result)
    assert PASSWORD not in printed(result)
    assert ":***@127.0.0.1" in printed(result)


@pytest.mark.filterwarnings("ignore:Query string argument")  # pysqlite ignores the password
def test_password_in_an_sqlite_url_is_masked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'archive.db'}?password={PASSWORD}"
    result = CliRunner().invoke(main, ["ingest", str(SEEDS[0]), "--db", url, "--workers", "1"])
    assert result.exit_code == 0, printed(result)
    assert PASSWORD not in printed(result)
    assert "password=***" in printed(result)


def test_help_never_shows_the_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVE_DB", f"postgresql+psycopg://archive:{PASSWORD}@db.example/a")
    commands = [[], *([name] for name in main.commands)]
    for command in commands:
        result = CliRunner().invoke(main, [*command, "--help"])
        assert result.exit_code == 0, (command, printed(result))
        assert PASSWORD not in printed(result), command
        assert "db.example" not in printed(result), command


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"postgresql://u:{PASSWORD}@h/db", "postgresql://u:***@h/db"),
        (f"postgresql://u@h/db?password={PASSWORD}&sslmode=require", "password=***"),
        ("postgresql://u:p%40ss%2Fword@h/db", "postgresql://u:***@h/db"),
        (f"postgresql://u:{PASSWORD}@h:port/db", "<unparseable database URL>"),
        ("sqlite:///archive.db", "sqlite:///archive.db"),
    ],
)
def test_displayed_url_masks_every_password(url: str, shown: str) -> None:
    assert shown in display_url(url)
    assert PASSWORD not in display_url(url)
    assert "p@ss/word" not in display_url(url) and "p%40ss" not in display_url(url)


def test_secrets_of_a_url_are_masked_in_any_message() -> None:
    url = "postgresql://u:p%40ss word@h/db?sslpassword=other-secret"
    message = "failed for p@ss word (p%40ss+word, p%40ss%20word) with other-secret"
    masked = mask_secrets(message, url)
    assert "p@ss" not in masked and "p%40ss" not in masked and "other-secret" not in masked
    assert mask_secrets("connection refused", f"postgresql://u:{PASSWORD}@h:x/db") == (
        "connection refused"
    )
    assert PASSWORD not in mask_secrets(f"at u:{PASSWORD}@h", f"postgresql://u:{PASSWORD}@h:x/db")


def test_sql_metacharacters_in_names_and_text_are_stored_as_they_are(
    engine: Engine, tmp_path: Path
) -> None:
    body = "\n\n".join(
        [
            "Councillors voted on Tuesday to approve the flood plan ' OR '1'='1 after a debate "
            "that ran past midnight; DELETE FROM versions WHERE 1=1; --.",
            "Residents said the plan was overdue, and asked for a timetable before the autumn "
            "rains arrive \u2014 \"soon\", as one put it, ':name' and '%(body)s' included.",
        ]
    )
    path = tmp_path / HOSTILE_NAME
    path.write_text(f"{HOSTILE_TITLE}\n\n{body}\n")
    first = ingest([str(path)], engine)
    second = ingest([str(path)], engine)
    assert (first.versions_stored, second.duplicates_skipped) == (1, 1)
    with Session(engine) as session:
        stored = session.scalars(select(Version).where(Version.source_path == str(path))).one()
        assert (stored.title, stored.body) == (HOSTILE_TITLE, body)
    assert {"stories", "versions"} <= set(inspect(engine).get_table_names())


def _formatted_parts(node: ast.expr) -> list[ast.expr] | None:
    """The values formatted into a string expression, or None when it is not built by formatting
    (f-string, %, +, .format)."""
    if isinstance(node, ast.JoinedStr):
        return [v.value for v in node.values if isinstance(v, ast.FormattedValue)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
        return [node.right] if isinstance(node.op, ast.Mod) else [node.left, node.right]
    if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "format":
        return [*node.args, *(k.value for k in node.keywords)]
    return None


def _is_constant(node: ast.expr) -> bool:
    # Module constants (UPPER_CASE names) and literals are code, not data.
    if isinstance(node, ast.Constant):
        return True
    return isinstance(node, ast.Name) and node.id.isupper()


def test_sql_is_never_built_by_formatting_values_into_it() -> None:
    offenders = []
    for source in sorted((REPO / "archive").rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else None
            name = name or (node.func.id if isinstance(node.func, ast.Name) else None)
            parts = _formatted_parts(node.args[0]) if name in _SQL_CALLS else None
            if parts is not None and not all(_is_constant(p) for p in parts):
                offenders.append(f"{source.relative_to(REPO)}:{node.lineno}")
    assert offenders == [], "SQL built from values; pass them as bound parameters"
