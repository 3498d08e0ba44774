"""The page's allow-list: Flowdock's HTML shown as HTML, everything else shown as text."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.devflow.safehtml import BODY_TAGS, INLINE_TAGS, body_html, inline_html, is_http_url

CASES = yaml.safe_load((Path(__file__).parent.parent / "fixtures" / "devflow" / "safe_html.yml").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_body_and_inline_html(case):
    assert str(body_html(case["in"])) == case["body"]
    assert str(inline_html(case["in"])) == case["inline"]


def test_values_that_are_not_text_are_shown_escaped():
    assert str(body_html(None)) == "" and str(inline_html(42)) == "42" and str(inline_html(["<b>"])) == "[&#39;&lt;b&gt;&#39;]"


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the tags still open at the end."""

    def __init__(self):
        super().__init__()
        self.seen, self.open = [], []

    def handle_starttag(self, tag, attrs):
        self.seen.append((tag, dict(attrs)))
        if tag != "br":
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open.pop() == tag, f"</{tag}> closes nothing it opened"


MARKUP = st.lists(
    st.sampled_from(["<", ">", "</", "/>", "<a href='", "javascript:", "https://x/", "'>", '"', "=", "&", "&#39;", "<!--", "-->", "<![CDATA["])
    | st.sampled_from([f"<{t}>" for t in sorted(BODY_TAGS | {"script", "img", "div", "style"})] + [f"</{t}>" for t in sorted(BODY_TAGS | {"div"})])
    | st.text(max_size=5),
    max_size=30,
).map("".join)


@settings(max_examples=200, deadline=None)
@given(MARKUP)
def test_only_allowed_tags_balanced_and_http_links_ever_come_out(text):
    for clean, allowed in ((body_html, BODY_TAGS), (inline_html, INLINE_TAGS)):
        tags = _Tags()
        tags.feed(str(clean(text)))
        tags.close()
        assert not tags.open, f"left open: {tags.open}"
        for tag, attrs in tags.seen:
            assert tag in allowed
            assert set(attrs) <= ({"href", "rel"} if tag == "a" else set())
            assert "href" not in attrs or is_http_url(attrs["href"])
