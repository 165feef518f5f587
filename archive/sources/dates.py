"""Publication dates from the many ways feeds and pages write them."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime

from dateutil import parser as dateutil_parser

# Dates outside this range are typos or epoch artefacts, not publication times.
_EARLIEST_YEAR = 1900
_LATEST_YEAR = 2200
_YEAR = re.compile(r"(?<!\d)(1[89]|2[01])\d\d(?!\d)")


def parse_date(value: object) -> datetime | None:
    """A datetime from an ISO string, a free-form date string or a Unix timestamp; else None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:  # an integer too big for a float is no date
            return None
        return _from_timestamp(seconds)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        # dateutil fills missing parts from today's date: without a year it would invent one.
        if not _YEAR.search(text):
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # unknown zone names ("CST") stay naive
                parsed = dateutil_parser.parse(text)
        except (ValueError, OverflowError):
            return None
    return parsed if _EARLIEST_YEAR <= parsed.year <= _LATEST_YEAR else None


def _from_timestamp(seconds: float) -> datetime | None:
    if seconds > 1e11:  # milliseconds, as JavaScript writes them
        seconds /= 1000
    try:
        parsed = datetime.fromtimestamp(seconds, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return parsed if _EARLIEST_YEAR <= parsed.year <= _LATEST_YEAR else None
