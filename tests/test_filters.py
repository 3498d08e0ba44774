"""Filters for template authors, one table."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bridge.filters import ago, chat, first_line, html, link, pluralize, quiet, short_sha

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
        (chat, ("ring\x07 @team",), "ring @team"),
        (html, ("<script>alert(1)</script>\nnext", 100), "&lt;script&gt;alert(1)&lt;/script&gt;<br>next"),
        (html, ("x" * 20, 10), "x" * 10 + "…"),
        (html, ("windows\r\nline endings", 100), "windows<br>line endings"),
        (link, ("https://github.com/a/b", "a <b>"), '<a href="https://github.com/a/b">a &lt;b&gt;</a>'),
        (link, ('https://x.io/"onmouseover=', None), '<a href="https://x.io/&#34;onmouseover=">https://x.io/&#34;onmouseover=</a>'),
        (link, ("javascript:alert(1)", "click"), "click"),
        (ago, ("2026-11-28T09:00:00Z", NOW), "3 hours ago"),
        (ago, ("2026-11-28T11:59:30+00:00", NOW), "just now"),
        (ago, ("2026-11-30T12:00:00Z", NOW), "2 days from now"),
        (ago, (NOW.timestamp() - 60, NOW), "1 minute ago"),
        (ago, ("not a time", NOW), "not a time"),
    ],
)
def test_filters(function, args, expected):
    assert str(function(*args)) == expected
