"""devflow standing in for the other chats: their auth, their refusals in their own shape, faults, the log and the page."""

from __future__ import annotations

import pytest
import requests

OK_BODIES = {
    "/services/T0/B0/devflow-slack": {"text": "hi"},
    "/hooks/devflow-mattermost": {"text": "hi"},
    "/api/webhooks/1/devflow-discord?wait=true": {"content": "hi"},
    "/workflows/w/triggers/manual/paths/invoke?sig=devflow-teams": {
        "type": "message",
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": {"type": "AdaptiveCard", "version": "1.4", "body": []}}],
    },
}


@pytest.mark.parametrize(
    "method, path, kwargs, status, said",
    [
        ("POST", "/services/T0/B0/wrong", {"json": {"text": "hi"}}, 403, "invalid_token"),
        ("POST", "/services/T0/B0/devflow-slack", {"json": {}}, 400, "no_text"),
        (
            "POST",
            "/api/chat.postMessage",
            {"json": {"channel": "C1", "text": "hi"}, "headers": {"Authorization": "Bearer nope"}},
            200,
            '"error":"invalid_auth"',
        ),
        ("POST", "/hooks/wrong", {"json": {"text": "hi"}}, 400, "Invalid webhook"),
        ("POST", "/api/v4/posts", {"json": {"channel_id": "c", "message": "hi"}}, 401, "Invalid or expired session"),
        ("POST", "/workflows/w/triggers/manual/paths/invoke?sig=wrong", {"json": {}}, 401, "DirectApiAuthorizationRequired"),
        ("POST", "/api/webhooks/1/wrong", {"json": {"content": "hi"}}, 401, '"code":50027'),
        ("POST", "/api/webhooks/1/devflow-discord", {"json": {"content": "x" * 2001}}, 400, '"code":50035'),
        ("PUT", "/_matrix/client/v3/rooms/!r:devflow/send/m.room.message/t1", {"json": {"msgtype": "m.text", "body": "hi"}}, 401, "M_MISSING_TOKEN"),
        (
            "PUT",
            "/_matrix/client/v3/rooms/!r:devflow/send/m.room.message/t1",
            {"json": {"msgtype": "m.text"}, "headers": {"Authorization": "Bearer devflow-matrix"}},
            400,
            "M_BAD_JSON",
        ),
        (
            "POST",
            "/api/v1/messages",
            {"data": {"type": "stream", "to": "dev", "topic": "t", "content": "c"}, "auth": ("bot@devflow.example.com", "nope")},
            401,
            "INVALID_API_KEY",
        ),
        (
            "POST",
            "/api/v1/messages",
            {"data": {"type": "stream", "to": "dev", "content": "c"}, "auth": ("bot@devflow.example.com", "devflow-zulip")},
            400,
            "topic: is required",
        ),
    ],
)
def test_each_chat_refuses_in_its_own_shape(chat, method, path, kwargs, status, said):
    answer = requests.request(method, chat.url + path, timeout=5, **kwargs)
    assert answer.status_code == status
    assert said in answer.text.replace(" ", "") or said in answer.text
    assert requests.get(f"{chat.url}/_devflow/chats", timeout=5).json()["arrivals"] == []


@pytest.mark.parametrize("path, body", OK_BODIES.items(), ids=list(OK_BODIES))
def test_each_webhook_accepts_takes_faults_and_shows_no_credential_of_its_url(chat, path, body):
    requests.post(f"{chat.url}/_devflow/faults", json={"status": 503, "path": path.split("?")[0]}, timeout=5).raise_for_status()
    assert requests.post(chat.url + path, json=body, timeout=5).status_code == 503
    assert requests.post(chat.url + path, json=body, timeout=5).status_code in (200, 202)
    [arrival] = requests.get(f"{chat.url}/_devflow/chats", timeout=5).json()["arrivals"]
    assert arrival["json"] == body
    log = requests.get(f"{chat.url}/_devflow/requests", timeout=5).json()["requests"]
    assert [entry["status"] for entry in log][:1] == [503] and len(log) == 2
    # The webhook's credential (Teams' sig, Slack's and Discord's token, Mattermost's key) is in its URL: the
    # request log, the arrivals and the page show that URL without it.
    shown = str(log) + str(arrival) + requests.get(f"{chat.url}/", timeout=5).text
    assert not [secret for secret in ("devflow-teams", "devflow-slack", "devflow-discord", "devflow-mattermost") if secret in shown]


def test_a_repeated_matrix_transaction_answers_the_same_event_and_stores_one(chat):
    url = f"{chat.url}/_matrix/client/v3/rooms/!r:devflow/send/m.room.message/txn-1"
    headers = {"Authorization": "Bearer devflow-matrix"}
    first = requests.put(url, json={"msgtype": "m.notice", "body": "hi"}, headers=headers, timeout=5).json()
    again = requests.put(url, json={"msgtype": "m.notice", "body": "hi"}, headers=headers, timeout=5).json()
    assert first == again and first["event_id"].startswith("$")
    assert len(requests.get(f"{chat.url}/_devflow/chats", timeout=5).json()["arrivals"]) == 1


def test_the_page_shows_what_each_chat_received_escaped(chat):
    requests.post(f"{chat.url}/services/T0/B0/devflow-slack", json={"text": "<script>alert(1)</script> hello"}, timeout=5).raise_for_status()
    page = requests.get(f"{chat.url}/", timeout=5).text
    assert "slack" in page and "hello" in page and "<script>alert" not in page
    # Escaped once, for HTML, and so still readable: not as JSON's \u003c.
    assert "&lt;script&gt;alert(1)&lt;/script&gt; hello" in page


def test_the_page_shows_slack_links_and_bullets_as_sent(chat):
    text = "\u2022 <https://example.com/a|a & b>"
    requests.post(f"{chat.url}/services/T0/B0/devflow-slack", json={"text": text}, timeout=5).raise_for_status()
    page = requests.get(f"{chat.url}/", timeout=5).text
    assert "\u2022 &lt;https://example.com/a|a &amp; b&gt;" in page
