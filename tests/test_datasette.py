"""The Datasette plugin: internal tables hidden, columns in reading order and labelled, views
faceted, times without microseconds; other databases left alone."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect

from archive.commands.ingest import ingest

from .conftest import REPO, SAMPLES
from .module_db import module_database

datasette_app = pytest.importorskip("datasette.app")
plugins = pytest.importorskip("datasette.plugins")
from archive import datasette_plugin  # noqa: E402  (needs datasette)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path]]:
    """Datasette serving the samples' archive (as news.db) and a database that is not one."""
    folder = tmp_path_factory.mktemp("datasette")
    with module_database("sqlite", folder) as (engine, _):
        assert ingest([str(SAMPLES)], engine).failed == 0
    archive = folder / "news.db"
    (folder / "archive.db").rename(archive)
    other = folder / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE versions (id INTEGER PRIMARY KEY, created_at TEXT)")
        connection.execute("INSERT INTO versions VALUES (1, '2024-01-02 03:04:05.678901')")
    registered = plugins.pm.is_registered(datasette_plugin)
    if not registered:  # an editable install made before the entry point existed
        plugins.pm.register(datasette_plugin, name="archive-test")
    datasette = datasette_app.Datasette([str(archive), str(other)])
    asyncio.run(datasette.invoke_startup())
    try:
        yield datasette, archive
    finally:
        if not registered:
            plugins.pm.unregister(datasette_plugin)


def get(datasette: Any, path: str) -> Any:
    async def fetch() -> Any:
        return await datasette.client.get(path)

    response = asyncio.run(fetch())
    assert response.status_code == 200, (path, response.text[:500])
    return response


def test_the_package_declares_the_plugin() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["datasette"] == {
        "archive": "archive.datasette_plugin"
    }


def test_internal_tables_are_hidden(served: tuple[Any, Path]) -> None:
    tables = {t["name"]: t for t in get(served[0], "/news.json").json()["tables"]}
    for internal in ("match_keys", "match_keys_recent", "version_words", "alembic_version"):
        assert tables[internal]["hidden"]
    assert not tables["versions"]["hidden"] and not tables["stories"]["hidden"]
    front = get(served[0], "/").text
    assert "match_keys" not in front and "version_words" not in front
    assert front.index("versions") < front.index("stories")


def test_table_pages_show_columns_in_reading_order(served: tuple[Any, Path]) -> None:
    order = headers(get(served[0], "/news/versions").text)
    assert order[:5] == ["id", "story_id", "title", "site", "published_at"], order
    assert order[-3:] == ["simhash", "content_sha256", "body_sha256"]
    # every column but the body, which its row's page shows
    assert sorted(order) == sorted(set(inspect_columns(served[1], "versions")) - {"body"})
    assert "body" in headers(get(served[0], "/news/versions/1").text)
    view = headers(get(served[0], "/news/version_matches").text)
    assert view[:4] == ["version_id", "story_id", "title", "site"]
    assert sorted(view) == sorted(inspect_columns(served[1], "version_matches"))
    # a page that chooses its columns, and the JSON API, are left as asked
    assert headers(get(served[0], "/news/versions?_col=site").text) == ["id", "site"]
    assert list(get(served[0], "/news/versions.json?_shape=objects").json()["rows"][0])[:3] == [
        "id",
        "story_id",
        "source_path",
    ]


def test_times_show_to_the_second_and_stories_by_title(served: tuple[Any, Path]) -> None:
    html = get(served[0], "/news/versions").text
    assert not re.search(r"\d\d:\d\d:\d\d\.\d{6}", html)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", html)
    # a version's story_id shows with the story's title
    assert re.search(r'<a href="/news/stories/\d+">Portwell votes for tidal barrier', html)
    other = get(served[0], "/other/versions").text
    assert "03:04:05.678901" in other  # not an archive: left alone


def test_views_are_faceted_and_columns_labelled(served: tuple[Any, Path]) -> None:
    facets = get(served[0], "/news/version_matches.json").json()["facet_results"]
    assert {"match_method", "site", "is_canonical"} <= set(facets)
    page = get(served[0], "/news/versions").text
    assert datasette_plugin.TABLES["versions"]["columns"]["match_similarity"] in page


def test_every_described_column_exists_and_the_main_tables_are_described_whole(
    served: tuple[Any, Path],
) -> None:
    for table, metadata in datasette_plugin.TABLES.items():
        columns = inspect_columns(served[1], table)
        assert columns, table
        assert set(metadata.get("columns", {})) <= set(columns), table
        for key in ("facets", "sort_desc", "label_column"):
            named = metadata.get(key)
            assert named is None or set([named] if isinstance(named, str) else named) <= set(
                columns
            ), (table, key)
    # the columns whose names do not say it all: units, encodings, the values they take
    assert {"match_similarity", "match_sentences", "match_distance", "simhash"} <= set(
        datasette_plugin.TABLES["versions"]["columns"]
    )
    for table, order in datasette_plugin.READING_ORDER.items():
        assert set(order) <= set(inspect_columns(served[1], table)), table


def headers(html: str) -> list[str]:
    return re.findall(r'<th [^>]*data-column="([a-z0-9_]+)"', html)


def inspect_columns(database: Path, table: str) -> list[str]:
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{database}")
    try:
        return [c["name"] for c in inspect(engine).get_columns(table)]
    finally:
        engine.dispose()
