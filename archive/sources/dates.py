"""Publication dates, the one place that reads them: from the values of feeds' fields
(:func:`parse_date`), from a page's metadata (:func:`parse_iso_date`) and from the lines of a
page's text (:func:`date_in_text`, :func:`text_beside_date`).
"""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime, timedelta, timezone

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


# --- dates written in a page's text ---------------------------------------------------------

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DATE_PATTERNS = [
    re.compile(r"(?P<year>(?:19|20)\d\d)-(?P<mon>[01]?\d)-(?P<day>[0-3]?\d)(?![\d])"),
    re.compile(
        r"\b(?P<day>[0-3]?\d)(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(?P<year>(?:19|20)\d\d)\b",
        re.IGNORECASE,
    ),
    re.compile(
        r"\b" + _MONTH + r"\s+(?P<day>[0-3]?\d)(?:st|nd|rd|th)?,?\s+(?P<year>(?:19|20)\d\d)\b",
        re.IGNORECASE,
    ),
    re.compile(r"\b(?P<a>[0-3]?\d)(?P<sep>[./])(?P<b>[0-3]?\d)(?P=sep)(?P<year>(?:19|20)\d\d)\b"),
]
_TIME_RE = re.compile(
    r"(?<![\d.:/-])(?P<hour>[0-2]?\d)[:.](?P<minute>[0-5]\d)(?::(?P<second>[0-5]\d))?(?![\d/])"
    r"(?:\.\d+)?\s*(?:(?P<ampm>[ap]\.?m\.?)(?![a-z]))?\s*(?P<zone>Z|[+-]\d\d:?\d\d|[A-Z]{1,4}\b)?",
    re.IGNORECASE,
)
_ZONES = {
    "Z": 0,
    "GMT": 0,
    "UTC": 0,
    "BST": 1,
    "CET": 1,
    "CEST": 2,
    "EET": 2,
    "EEST": 3,
    "IST": 5.5,
    "JST": 9,
    "KST": 9,
    "AEST": 10,
    "AEDT": 11,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
}


_DAY_WITHOUT_YEAR = re.compile(
    r"^(?:updated:?\s*|published:?\s*|posted:?\s*)?(?:[A-Z][a-z]+day,? )?"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}\b",
    re.IGNORECASE,
)


def date_in_text(line: str) -> datetime | None:
    """The first date (with its time and zone, when given) written in ``line``, or None: a page's
    dateline ("9 May 2005", "May 9, 2005 10:30 am EST", "09/05/2005")."""
    for pattern in _DATE_PATTERNS:
        match = pattern.search(line)
        if match is None:
            continue
        day = _date_from_match(match)
        if day is None:
            continue
        rest = line[: match.start()] + " " * (match.end() - match.start()) + line[match.end() :]
        return _with_time(day, rest[match.start() :]) or _with_time(day, rest) or day
    return None


def _date_from_match(match: re.Match[str]) -> datetime | None:
    groups = match.groupdict()
    year = int(groups["year"])
    if groups.get("month"):
        month, day = _MONTHS[groups["month"].lower()], int(groups["day"])
    elif groups.get("mon"):
        month, day = int(groups["mon"]), int(groups["day"])
    else:
        first, second = int(groups["a"]), int(groups["b"])
        # day first unless that is impossible (the common order outside the US)
        day, month = (second, first) if second > 12 and first <= 12 else (first, second)
    try:
        return datetime(year, month, day)
    except ValueError:
        return None


def _with_time(day: datetime, text: str) -> datetime | None:
    match = _TIME_RE.search(text)
    if match is None:
        return None
    hour, minute = int(match["hour"]), int(match["minute"])
    second = int(match["second"] or 0)
    ampm = (match["ampm"] or "").lower().replace(".", "")
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    if hour > 23:
        return None
    when = day.replace(hour=hour, minute=minute, second=second)
    zone = _zone(match["zone"])
    return when.replace(tzinfo=zone) if zone is not None else when


def _zone(name: str | None) -> timezone | None:
    if not name:
        return None
    if name[0] in "+-":
        digits = name[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return timezone(offset if name[0] == "+" else -offset)
    hours = _ZONES.get(name.upper())
    return None if hours is None else timezone(timedelta(hours=hours))


def text_beside_date(line: str) -> str | None:
    """``line`` without the first date written in it and without times: the words around a
    dateline's date; None when ``line`` has no date."""
    if "19" not in line and "20" not in line:  # every date pattern has a year: told in C
        return None
    for pattern in _DATE_PATTERNS:
        match = pattern.search(line)
        if match is not None:
            rest = line[: match.start()] + " " + line[match.end() :]
            return _TIME_RE.sub(" ", rest)
    return None


def opens_with_day_without_year(line: str) -> bool:
    """Whether ``line`` opens with a month and day but no year ("Updated: May 9", "Tuesday,
    March 12"): page furniture, never a headline."""
    return _DAY_WITHOUT_YEAR.match(line) is not None


# --- dates in a page's metadata --------------------------------------------------------------

# The layout trafilatura is asked to write the dates it finds in (see archive.sources.htmlpage).
ISO_LAYOUT = "%Y-%m-%dT%H:%M:%S%z"


def parse_iso_date(value: str | None) -> datetime | None:
    """A date as :data:`ISO_LAYOUT` or ISO 8601 writes it, else the first date written in it."""
    if not value:
        return None
    try:
        return datetime.strptime(value, ISO_LAYOUT)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return date_in_text(value)
