"""Unsigned 64-bit SimHashes survive the signed BIGINT columns of SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, bindparam, select, text
from sqlalchemy.orm import Session

from archive.storage.db import fetch_rows
from archive.storage.models import Story, Version, to_signed64, to_unsigned64

EDGE_VALUES = [0, 2**63 - 1, 2**63, 2**64 - 1]


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_signed_mapping_is_a_bijection_onto_bigint(value: int) -> None:
    signed = to_signed64(value)
    assert -(2**63) <= signed <= 2**63 - 1
    assert to_unsigned64(signed) == value
    assert signed & (2**64 - 1) == value  # the same 64 bits, read as two's complement


@pytest.mark.parametrize("value", [-1, 2**64])
def test_values_outside_64_bits_are_refused(value: int) -> None:
    with pytest.raises(ValueError):
        to_signed64(value)


@pytest.mark.parametrize("value", EDGE_VALUES)
def test_simhash_round_trips_through_the_database(engine: Engine, value: int) -> None:
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        story = Story(title="t", first_seen_at=now, last_seen_at=now)
        session.add(story)
        session.flush()
        version = Version(
            story_id=story.id, source_path=f"p{value}", format="text", content_sha256="0" * 64,
            body_sha256="0" * 64, simhash=value, title="t", body="b", ingested_at=now,
            match_method="new story",
        )  # fmt: skip
        session.add(version)
        session.flush()
        version_id = version.id
    with Session(engine) as session:
        assert session.scalar(select(Version.simhash).where(Version.id == version_id)) == value
        stored = session.execute(
            text("SELECT simhash FROM versions WHERE id = :id"), {"id": version_id}
        ).scalar_one()
    assert stored == to_signed64(value)
    assert (stored + 2**64 if stored < 0 else stored) == value  # the documented SQL conversion


@pytest.mark.parametrize("value", EDGE_VALUES)
def test_a_lookup_run_by_the_driver_reads_the_simhash_unsigned(engine: Engine, value: int) -> None:
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        story = Story(title="t", first_seen_at=now, last_seen_at=now)
        session.add(story)
        session.flush()
        session.add(
            Version(
                story_id=story.id, source_path="p", format="text", content_sha256="0" * 64,
                body_sha256="b" * 64, body_status="article", simhash=value, title="t",
                body="b", ingested_at=now, match_method="new story",
            )
        )  # fmt: skip
    statement = select(Version.id, Version.simhash, Version.body_sha256).where(
        Version.body_sha256 == bindparam("body"), Version.simhash == bindparam("simhash")
    )
    parameters = {"body": "b" * 64, "simhash": value}  # bound through the TypeDecorator too
    with engine.connect() as connection:
        by_driver = fetch_rows(connection, statement, parameters)
        by_sqlalchemy = [tuple(row) for row in connection.execute(statement, parameters)]
    assert by_driver == by_sqlalchemy
    assert [row[1] for row in by_driver] == [value]
