"""The web page: escaped payloads, no secrets, auto refresh, threads and messages."""

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
    from bridge.devflow.controls import _safe_url

    assert _safe_url("javascript:alert(1)") is None and _safe_url("https://x.example/") == "https://x.example/"
    assert "https://example.com/pull/42" in page(devflow)
