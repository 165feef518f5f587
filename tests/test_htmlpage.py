"""Tests for article extraction from HTML pages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import trafilatura
from hypothesis import given, settings
from hypothesis import strategies as st

from archive.sources import htmlpage
from archive.sources.article import BodyStatus
from archive.sources.htmlpage import extract_html, html_to_text

TITLE = "Ferry operator adds winter sailings to island route"
PARAGRAPHS = [
    "The operator of the Kelby island ferry will add three extra sailings a week during the "
    "winter months, it announced on Monday, after complaints from residents.",
    "Islanders had said the reduced timetable left them unable to reach hospital appointments "
    "on the mainland and back on the same day.",
    "The company said the new sailings would run on Tuesdays, Thursdays and Saturdays from "
    "November until the end of February.",
    "A spokesperson for the residents' association welcomed the change but said fares remained "
    "too high for many families.",
]
SIDEBAR = [
    "Harbour wall repairs delayed again",
    "Local team reaches cup semi-final",
    "Bakery wins national award for sourdough",
]


def page(jsonld: bool = True) -> str:
    ld = (
        '<script type="application/ld+json">{"@context": "https://schema.org", "@type": '
        f'"NewsArticle", "headline": "{TITLE}", "datePublished": "2021-10-04T08:30:00Z"}}</script>'
        if jsonld
        else ""
    )
    paragraphs = "".join(f"<p>{p}</p>" for p in PARAGRAPHS[:2])
    paragraphs += '<div class="ad"><span>Advertisement</span></div>'
    paragraphs += "".join(f"<p>{p}</p>" for p in PARAGRAPHS[2:])
    related = "".join(f'<li><a href="/n/{i}">{h}</a></li>' for i, h in enumerate(SIDEBAR))
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{TITLE} | Kelby Courier</title>
<meta property="og:title" content="{TITLE}">
<meta property="og:site_name" content="Kelby Courier">
<meta property="article:published_time" content="2021-10-04T08:30:00Z">
<link rel="canonical" href="https://kelby-courier.example/news/ferry-winter-sailings">{ld}
</head><body>
<div class="cookie"><p>We use cookies to improve your experience.</p><button>Accept</button></div>
<header><a href="/">Kelby Courier</a><nav><ul><li><a href="/">Home</a></li>
<li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li></ul></nav></header>
<main><article><h1>{TITLE}</h1><div class="byline">By Jo Marsh</div>{paragraphs}</article>
<aside><h2>Related</h2><ul>{related}</ul></aside></main>
<footer><p>&copy; 2021 Kelby Courier. All rights reserved.</p></footer></body></html>"""


def test_extracts_title_body_date_url_and_site() -> None:
    article = extract_html(page())
    assert article.title == TITLE
    assert article.body.split("\n\n") == PARAGRAPHS
    assert article.published_at == datetime(2021, 10, 4, 8, 30, tzinfo=UTC)
    assert article.url == "https://kelby-courier.example/news/ferry-winter-sailings"
    assert article.site == "Kelby Courier"


def test_sidebar_headlines_and_footer_are_not_body() -> None:
    body = extract_html(page(jsonld=False)).body
    for chrome in [*SIDEBAR, "Advertisement", "All rights reserved", "cookies", "Home"]:
        assert chrome not in body


def test_falls_back_to_text_rules_when_trafilatura_finds_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(trafilatura, "bare_extraction", lambda *args, **kwargs: None)
    article = extract_html(page(jsonld=False), url="https://kelby-courier.example/x")
    assert article.title == TITLE
    assert article.body.split("\n\n") == PARAGRAPHS
    assert article.url == "https://kelby-courier.example/x"


def test_page_without_article_keeps_its_text_as_boilerplate_only() -> None:
    html = "<html><body><nav><ul><li>Home</li><li>News</li></ul></nav></body></html>"
    article = extract_html(html)
    assert article.body_status is BodyStatus.BOILERPLATE_ONLY
    assert "Home" in article.body and "News" in article.body


def test_html_to_text_writes_blocks_as_lines_and_skips_scripts() -> None:
    html = (
        "<body><script>var x = 1;</script><h1>Head</h1><ul><li>One</li><li>Two</li></ul>"
        "<p>Some <b>bold</b> text.</p></body>"
    )
    assert html_to_text(html).split("\n") == ["Head", "- One", "- Two", "Some bold text."]


@pytest.mark.parametrize("html", ["", "   ", "<", "<html>", "\x00", "<p>only</p>", "<?xml ?>"])
def test_degenerate_pages_do_not_raise(html: str) -> None:
    assert isinstance(extract_html(html).body, str)


@settings(max_examples=100, deadline=None)
@given(st.text())
def test_never_raises_on_arbitrary_text(text: str) -> None:
    assert isinstance(extract_html(text).title, str)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "<p>",
                "</p>",
                "<div>",
                "<li>",
                "<script>",
                "x",
                "&amp;",
                "<!--",
                "<title>",
                PARAGRAPHS[0],
            ]
        ),
        max_size=30,
    )
)
def test_never_raises_on_tag_soup(parts: list[str]) -> None:
    assert isinstance(htmlpage.extract_html("".join(parts)).body, str)
