"""The admin API: bearer token, listing, showing and replaying."""

from __future__ import annotations

import json

import pytest

from bridge import create_app
from bridge.config import parse_config
from bridge.store import Delivery, Event

CONFIG = """\
api_url: http://127.0.0.1:9
admin_token: admin-secret
targets:
  team-chat: {org: acme, flow: main, token: tok}
routes:
  widgets: {source: github, secret: s, targets: [team-chat]}
"""
AUTH = {"Authorization": "Bearer admin-secret"}


@pytest.fixture
def app(redis_url):
    app = create_app(parse_config(CONFIG), redis_url)
    store = app.extensions["hookdock"].store
    store.save_event(Event("e1", "widgets", "github", "ping", "d-1", {"X-GitHub-Event": "ping"}, b"{}"))
    store.save_delivery(
        Delivery(
            "e1.team-chat",
            "e1",
            "widgets",
            "team-chat",
            {"event": "message"},
            status="failed",
            last_status=401,
            attempts=[{"at": 1.0, "status": 401, "duration_ms": 3.0, "error": "{}"}],
        )
    )
    return app


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic admin-secret"}])
def test_every_call_needs_the_bearer_token(app, headers):
    response = app.test_client().get("/api/deliveries", headers=headers)
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "admin-secret" not in response.get_data(as_text=True)


def test_without_a_configured_token_the_api_is_off(redis_url):
    app = create_app(parse_config(CONFIG.replace("admin_token: admin-secret\n", "")), redis_url)
    response = app.test_client().get("/api/deliveries", headers=AUTH)
    assert response.status_code == 404 and "admin API is off" in response.get_json()["error"]


def test_list_failed_and_show(app):
    client = app.test_client()
    listed = client.get("/api/deliveries?failed=1", headers=AUTH).get_json()["deliveries"]
    assert [(d["id"], d["last_status"]) for d in listed] == [("e1.team-chat", 401)]
    shown = client.get("/api/deliveries/e1.team-chat", headers=AUTH).get_json()
    assert shown["attempts"][0]["status"] == 401
    event = client.get("/api/events/e1", headers=AUTH).get_json()
    assert event["name"] == "ping" and event["deliveries"][0]["id"] == "e1.team-chat"
    assert client.get("/api/events/nope", headers=AUTH).status_code == 404


def test_replay_one_and_all_failed(app):
    client = app.test_client()
    assert client.post("/api/replay/e1.team-chat", headers=AUTH).get_json() == {"replayed": "e1.team-chat", "targets": ["team-chat"]}
    assert client.post("/api/replay?failed=1&since=1h", headers=AUTH).get_json() == {"replayed": ["e1.team-chat"]}
    assert client.post("/api/replay", headers=AUTH).status_code == 400
    bad = client.post("/api/replay?failed=1&since=yesterday", headers=AUTH)
    assert bad.status_code == 400 and "use a duration" in json.loads(bad.data)["error"]


def test_preview_a_pasted_payload(app):
    from tests.support import fixture_payload

    client = app.test_client()
    result = client.post("/api/preview?source=github&event=issues", json=fixture_payload("github", "issues__opened"), headers=AUTH).get_json()
    assert result["requests"][0]["body"]["content"].startswith("Codertocat opened issue #1")
    assert client.post("/api/preview?source=github", json={}, headers=AUTH).status_code == 400
    assert client.post("/api/preview?source=gitlab&event=push", json={}, headers=AUTH).status_code == 404


def test_replaying_a_delivered_message_is_refused_as_the_cli_refuses_it(app):
    store = app.extensions["hookdock"].store
    delivery = store.load_delivery("e1.team-chat")
    delivery.status = "delivered"
    store.save_delivery(delivery)
    store.mark_event("e1", "processed")
    for item in ("e1", "e1.team-chat"):
        response = app.test_client().post(f"/api/replay/{item}", headers=AUTH)
        assert response.status_code == 409
        body = response.get_json()
        assert (
            body["status"] == 409
            and body["error"] == f"{item}: nothing to replay: already delivered to team-chat; a replay never posts a delivered message again"
        )


def test_list_failed_events(app):
    store = app.extensions["hookdock"].store
    store.save_event(Event("e2", "widgets", "github", "push", "d-2", {"X-GitHub-Event": "push"}, b"{}"))
    store.mark_event("e2", "failed", "template error: github/push.txt:1: boom")
    listed = app.test_client().get("/api/events?failed=1", headers=AUTH).get_json()["events"]
    assert [(e["id"], e["status"], e["reason"]) for e in listed] == [("e2", "failed", "template error: github/push.txt:1: boom")]
    assert [e["id"] for e in app.test_client().get("/api/events", headers=AUTH).get_json()["events"]] == ["e2", "e1"]
