"""Filters for template authors, one table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge import filters
from bridge.filters import ago, chat, first_line, html, is_web_url, link, pluralize, quiet, short_sha
from tests.flowdock_text import mentions

ZWSP = "\u200b"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "function, args, expected",
    [
        (short_sha, ("6113728f27ae82c7b1a177c8d03f9e96e0adf246",), "6113728"),
        (short_sha, (None,), ""),
        (first_line, ("Subject\n\nBody",), "Subject"),
        (first_line, ("  \n",), ""),
        (pluralize, (1,), ""),
        (pluralize, (2,), "s"),
        (pluralize, (0, "y", "ies"), "ies"),
        (quiet, ("cc @all and @octocat, see #42",), f"cc @{ZWSP}all and @{ZWSP}octocat, see #{ZWSP}42"),
        (quiet, ("mail git@github.com or https://x.io/a#frag and x#y",), "mail git@github.com or https://x.io/a#frag and x#y"),
        (quiet, ("@everyone\n#team",), f"@{ZWSP}everyone\n#{ZWSP}team"),
        (quiet, ("cc:@everyone x.@all @@team #@here",), f"cc:@{ZWSP}everyone x.@{ZWSP}all @@{ZWSP}team #@{ZWSP}here"),
        (quiet, ("(@all) [#ops] \uff20all \uff03ops",), f"(@{ZWSP}all) [#{ZWSP}ops] \uff20{ZWSP}all \uff03{ZWSP}ops"),
        (quiet, ("## Notes, C# and a/@b",), "## Notes, C# and a/@b"),
        (quiet, (f"@{ZWSP}all",), f"@{ZWSP}all"),
        (chat, ("ring\x07 @team",), "ring @team"),
        (chat, ("\x1b[31mred\x1b[0m \x1b]8;;https://evil\x07link\x1b]8;;\x07 \x9b2Jc1",), "red link c1"),
        (chat, ("abc\u202edcba\u2066x\u2069\u200e\u200f\u061c",), "abcdcbax"),
        (chat, ("\ufeffa\u2060b\u2064c\U000e0041\U000e007fd \U0001f469\u200d\U0001f4bb",), "abcd \U0001f469\u200d\U0001f4bb"),
        (chat, ("Q\rR\r\nS\u2028T\u2029U",), "Q\nR\r\nS\nT\nU"),
        (chat, ("tab\tand\nlines\r\n\x00\x7f\x85",), "tab\tand\nlines\r\n"),
        (chat, ("half \ud800 pair",), "half \ufffd pair"),
        (html, ("<script>alert(1)</script>\nnext", 100), "&lt;script&gt;alert(1)&lt;/script&gt;<br>next"),
        (html, ("x" * 20, 10), "x" * 10 + "…"),
        (html, ("windows\r\nline endings", 100), "windows<br>line endings"),
        (link, ("https://github.com/a/b", "a <b>"), '<a href="https://github.com/a/b">a &lt;b&gt;</a>'),
        (link, ('https://x.io/"onmouseover=', None), '<a href="https://x.io/&#34;onmouseover=">https://x.io/&#34;onmouseover=</a>'),
        (link, ("javascript:alert(1)", "click"), "click"),
        (link, ("https:evil", "click"), "click"),
        (link, (" https://x.io", "click"), "click"),
        (is_web_url, ("HTTPS://github.com/a",), "True"),
        (is_web_url, ("java\tscript:alert(1)",), "False"),
        (is_web_url, ("//github.com",), "False"),
        (is_web_url, (None,), "False"),
        (ago, ("2026-11-28T09:00:00Z", NOW), "3 hours ago"),
        (ago, ("2026-11-28T11:59:30+00:00", NOW), "just now"),
        (ago, ("2026-11-30T12:00:00Z", NOW), "2 days from now"),
        (ago, (NOW.timestamp() - 60, NOW), "1 minute ago"),
        (ago, ("not a time", NOW), "not a time"),
    ],
)
def test_filters(function, args, expected):
    assert str(function(*args)) == expected


NASTY = [
    "cc:@everyone",
    "x.@all",
    "@@team",
    "#@here",
    "(@all)",
    "\uff20all and \uff03ops",
    "line\n@all",
    '"@all"',
    "-#release",
    "@\u0483",
    "\u00bf@all",
    "\u03b1@all",
    "@\u00bfx",
    "#\u4e00",
    "@_",
    "\u00e9@x",
]


@pytest.mark.parametrize("text", NASTY)
def test_quiet_leaves_nothing_flowdock_would_read_as_a_mention_or_tag(text):
    assert mentions(text), "the oracle must see the mention in the raw text"
    assert mentions(quiet(text)) == []


ALPHABET = st.one_of(
    st.sampled_from(list("@#\uff20\uff03&/_-.:( \n\u200ba1\u00e9\u00c0\u00bf\u0131\u0130\u0483\u3003\u3099\u03b1\u0416\u4e00\uac00\u30a2")), st.characters()
)


@settings(max_examples=3000, derandomize=True, database=None, deadline=None)
@given(st.text(ALPHABET, max_size=12))
def test_no_text_keeps_a_mention_or_tag_once_cleaned_and_quieted(text):
    assert mentions(quiet(chat(text))) == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("#False in #42", "#\u200bFalse in #42"),
        ("PR #12: fix", "PR #12: fix"),
        ("see https://x.y/page#Section and &#39;", "see https://x.y/page#Section and &#39;"),
        ("## Heading in C#", "## Heading in C#"),
        ("x #_a", "x #\u200b_a"),
    ],
)
def test_untag_breaks_every_tag_a_template_and_payload_make_together(text, expected):
    from bridge.filters import untag

    assert untag(text) == expected
    assert [m for m in mentions(untag(text)) if m.startswith("#")] == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("pushed to branch @all in a/b", "pushed to branch @\u200ball in a/b"),
        ("#False and PR #12", "#\u200bFalse and PR #12"),
        ("mail user@example.com, see https://npm.io/@scope/pkg", "mail user@example.com, see https://npm.io/@scope/pkg"),
        ("already @\u200ball", "already @\u200ball"),
    ],
)
def test_hush_breaks_every_mention_and_tag_a_template_and_payload_make_together(text, expected):
    from bridge.filters import hush

    assert hush(text) == expected
    assert mentions(hush(text)) == []


def test_the_quick_unsafe_check_misses_no_character_that_starts_an_unsafe_match():
    # unsafe() trusts UNSAFE_START to rule text out: it must hold the first character of every UNSAFE match.
    every = "".join(map(chr, range(0x110000)))
    starts = {every[m.start()] for m in filters.UNSAFE.finditer(every)} | {m.group()[0] for m in filters.UNSAFE.finditer("\x1b[0m \x9b1m \x1b]0;t\x07 \x1bc")}
    assert starts and all(filters.UNSAFE_START.fullmatch(c) for c in starts)
    assert filters.unsafe("tidy\x1b[31m") and filters.unsafe("a\rb") and not filters.unsafe("a\r\nb") and not filters.unsafe("plain @text #1")
