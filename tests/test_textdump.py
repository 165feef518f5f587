"""Tests for title, date and body extraction from plain text and page dumps."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive.sources.article import BodyStatus
from archive.sources.dates import _DATE_PATTERNS, text_beside_date
from archive.sources.dates import date_in_text as parse_date
from archive.sources.textdump import (
    _CAPTION_RE,
    _NAV_SEPARATOR_RE,
    _is_boilerplate,
    _is_caption,
    _is_menu,
    extract_text,
)

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
AP_SEED = SAMPLES / "002_224e29597f2f497a.txt"
SPUN_SEED = SAMPLES / "000_0413e7c0cc1f7413.txt"

PARAGRAPHS = [
    "The town council of Westmere voted on Tuesday to close two of its four public libraries "
    "by the end of the year, citing a shortfall of 1.2 million pounds in its budget.",
    "Councillor Ada Pike, who proposed the closures, said the decision had been painful but "
    "that the remaining branches would extend their opening hours.",
    "Campaigners gathered outside the town hall before the vote, holding books and banners. "
    '"A library is not a luxury," said retired teacher Tom Weller.',
    "The two branches, in Eastgate and Millbrook, lent more than forty thousand books last year.",
    "A final decision on the future of the buildings will be taken in the spring.",
]
TITLE = "Westmere council votes to close two libraries"
SIDEBAR = [
    "Harbour wall repairs delayed again",
    "Local team reaches cup semi-final",
    "Why are ferry fares going up?",
    "Bakery wins national award for sourdough",
]


def test_clean_text_title_is_first_line_and_body_the_rest() -> None:
    paragraphs = [*PARAGRAPHS[:2], "What happens next", *PARAGRAPHS[2:]]
    text = TITLE + "\n\n" + "\n\n".join(paragraphs)
    article = extract_text(text)
    assert article.title == TITLE
    assert article.body.split("\n\n") == paragraphs
    assert article.published_at is None


def test_page_dump_keeps_article_and_drops_chrome() -> None:
    lines = [
        "Skip to main content",
        "Westmere Echo",
        "Home | News | Sport | Business | Opinion",
        "Subscribe   Sign in",
        "News › Local",
        TITLE,
        "By Hannah Reed",
        "Published: 9 May 2005, 14:04 GMT",
        "",
        PARAGRAPHS[0],
        "",
        PARAGRAPHS[1],
        "",
        "Advertisement",
        "",
        PARAGRAPHS[2],
        "",
        "Read more: " + SIDEBAR[0],
        "",
        *(f"{p}\n" for p in PARAGRAPHS[3:]),
        "Most read",
        *(f"{i}. {h}" for i, h in enumerate(SIDEBAR, 1)),
        "",
        "Get the Westmere Echo newsletter",
        "Sign up for our daily briefing, delivered to your inbox every morning.",
        "© 2005 Westmere Echo Media Ltd. All rights reserved.",
        "Terms | Privacy | Cookies",
    ]
    article = extract_text("\n".join(lines))
    assert article.title == TITLE
    assert article.body.split("\n\n") == PARAGRAPHS
    assert article.published_at == datetime(2005, 5, 9, 14, 4, tzinfo=UTC)


def test_dump_without_blank_lines_drops_related_lists_and_breadcrumb() -> None:
    lines = [
        f"Current:Home > Local{TITLE} -Westmere Echo",
        TITLE,
        "Echo View",
        "Date:2025-04-06 19:11:46",
        *PARAGRAPHS,
        "___",
        "veryGood! (12)",
        "Related",
        *(f"- {h}" for h in SIDEBAR),
        "Ranking",
        *(f"- {h}" for h in reversed(SIDEBAR)),
    ]
    article = extract_text("\n".join(lines))
    assert article.title == TITLE
    assert article.body.split("\n\n") == PARAGRAPHS
    assert article.published_at == datetime(2025, 4, 6, 19, 11, 46)


def test_prev_next_post_headlines_and_reply_form_are_not_body() -> None:
    lines = [
        "Your Trusted Source for Local News Every Single Day!",
        "",
        TITLE,
        "",
        *(f"{p}\n" for p in PARAGRAPHS),
        "Share this article",
        "Shareable URL",
        "Prev Post",
        "",
        SIDEBAR[0],
        "",
        "Next Post",
        "",
        SIDEBAR[1],
        "",
        "Leave a Reply",
        "",
        "Your email address will not be published. Required fields are marked *",
    ]
    article = extract_text("\n".join(lines))
    assert article.title == TITLE
    assert article.body.split("\n\n") == PARAGRAPHS


def test_comment_thread_after_article_is_not_body() -> None:
    comments = []
    for n in range(6):
        comments += [
            f"reader{n} says:",
            f"May {n + 10}, 2005 at 9:3{n} am",
            "I think the council should have asked the people who use them first.",
            "Reply",
        ]
    lines = [
        "Menu",
        "Westmere Echo",
        TITLE,
        "Posted on May 9, 2005 by Newsdesk",
        *PARAGRAPHS,
        "Tags: libraries, council",
        "6 thoughts on “" + TITLE + "”",
        *comments,
    ]
    article = extract_text("\n".join(lines))
    assert article.title == TITLE
    assert article.body.split("\n\n") == PARAGRAPHS
    assert article.published_at == datetime(2005, 5, 9)


def test_hard_wrapped_paragraphs_are_joined() -> None:
    wrapped = []
    for paragraph in PARAGRAPHS:
        line, lines = "", []
        for word in paragraph.split():
            if line and len(line) + 1 + len(word) > 64:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}".strip()
        wrapped.append("\n".join([*lines, line]))
    article = extract_text(TITLE + "\r\n\r\n" + "\r\n\r\n".join(wrapped).replace("\n", "\r\n"))
    assert article.title == TITLE
    assert article.body.split("\n\n") == PARAGRAPHS


TEASERS = [
    "The harbour authority says repairs to the storm-damaged east wall will not start before "
    "the autumn, because the contractor it hired in March has gone into administration and "
    "the work must be tendered again from the start.",
    "Westmere Rovers beat Dunmoor three goals to one on Saturday and will play the cup "
    "semi-final at home next month, the first time the club has reached that stage of the "
    "competition since its founding in 1921.",
    "Ferry passengers face higher fares from June after the operator blamed the cost of fuel "
    "and new safety rules, although season tickets for island residents will stay frozen for "
    "at least another year, it said.",
    "A family bakery in Millbrook has won a national award for its sourdough loaf, beating "
    "more than four hundred entries from across the country in a blind tasting held in the "
    "capital last week, the judges announced.",
]


def _cut(text: str, width: int) -> str:
    return text[:width].rstrip() + "..."


def test_teaser_excerpts_cut_at_one_length_are_left_out() -> None:
    lines = [TITLE, "By Hannah Reed", "", *PARAGRAPHS, "", "More from the Echo"]
    for headline, teaser in zip(SIDEBAR, TEASERS, strict=True):
        lines += [headline, _cut(teaser, 160), _cut(teaser, 160)[:60] + "..."]
    article = extract_text("\n".join(lines))
    assert article.title == TITLE
    assert article.body.split("\n\n") == PARAGRAPHS


def test_sentences_trailing_off_with_an_ellipsis_are_kept() -> None:
    comments = [
        "I used the Millbrook branch every week as a child and I can't imagine the town "
        "without it...",
        "Close the council offices instead and leave the libraries alone. Honestly, what next...",
        "My daughter learnt to read there. Whoever decided this has clearly never set foot "
        "inside one of those buildings on a rainy Saturday morning, I suspect...",
    ]
    lines = [TITLE, "Your comments", ""]
    for n, comment in enumerate(comments):
        lines += [comment, f"Reader {n}, Westmere", ""]
    lines += ["Sign up for our newsletter"]
    article = extract_text("\n".join(lines))
    assert article.body.split("\n\n") == comments


@pytest.mark.parametrize(
    "credit",
    [
        "Photo: Ann Lee, Westmere Echo",
        "Ann Lee | Westmere Echo | Getty Images",
        "(AP Photo/Ann Lee)",
    ],
)
def test_photo_caption_above_a_credit_line_is_left_out(credit: str) -> None:
    caption = (
        "Campaigners with books and banners outside the town hall in Westmere on Tuesday "
        "evening, before councillors voted on the library closures."
    )
    lines = [TITLE, "By Hannah Reed", "", *PARAGRAPHS[:2], caption, credit, *PARAGRAPHS[2:]]
    article = extract_text("\n".join(lines))
    assert article.body.split("\n\n") == PARAGRAPHS


def test_caption_ending_in_its_credit_is_left_out() -> None:
    caption = (
        "Councillor Ada Pike outside the Eastgate branch on Monday morning, a few hours before "
        "the vote. The branch lent more books last year than any other in the county, "
        "according to figures the campaigners published on Sunday (Credit: Ann Lee)"
    )
    lines = [TITLE, "By Hannah Reed", "", *PARAGRAPHS[:2], caption, *PARAGRAPHS[2:]]
    article = extract_text("\n".join(lines))
    assert article.body.split("\n\n") == PARAGRAPHS


def test_footer_small_print_between_copyright_and_boilerplate_is_left_out() -> None:
    small_print = [
        "The information on this website is provided for general guidance only and does not "
        "constitute legal, financial or professional advice of any kind. Readers should take "
        "independent advice before acting on anything published here, and no liability is "
        "accepted for any loss arising from reliance on it.",
        "Westmere Echo is a trading name of Westmere Echo Media Ltd, registered in England and "
        "Wales with company number 01234567, whose registered office is at 1 Harbour Street, "
        "Westmere. The Echo logo and masthead are registered trademarks of the company and may "
        "not be used without its prior written consent.",
        "Prices, opening hours and other details mentioned in our listings were correct at the "
        "time of publication but may have changed since, so please check with the venue or the "
        "organiser before you travel to any of the events we describe.",
    ]
    lines = [
        "Westmere Echo",
        "Home | News | Sport",
        TITLE,
        "By Hannah Reed",
        *PARAGRAPHS[:2],
        "Related stories",
        *SIDEBAR,
        "Follow us on social media",
        *small_print,
        "© 2005 Westmere Echo Media Ltd. All rights reserved.",
        "Terms of use | Privacy policy",
    ]
    article = extract_text("\n".join(lines))
    assert article.title == TITLE
    assert article.body.split("\n\n") == PARAGRAPHS[:2]


def test_author_bio_after_the_article_is_left_out() -> None:
    bio = (
        "Hannah Reed has covered local government for the Westmere Echo since 1998. Before "
        "that she worked for a news agency in the capital and taught journalism at the "
        "college in Dunmoor, where she still runs an evening course for young reporters who "
        "want to learn how councils, courts and public inquiries really work."
    )
    lines = [TITLE, "By Hannah Reed", "", *PARAGRAPHS, "About Hannah Reed", bio, "Contact us"]
    article = extract_text("\n".join(lines))
    assert article.body.split("\n\n") == PARAGRAPHS


def test_subheading_starting_with_about_does_not_end_the_article() -> None:
    lines = [
        TITLE,
        "By Hannah Reed",
        "",
        *PARAGRAPHS[:1],
        "About Eastgate Library",
        *PARAGRAPHS[1:],
    ]
    article = extract_text("\n".join(lines))
    assert article.body.split("\n\n") == PARAGRAPHS


def test_calls_to_action_are_not_body() -> None:
    promo = "Click the picture above to see every library opening time in Westmere this week."
    lines = [TITLE, "By Hannah Reed", "", *PARAGRAPHS, "", promo, "Most read", *SIDEBAR]
    article = extract_text("\n".join(lines))
    assert article.body.split("\n\n") == PARAGRAPHS


def test_empty_input_gives_empty_body() -> None:
    assert extract_text("").body == ""
    assert extract_text(" \n\t\n").body == ""


def test_chrome_only_input_is_kept_whole_as_boilerplate_only() -> None:
    article = extract_text("Home | News | Sport\n- Weather\n- Contact us")
    assert article.body_status is BodyStatus.BOILERPLATE_ONLY
    assert article.body.split("\n\n") == ["Home | News | Sport", "- Weather", "- Contact us"]


def test_a_registration_wall_is_boilerplate_only() -> None:
    wall = [
        "To continue reading, create a free account or log in.",
        "Already a subscriber? Sign in",
    ]
    article = extract_text("\n".join(wall))
    assert article.body_status is BodyStatus.BOILERPLATE_ONLY
    assert article.body.split("\n\n") == wall


def test_a_page_without_prose_keeps_its_text_as_page_text() -> None:
    lines = [
        "Daily Briefing",
        "- Harbour council votes to close the Westmere ferry pier",
        "- Ferry operator says the pier closure will cost 40 jobs",
        "Photos: the pier through the years",
    ]
    article = extract_text("\n".join(lines))
    assert article.body_status is BodyStatus.PAGE_TEXT
    assert "Harbour council votes to close the Westmere ferry pier" in article.body
    assert "Ferry operator says the pier closure will cost 40 jobs" in article.body


def test_a_teaser_page_keeps_its_headline_and_standfirst() -> None:
    lines = [
        "A link has been sent to your friend's email address.",
        "Facebook Email Twitter",
        "Harbour council closes Westmere pier",
        "Councillors voted late on Tuesday to close the century-old Westmere ferry pier for good",
        "Post to Facebook",
        "Join the Conversation",
    ]
    article = extract_text("\n".join(lines))
    assert article.body_status is BodyStatus.ARTICLE
    assert article.title == "Harbour council closes Westmere pier"
    assert article.body == lines[3]


def test_agency_photo_captions_are_not_body() -> None:
    captions = [
        "FILE - In this June 3, 2017 file photo, ferries wait at the Westmere pier.",
        "Councillor Ann Lee speaks at the meeting on Tuesday. (AP Photo/Jo Smith)",
        "In this March 20, 2018, photo the pier is seen from the harbour. (Jo Smith/Getty Images)",
    ]
    lines = [TITLE, "", captions[0], PARAGRAPHS[0], captions[1], *PARAGRAPHS[1:], captions[2]]
    article = extract_text("\n".join(lines))
    assert article.body.split("\n\n") == PARAGRAPHS
    assert article.title == TITLE


def test_a_paragraph_repeated_on_the_page_is_kept_once() -> None:
    lines = [TITLE, "", PARAGRAPHS[0], PARAGRAPHS[0], *PARAGRAPHS[1:]]
    assert extract_text("\n".join(lines)).body.split("\n\n") == PARAGRAPHS


@pytest.mark.parametrize(
    "furniture",
    ["Scroll to top of page", "Go to permalink", "Image 1 of 3", "e-mail", "jo.smith@example.com",
     "AUDIE CORNISH, HOST:", "By Jo Smith, professor at Westmere College", "May 30 at 2:44 PM",
     "Purchase: Order Reprint", "Ann Lee/Getty Images for Spotify"],
)  # fmt: skip
def test_page_furniture_is_never_the_title(furniture: str) -> None:
    article = extract_text("\n".join([furniture, "", *PARAGRAPHS]))
    assert article.title != furniture


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Published: 9 May 2005, 14:04 GMT", datetime(2005, 5, 9, 14, 4, tzinfo=UTC)),
        ("Date:2025-04-06 19:11:46", datetime(2025, 4, 6, 19, 11, 46)),
        ("WIREFEED | 2005-02-24T02:30:00Z", datetime(2005, 2, 24, 2, 30, tzinfo=UTC)),
        ("May 9, 2005 at 2:04 pm", datetime(2005, 5, 9, 14, 4)),
        ("Sat 30 Jul 2005 15.12 GMT", datetime(2005, 7, 30, 15, 12, tzinfo=UTC)),
        ("1 min read · 07.12.2004", datetime(2004, 12, 7)),
        ("09/05/2005 14:04", datetime(2005, 5, 9, 14, 4)),
        ("Updated: 14:04, 9 May 2005", datetime(2005, 5, 9, 14, 4)),
        (
            "Chris Davies - Nov 19, 2019, 10:31 pm CST",
            datetime(2019, 11, 19, 22, 31, tzinfo=timezone(timedelta(hours=-6))),
        ),
        (
            "2019-11-19T08:16:00+02:00",
            datetime(2019, 11, 19, 8, 16, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("No date here", None),
        ("31/02/2005", None),
    ],
)
def test_parse_date_reads_common_formats(line: str, expected: datetime | None) -> None:
    assert parse_date(line) == expected


def test_ap_seed_title_date_and_body_without_sidebars() -> None:
    article = extract_text(AP_SEED.read_text(encoding="utf-8"))
    assert article.title == (
        "North Korea’s Kim sets forth steps to boost Russia ties as US and Seoul warn about "
        "weapons deals"
    )
    assert article.published_at == datetime(2025, 4, 6, 19, 11, 46)
    assert article.body.startswith(
        "SEOUL, South Korea (AP) — North Korean leader Kim Jong Un ordered"
    )
    assert article.body.endswith("wrest greater concessions from the U.S. and South Korea.")
    for chrome in (
        "veryGood!",
        "Related",
        "Ranking",
        "Recommendation",
        "Juan Soto",
        "DeepSeek",
        "Head of the Federal Aviation",
        "Follow AP",
        "Indexbit View",
        "Current:Home",
    ):
        assert chrome not in article.body


def test_spun_seed_title_and_body_without_footer() -> None:
    article = extract_text(SPUN_SEED.read_text(encoding="utf-8"))
    assert article.title == (
        "Kim Jong-un Takes Action to Strengthen Relations with Russia Despite U.S. and Seoul’s "
        "Warnings of Weapons Deals"
    )
    assert article.body.startswith("SEOUL, South Korea — North Korean leader Kim Jong Un has taken")
    assert article.body.endswith("gain more concessions from the U.S. and South Korea.")
    for chrome in (
        "Your Trusted Source",
        "Share this article",
        "Shareable URL",
        "Prev Post",
        "Next Post",
        "Canada-India",
        "Negotiations Between Studios",
        "Leave a Reply",
        "Required fields",
        "Read next",
    ):
        assert chrome not in article.body


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_raises_on_arbitrary_text(text: str) -> None:
    article = extract_text(text)
    assert isinstance(article.title, str)
    assert isinstance(article.body, str)


CHROME_LIKE = st.sampled_from(
    [
        "",
        "- Home",
        "Related",
        "By Ann Lee",
        "9 May 2005",
        "Advertisement",
        "Share this article",
        "1. " + SIDEBAR[0],
        *SIDEBAR,
        *PARAGRAPHS,
        TITLE,
        "31.02.2005 25:61 XYZ",
        "。",
        "\r",
        "\t",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(CHROME_LIKE, max_size=40))
def test_never_raises_on_page_like_line_mixtures(lines: list[str]) -> None:
    article = extract_text("\n".join(lines))
    assert all(paragraph.strip() for paragraph in article.body.split("\n\n") if article.body)


# The case-insensitive expression _is_boilerplate stands for.
_BOILERPLATE_REFERENCE = re.compile(
    r"©|\(c\) \d{4}|copyright|all rights reserved|cookie|newsletter|sign up|subscribe|"
    r"privacy policy|terms of (?:use|service)|email address will not be published|"
    r"required fields are marked|^disclaimer:|leave a (?:reply|comment)|"
    r"share (?:this|on|via)|follow us|click here|javascript|^(?:click|clique|cliquez|klicken)\s",
    re.IGNORECASE,
)
_BOILERPLATE_PIECES = st.sampled_from(
    ["©", "(c) 2019", "(C) 20", "Copyright", "COPYRİGHT", "all rights reſerved", "Cookie",
     "sign up", "SubScrıbe", "privacy policy", "Terms of Use", "terms of ſervice", "share on",
     "share", " via", "Follow us", "click here", "Click\u00a0", "KLICKEN ", "clique\t",
     "Disclaimer:", "disclaimer", "javascript", "\u212aeep", "Leave a Reply", "newsletter",
     "email address will not be published", "required fields are marked", " ", "\n", "x"]
)  # fmt: skip


@given(st.lists(st.one_of(_BOILERPLATE_PIECES, st.text(max_size=5)), max_size=8).map("".join))
def test_boilerplate_check_agrees_with_a_case_insensitive_expression(line: str) -> None:
    assert _is_boilerplate(line) == bool(_BOILERPLATE_REFERENCE.search(line))


_CAPTION_PIECES = st.sampled_from(
    ["FILE", "(FILE) ", "FILE - ", "FILE —", "In this ", "This ", "this ", "In This ",
     "This photo", "this file photo ", "In this June 30, 2013, file photo", "In This photo",
     "June 30, 2013, ", "file photo", "photo ", "AP Photo/", "(Photo by ", "(Images credit ",
     "(Picture courtesy", "/AP)", " via Reuters)", ", Getty Images)", ", File)", "EPA)",
     ") less", ")  more", "(", ")", " ", "x", "ﬁle"]
)  # fmt: skip
_MENU_PIECES = st.sampled_from(
    ["Home", " | ", "News", " > ", "a>b", " › ", "›", " » ", " / ", " · ", " • ", "  ", "\t",
     "Sport", " ", "\u00a0|\u00a0", "x"]
)  # fmt: skip


@given(st.lists(st.one_of(_CAPTION_PIECES, st.text(max_size=4)), max_size=8).map("".join))
def test_caption_check_agrees_with_its_expression_alone(line: str) -> None:
    assert _is_caption(line) == bool(_CAPTION_RE.search(line))


@given(st.lists(st.one_of(_MENU_PIECES, st.text(max_size=4)), max_size=10).map("".join))
def test_menu_check_agrees_with_splitting_at_every_separator(line: str) -> None:
    parts = [p for p in _NAV_SEPARATOR_RE.split(line) if p.strip()]
    expected = len(parts) >= 3 or (len(parts) == 2 and all(len(p.split()) <= 3 for p in parts))
    assert _is_menu(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "FILE - Crowds gather outside the court in Lagos.",
        "(FILE) — Crowds gather outside the court.",
        "This photo shows the court building.",
        "this file photo shows the court building.",
        "In this June 30, 2013, file photo, crowds gather.",
        "In This photo, crowds gather outside.",
        "Crowds gather outside the court (AP Photo/Ann Lee)",
        "Crowds gather outside (Photo by Ann Lee/Getty Images) less",
        "Crowds gather outside the court, via Reuters)",
    ],
)
def test_each_kind_of_caption_is_still_a_caption(line: str) -> None:
    assert _is_caption(line)


@pytest.mark.parametrize(
    "separator", [" | ", " > ", ">", " › ", "›", " » ", " / ", " · ", " • ", "  ", "\t"]
)
def test_each_separator_still_makes_a_menu(separator: str) -> None:
    assert _is_menu(separator.join(["Home", "News", "Sport"]))


_DATE_PIECES = st.sampled_from(
    ["2019-06-05", "19", "20", "2020", "1999", "5 June 2019", "June 5th, 2021", "05.06.2019",
     "5/6/2020", "Sept. 3 2014", "12:30", " ", "-", ".", "/", "x"]
)  # fmt: skip


@given(st.lists(st.one_of(_DATE_PIECES, st.text(max_size=4)), max_size=8).map("".join))
def test_a_line_without_19_or_20_in_it_has_no_date(line: str) -> None:
    # text_beside_date tells such lines apart before trying its patterns: none would match
    if "19" not in line and "20" not in line:
        assert not any(pattern.search(line) for pattern in _DATE_PATTERNS)
    else:
        assert (text_beside_date(line) is None) == (
            not any(pattern.search(line) for pattern in _DATE_PATTERNS)
        )


def test_furniture_above_the_headline_still_separates_the_site_name_from_the_body() -> None:
    lines = [
        "Newsdesk - all your news in one place",
        "Top stories",
        "- Harbour wall repairs delayed again",
        "- Ferry fares rise in spring",
        "",
        TITLE,
        "Source: Coast Courier · 4 hours ago",
        "",
        *PARAGRAPHS,
    ]
    assert extract_text("\n".join(lines)).title == TITLE


@pytest.mark.parametrize(
    "title", ["More libraries to close in Westmere", "Home owners fight closures"]
)
def test_a_headline_starting_with_a_control_word_is_still_a_headline(title: str) -> None:
    assert extract_text("\n".join([title, "", *PARAGRAPHS])).title == title
