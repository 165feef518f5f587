"""Terminal tables: columns kept by priority, fixed values never cut, text and paths cut to fit;
TSV and CSV for programs."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console

from archive.tables import GAP, Column, cut, fit, table, write_records

COLUMNS = (
    Column("id", justify="right"),
    Column("title", "text", priority=1, min_width=12, weight=2),
    Column("source", "path", priority=2, min_width=10),
    Column("date", priority=3),
    Column("count", justify="right", priority=4),
)
ROWS = [
    (
        "17",
        "Portwell votes for tidal barrier to end harbour flooding",
        "feeds/wire/a.json#3",
        "2024-03-12",
        "3",
    ),
    ("1204", "Short one", "b.txt", "2024-03-13", "12"),
]


def rendered(columns: tuple[Column, ...], rows: list[tuple[str, ...]], width: int) -> list[str]:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(table(columns, rows, width))
    output = console.file.getvalue()  # type: ignore[attr-defined]
    return output.splitlines()


def test_everything_shows_in_full_when_the_terminal_is_wide() -> None:
    widths = fit(COLUMNS, ROWS, 200)
    assert list(widths) == [0, 1, 2, 3, 4]
    assert widths[1] == len(ROWS[0][1]) and widths[2] == len(ROWS[0][2])


def test_the_least_important_columns_go_first_and_fixed_ones_are_never_cut() -> None:
    widths = fit(COLUMNS, ROWS, 50)
    assert 4 not in widths  # count, the least important, went first
    assert widths[0] == 4 and widths[3] == 10  # id and date at full width
    assert sum(widths.values()) + GAP * (len(widths) - 1) <= 50
    assert list(fit(COLUMNS, ROWS, 32)) == [0, 1, 2]  # 4 + 12 + 10 and two gaps of 3
    assert list(fit(COLUMNS, ROWS, 31)) == [0, 1]
    assert list(fit(COLUMNS, ROWS, 3)) == [0]  # the first column stays, whatever the width


def test_rows_stay_one_line_within_the_width_with_ids_and_dates_whole() -> None:
    for width in (30, 40, 50, 60, 80):
        lines = rendered(COLUMNS, ROWS, width)
        assert len(lines) == 2 + len(ROWS)  # header, rule, one line per row
        assert all(cell_len(line) <= width for line in lines)
        assert "1204" in lines[3]
        if width >= 50:
            assert "2024-03-12" in lines[2]


def test_titles_are_cut_at_a_word_with_an_ellipsis_and_paths_keep_their_end() -> None:
    assert cut("Portwell votes for tidal barrier", 20, "text") == "Portwell votes for…"
    assert cut("Portwell", 20, "text") == "Portwell"
    assert cut("samples/feeds/regional-feed.jsonl#2", 16, "path") == "…al-feed.jsonl#2"
    assert cut("a/b/c/regional-feed.jsonl", 22, "path") == "…/regional-feed.jsonl"
    assert (
        cut("北京市政府发布新的交通规定", 9, "text") == "北京市政…"
    )  # wide characters count twice


@given(st.text(min_size=0, max_size=60), st.integers(min_value=1, max_value=40))
def test_a_cut_value_always_fits(value: str, width: int) -> None:
    for kind in ("text", "path"):
        assert cell_len(cut(value, width, kind)) <= width  # type: ignore[arg-type]


def test_tsv_and_csv_have_a_header_and_plain_values() -> None:
    records = [
        {
            "story_id": 1,
            "title": "Tabs\tand\nlines",
            "sites": ("A", "B, Inc."),
            "seen": datetime(2024, 3, 12, 21, 40, tzinfo=UTC),
            "canonical": True,
            "missing": None,
        }
    ]
    names = ["story_id", "title", "sites", "seen", "canonical", "missing"]
    out = io.StringIO()
    write_records(records, names, "tsv", out)
    assert out.getvalue().splitlines() == [
        "story_id\ttitle\tsites\tseen\tcanonical\tmissing",
        "1\tTabs and lines\tA, B, Inc.\t2024-03-12T21:40:00+00:00\ttrue\t",
    ]
    out = io.StringIO()
    write_records(records, names, "csv", out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == names
    assert rows[1][1] == "Tabs\tand\nlines" and rows[1][2] == "A, B, Inc."
    out = io.StringIO()
    write_records([], names, "csv", out)
    assert out.getvalue() == ",".join(names) + "\n"  # an empty result is a header alone
