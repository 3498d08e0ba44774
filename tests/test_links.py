"""Links in composed messages: only http(s) URLs stay links, thread URLs, actions or avatars."""

from __future__ import annotations

import pytest

from bridge.links import safe_activity, safe_links


@pytest.mark.parametrize(
    "html, expected",
    [
        ('<a href="https://github.com/a">a</a>', '<a href="https://github.com/a">a</a>'),
        ('<a href="javascript:alert(1)//">run</a> after', "run after"),
        ("<A HREF='JavaScript:x'>up</A>", "up"),
        ('<a href="javascript&#58;alert(1)">entity</a>', "entity"),
        ('<a href=" https://x.io">space</a>', "space"),
        ('<a name="x">no href</a>', "no href"),
        ('<a href="data:text/html,x">open', "open"),
        ("plain <b>text</b>", "plain <b>text</b>"),
    ],
)
def test_safe_links(html, expected):
    assert safe_links(html) == expected


def test_a_thread_keeps_only_web_urls():
    activity = {
        "title": "opened",
        "author": {"name": "a", "avatar": "javascript:x"},
        "body": '<a href="vbscript:x">b</a>',
        "thread": {
            "title": '<a href="javascript:x">t</a>',
            "external_url": "javascript:alert(1)//",
            "fields": [{"label": "Commit", "value": '<a href="javascript:x">abc</a>'}],
            "actions": [
                {"@type": "ViewAction", "name": "Run", "url": "javascript:x"},
                {"@type": "ViewAction", "name": "Ok", "url": "https://x.io"},
                {"@type": "UpdateAction", "name": "Post", "target": {"@type": "EntryPoint", "urlTemplate": "javascript:x", "httpMethod": "POST"}},
                {"@type": "UpdateAction", "name": "Ack", "target": {"@type": "EntryPoint", "urlTemplate": "https://x.io/ack", "httpMethod": "POST"}},
            ],
        },
    }
    assert safe_activity(activity) == {
        "title": "opened",
        "author": {"name": "a"},
        "body": "b",
        "thread": {
            "title": "t",
            "fields": [{"label": "Commit", "value": "abc"}],
            "actions": [
                {"@type": "ViewAction", "name": "Ok", "url": "https://x.io"},
                {"@type": "UpdateAction", "name": "Ack", "target": {"@type": "EntryPoint", "urlTemplate": "https://x.io/ack", "httpMethod": "POST"}},
            ],
        },
    }
