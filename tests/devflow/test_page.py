"""The web page: Flowdock's HTML shown as HTML, everything else escaped, no secrets, auto refresh."""

from __future__ import annotations

from .conftest import FLOW_TOKEN, activity


def page(devflow) -> str:
    r = devflow.http.get(devflow.url + "/")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    return r.text


def test_page_escapes_payload_and_hides_secrets(devflow):
    devflow.say("<script>alert('x')</script>", external_user_name="<b>evil</b>")
    thread = activity(
        "gh:1",
        thread={
            "title": "<img src=x onerror=alert(1)>",
            "body": "<script>bad()</script>",
            "external_url": "https://example.com/pull/1",
            "status": {"value": "<i>open</i>", "color": "green"},
            "fields": [{"label": "who", "value": "<a href='javascript:x'>me</a>"}],
        },
    )
    assert devflow.post("/messages", {"flow_token": FLOW_TOKEN, **thread}, auth=None).status_code == 202
    html = page(devflow)
    assert "<script>" not in html and "<img" not in html and "<b>evil" not in html and "<i>open" not in html
    assert "&lt;script&gt;alert(" in html and "&lt;img src=x" in html
    assert "javascript:x" not in html.replace("&#39;javascript:x&#39;", "")
    assert '<a href="https://example.com/pull/1"' in html
    for secret in ("devflow-token", FLOW_TOKEN, "devflow-password", "ops-flow-token"):
        assert secret not in html


def test_page_refreshes_and_lists_newest_first(devflow):
    devflow.say("older message")
    devflow.say("newer message")
    html = page(devflow)
    assert '<meta http-equiv="refresh" content="3">' in html
    assert html.index("newer message") < html.index("older message")
    assert "Main" in html and "acme/ops" in html


def test_non_http_external_url_is_not_a_link(devflow):
    body = activity("gh:1")
    devflow.post("/messages", {"flow_token": FLOW_TOKEN, **body}, auth=None)
    # Stored state cannot hold javascript: URLs (validation), but the page must not trust that.
    from bridge.devflow.safehtml import is_http_url

    assert not is_http_url("javascript:alert(1)") and is_http_url("https://x.example/")
    assert "https://example.com/pull/42" in page(devflow)


COMMIT_LINK = '<a href="https://github.com/acme/widgets/commit/5d6e7f8">5d6e7f8</a>'
SHOWN_LINK = '<a href="https://github.com/acme/widgets/commit/5d6e7f8" rel="noopener noreferrer nofollow">5d6e7f8</a>'


def test_page_shows_thread_html_as_flowdock_would(devflow):
    """Titles and field values may hold links, bodies some HTML: shown rendered, with entities decoded once."""
    thread = {
        "title": "#2 It&#39;s <a href='https://github.com/acme/widgets/pull/2'>fixed</a>",
        "body": "We&#39;re <b>glad</b><br>see <a href='https://github.com/acme/widgets/pull/2#c1'>the comment</a>",
        "external_url": "https://github.com/acme/widgets/pull/2",
        "status": {"value": "open", "color": "green"},
        "fields": [{"label": "Commit", "value": COMMIT_LINK}, {"label": "Labels", "value": "bug &amp; <i>ui</i>"}],
    }
    discussion = activity("gh:2", event="discussion", title="commented on pull request", body="<p>Looks good &amp; ships<br>today</p>", thread=thread)
    assert devflow.post("/messages", {"flow_token": FLOW_TOKEN, **discussion}, auth=None).status_code == 202
    html = page(devflow)
    assert '#2 It&#39;s <a href="https://github.com/acme/widgets/pull/2" rel="noopener noreferrer nofollow">fixed</a>' in html
    assert f"<dd>{SHOWN_LINK}</dd>" in html
    assert "<dd>bug &amp; &lt;i&gt;ui&lt;/i&gt;</dd>" in html  # only links in field values
    body = 'We&#39;re <b>glad</b><br>see <a href="https://github.com/acme/widgets/pull/2#c1" rel="noopener noreferrer nofollow">the comment</a>'
    assert f'<div class="html">{body}</div>' in html
    assert '<div class="html"><p>Looks good &amp; ships<br>today</p></div>' in html
    assert "&amp;#39;" not in html and "&lt;a href" not in html and "&lt;br&gt;" not in html
