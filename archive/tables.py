"""Tables of the command line: laid out to fit a terminal, or written as TSV and CSV.

On a terminal every row stays one line. Columns are kept by priority: when the terminal is too
narrow for all of them at their narrowest, the least important go first. Ids, dates, numbers
and other short fixed values are never cut; titles, names and paths share what width is left,
each up to its longest value, and are cut where they must be: prose at a word boundary with
"…", paths from the left so that the file name stays ("…/samples/002_224e.txt").

For programs, the same rows are written as TSV (what list commands print when their output is
not a terminal, like ``gh`` does, with a header line like ``sqlite-utils --tsv``) or CSV, with
the field names of ``--json`` as headers and times in ISO 8601.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any, Literal

from rich.cells import cell_len

if TYPE_CHECKING:
    from rich.table import Table

Kind = Literal["fixed", "text", "path"]
Justify = Literal["left", "right"]
ELLIPSIS = "…"
# What rich's SIMPLE_HEAD box puts between two columns: padding, the (blank) rule, padding.
GAP = 3


@dataclass(frozen=True)
class Column:
    """A column of a terminal table.

    ``kind``: "fixed" is never cut (ids, dates, numbers, methods); "text" is prose or a name,
    cut at the end; "path" is cut at the start. ``priority``: columns with the highest number
    are dropped first when the terminal is too narrow. ``min_width``: the narrowest a text or
    path column is worth showing. ``weight``: its share of the spare width.
    """

    name: str
    kind: Kind = "fixed"
    priority: int = 0
    justify: Justify = "left"
    min_width: int = 0
    weight: int = 1


def fit(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int) -> dict[int, int]:
    """The columns to show in ``width`` terminal cells, as {column index: its width}.

    Fixed columns get their widest value (or header); text and path columns at least their
    ``min_width`` (or less when nothing in them is wider), then the spare width by ``weight``,
    each up to its widest value. Columns are dropped by priority until that fits; the first
    (most important) column is always kept.
    """
    natural = [
        max([cell_len(column.name), *(cell_len(row[i]) for row in rows)])
        for i, column in enumerate(columns)
    ]

    def narrowest(i: int) -> int:
        column = columns[i]
        if column.kind == "fixed":
            return natural[i]
        return min(natural[i], max(column.min_width, cell_len(column.name)))

    kept = list(range(len(columns)))
    while len(kept) > 1 and sum(map(narrowest, kept)) + GAP * (len(kept) - 1) > width:
        # the least important column goes; of equals, the rightmost
        kept.remove(max(reversed(kept), key=lambda i: columns[i].priority))
    widths = {i: narrowest(i) for i in kept}
    spare = width - sum(widths.values()) - GAP * (len(kept) - 1)
    growing = [i for i in kept if widths[i] < natural[i]]
    while spare > 0 and growing:
        total = sum(columns[i].weight for i in growing)
        given = 0
        for i in growing:
            share = max(1, spare * columns[i].weight // total)
            share = min(share, natural[i] - widths[i], spare - given)
            widths[i] += share
            given += share
        spare -= given
        growing = [i for i in growing if widths[i] < natural[i]]
        if given == 0:
            break
    return widths


def cut(value: str, width: int, kind: Kind) -> str:
    """``value`` in at most ``width`` cells: whole if it fits, else cut with "…" (paths from
    the left, keeping their end; prose at a word boundary when one is near)."""
    if cell_len(value) <= width:
        return value
    if width <= 1:
        return ELLIPSIS[:width]
    if kind == "path":
        kept: list[str] = []
        room = width - 1
        for char in reversed(value):
            room -= cell_len(char)
            if room < 0:
                break
            kept.append(char)
        tail = "".join(reversed(kept))
        slash = tail.find("/")
        if 0 <= slash < len(tail) // 3:
            tail = tail[slash:]  # start at a folder boundary when that costs little
        return ELLIPSIS + tail
    head: list[str] = []
    room = width - 1
    for char in value:
        room -= cell_len(char)
        if room < 0:
            break
        head.append(char)
    text = "".join(head)
    space = text.rfind(" ")
    if value[len(text)] != " " and space >= len(text) - max(4, width // 4):
        text = text[:space]  # a whole word less rather than half a word, when that costs little
    return text.rstrip(" ,;:-") + ELLIPSIS


def table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    width: int | None,
    *,
    title: str | None = None,
) -> Table:
    """A rich table of ``rows`` (strings, one per column) fitted into ``width`` cells; with
    ``width`` None (output that is not a terminal), every column at full width."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    if width is None:
        shown = {i: None for i in range(len(columns))}
    else:
        shown = dict(fit(columns, rows, width))
    result = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        title=title,
        title_justify="left",
        title_style="bold",
    )
    for i, column_width in shown.items():
        column = columns[i]
        result.add_column(
            column.name,
            justify=column.justify,
            width=column_width,
            no_wrap=True,
            overflow="ellipsis",
        )
    for row in rows:
        cells = []
        for i, column_width in shown.items():
            value = row[i] if column_width is None else cut(row[i], column_width, columns[i].kind)
            cells.append(Text(value))  # Text, not str: "[brackets]" in a title are no markup
        result.add_row(*cells)
    return result


def natural_width(columns: Sequence[Column], rows: Sequence[Sequence[str]]) -> int:
    """The width of :func:`table` when nothing is cut."""
    widths = [
        max([cell_len(column.name), *(cell_len(row[i]) for row in rows)])
        for i, column in enumerate(columns)
    ]
    return sum(widths) + GAP * (len(widths) - 1)


def write_records(
    records: Iterable[Mapping[str, Any]], fieldnames: Sequence[str], fmt: str, out: IO[str]
) -> None:
    """Write ``records`` as "tsv" (one line per record, tabs and line breaks inside values
    turned into spaces) or "csv" (quoted where needed), after a header of ``fieldnames``."""
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(fieldnames)
        for record in records:
            writer.writerow([plain(record.get(name)) for name in fieldnames])
        return
    out.write("\t".join(fieldnames) + "\n")
    for record in records:
        out.write("\t".join(_tsv_field(plain(record.get(name))) for name in fieldnames) + "\n")


def plain(value: Any) -> str:
    """A value as one field of TSV or CSV: "" for None, times in ISO 8601, lists joined."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(plain(v) for v in value)
    return str(value)


def _tsv_field(value: str) -> str:
    return value.replace("\t", " ").replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
