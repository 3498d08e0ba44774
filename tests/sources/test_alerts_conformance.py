"""Alert sources through the real endpoint and the worker's logic on a real Redis: refusals, and a firing group told once."""

from __future__ import annotations

import json
import time

import pytest

from bridge import create_app
from bridge.config import parse_config
from bridge.sources.auth import hmac_hex
from tests.sources.test_alerts import SECRET, basic
from tests.support import fixture_bytes, fixture_payload, worker_messages

CONFIG = f"""\
api_url: http://127.0.0.1:9
targets:
  chat: {{org: acme, flow: main, token: t}}
  inbox: {{flow_token: f}}
routes:
  alertmanager: {{source: alertmanager, secret: {SECRET}, targets: [chat, inbox]}}
  grafana: {{source: grafana, secret: {SECRET}, targets: [chat, inbox]}}
  grafana-signed: {{source: grafana, secret: {SECRET}, auth: signature, targets: [chat, inbox]}}
  sentry: {{source: sentry, secret: {SECRET}, targets: [chat, inbox]}}
"""
JSON = {"Content-Type": "application/json"}
AM = fixture_bytes("alertmanager", "alert__firing")
GF = fixture_bytes("grafana", "alert__firing")
SE = fixture_bytes("sentry", "issue__created")


@pytest.fixture
def app(redis_url):
    return create_app(parse_config(CONFIG), redis_url)


def grafana_signed(body: bytes, stamp: int | None = None, secret: str = SECRET) -> dict:
    signed = (f"{stamp}:".encode() if stamp is not None else b"") + body
    extra = {"X-Grafana-Alerting-Timestamp": str(stamp)} if stamp is not None else {}
    return {**JSON, "X-Grafana-Alerting-Signature": hmac_hex(secret, signed), **extra}


def sentry_signed(body: bytes, secret: str = SECRET, **extra) -> dict:
    return {**JSON, "Sentry-Hook-Resource": "issue", "Sentry-Hook-Signature": hmac_hex(secret, body), "Request-ID": "r-1", **extra}


CASES = [
    # (route, headers, body, status, words in the answer)
    ("alertmanager", {**JSON, "Authorization": f"Bearer {SECRET}"}, AM, 202, ""),
    ("alertmanager", {**JSON, "Authorization": basic("am", SECRET)}, AM, 202, ""),
    ("alertmanager", JSON, AM, 401, "missing credentials"),
    ("alertmanager", {**JSON, "Authorization": "Bearer nope"}, AM, 401, "do not match"),
    ("alertmanager", {"Content-Type": "text/plain", "Authorization": f"Bearer {SECRET}"}, AM, 415, "unsupported content type"),
    ("grafana", {**JSON, "Authorization": f"Bearer {SECRET}"}, GF, 202, ""),
    ("grafana", grafana_signed(GF), GF, 401, "missing credentials"),
    ("grafana-signed", grafana_signed(GF), GF, 202, ""),
    # Signed with the time the test runs, not when it was collected: a long suite would make it stale.
    ("grafana-signed", lambda: grafana_signed(GF, int(time.time())), GF, 202, ""),
    ("grafana-signed", grafana_signed(GF, secret="other"), GF, 401, "does not match"),
    ("grafana-signed", {**JSON, "Authorization": f"Bearer {SECRET}"}, GF, 401, "missing X-Grafana-Alerting-Signature"),
    ("sentry", sentry_signed(SE), SE, 202, ""),
    ("sentry", sentry_signed(SE, secret="other"), SE, 401, "does not match"),
    ("sentry", {**JSON, "Sentry-Hook-Resource": "issue"}, SE, 401, "missing Sentry-Hook-Signature"),
    ("sentry", {k: v for k, v in sentry_signed(SE).items() if k != "Sentry-Hook-Resource"}, SE, 400, "missing Sentry-Hook-Resource"),
]


@pytest.mark.parametrize("route, headers, body, status, words", CASES, ids=[f"{c[0]}-{c[3]}-{c[4] or 'ok'}" for c in CASES])
def test_the_endpoint_accepts_valid_and_refuses_invalid_authentication(app, route, headers, body, status, words):
    answer = app.test_client().post(f"/hooks/{route}", data=body, headers=headers() if callable(headers) else headers)
    assert answer.status_code == status, answer.get_json()
    assert words in (answer.get_json().get("error") or "")
    assert SECRET not in answer.get_data(as_text=True)


def test_grafana_may_send_with_put_and_the_others_only_with_post(app):
    """A Grafana contact point offers HTTP Method POST or PUT; Alertmanager and Sentry only POST."""
    bearer = {**JSON, "Authorization": f"Bearer {SECRET}"}
    assert app.test_client().put("/hooks/grafana", data=GF, headers=bearer).status_code == 202
    refused = app.test_client().put("/hooks/alertmanager", data=AM, headers=bearer)
    assert refused.status_code == 405 and refused.headers["Allow"] == "POST"
    refused = app.test_client().get("/hooks/grafana")
    assert refused.status_code == 405 and refused.headers["Allow"] == "POST, PUT" and "POST or PUT" in refused.get_json()["error"]


def post(app, payload: dict) -> str:
    answer = app.test_client().post("/hooks/alertmanager", data=json.dumps(payload).encode(), headers={**JSON, "Authorization": f"Bearer {SECRET}"})
    assert answer.status_code == 202, answer.get_json()
    return answer.get_json()["event"]


def test_a_group_firing_five_times_posts_once_and_resolves_in_the_same_thread(redis_url):
    """Alertmanager repeats a firing group (repeat_interval, alerts joining); chat hears it once, the thread every time."""
    worker = create_app(parse_config(CONFIG), redis_url)
    firing = json.loads(AM)
    told, ids = [], []
    for repeat in range(5):
        payload = json.loads(AM)
        # Each repeat differs (another instance joins the group), as real repeats do; identical bodies are duplicates at the door.
        for extra in range(repeat):
            alert = json.loads(json.dumps(firing["alerts"][0]))
            alert["labels"]["instance"] = f"https://node{extra}.example.org"
            payload["alerts"].append(alert)
        ids.append(post(worker, payload))
        told.append(worker_messages(worker, ids[-1]))
    assert ["chat" in sent for sent in told] == [True, False, False, False, False]
    assert {sent["inbox"]["external_thread_id"] for sent in told} == {told[0]["inbox"]["external_thread_id"]}
    assert told[4]["inbox"]["title"] == "Still firing: 5 alerts" and told[4]["inbox"]["thread"]["status"]["color"] == "red"

    restarted = create_app(parse_config(CONFIG), redis_url)  # a new worker: nothing but Redis carries the history
    resolved = worker_messages(restarted, post(restarted, fixture_payload("alertmanager", "alert__resolved")))
    assert resolved["chat"]["content"].startswith("✅ [critical] BlackBox Probe Failure")
    assert resolved["inbox"]["external_thread_id"] == told[0]["inbox"]["external_thread_id"]
    assert resolved["inbox"]["thread"]["status"] == {"value": "resolved", "color": "green"}

    # A replay tells what its notification told then (the first: chat; a repeat: the thread only);
    # the group firing again later is a new episode.
    services = restarted.extensions["hookdock"]
    for event_id, chat in ((ids[0], True), (ids[2], False)):
        services.store.mark_event(event_id, "queued")
        assert ("chat" in worker_messages(restarted, event_id)) is chat
    again = json.loads(AM)
    again["alerts"][0]["startsAt"] = "2023-02-07T08:00:00.000Z"
    assert "chat" in worker_messages(restarted, post(restarted, again))


def test_an_identical_repeat_is_a_duplicate_at_the_door(app):
    client, headers = app.test_client(), {**JSON, "Authorization": f"Bearer {SECRET}"}
    first = client.post("/hooks/alertmanager", data=AM, headers=headers)
    again = client.post("/hooks/alertmanager", data=AM, headers=headers)
    assert again.get_json() == {"duplicate": True, "event": first.get_json()["event"]}
