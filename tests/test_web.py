"""The webhook endpoint, through Flask's test client against a real Redis."""

from __future__ import annotations

import base64
import io
import json
import logging
import weakref
from urllib.parse import urlencode

import pytest
import redis
from flask import jsonify
from werkzeug.test import EnvironBuilder

from bridge import create_app, logsafe
from bridge.config import parse_config
from tests.support import SECRET, fixture_bytes, github_headers, sign

CONFIG = """\
api_url: http://127.0.0.1:9
max_body_bytes: 65536
targets:
  team-chat: {org: acme, flow: main, token: tok}
routes:
  widgets: {source: github, secret: "It's a Secret to Everybody", targets: [team-chat]}
"""


@pytest.fixture
def app(redis_url):
    return create_app(parse_config(CONFIG), redis_url)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def queue(redis_url):
    """The Celery queue as Redis holds it: what the worker will receive."""
    r = redis.Redis.from_url(redis_url)
    return lambda: [json.loads(m) for m in r.lrange("celery", 0, -1)]


PING = json.dumps({"zen": "Design for failure.", "hook_id": 7}).encode()


def post(client, body=PING, **overrides):
    headers = {**github_headers("ping", body), **overrides}
    return client.post("/hooks/widgets", data=body, headers={k: v for k, v in headers.items() if v is not None})


def test_signed_delivery_is_stored_and_queued(client, app, queue):
    response = post(client)
    assert response.status_code == 202
    event_id = response.get_json()["event"]
    event = app.extensions["hookdock"].store.load_event(event_id)
    assert (event.route, event.name, event.sender_delivery_id, event.body) == ("widgets", "ping", "d-1", PING)
    assert "X-Hub-Signature-256" not in event.headers
    [message] = queue()
    assert message["headers"]["task"] == "hookdock.process_event"
    args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
    assert (args, kwargs) == ([event_id], {})


def test_same_delivery_id_again_is_a_duplicate_and_not_queued_twice(client, queue):
    first = post(client).get_json()["event"]
    again = post(client)
    assert again.status_code == 200
    assert again.get_json() == {"duplicate": True, "event": first}
    assert len(queue()) == 1


def test_form_encoded_delivery_is_accepted(client, queue):
    body = urlencode({"payload": PING.decode()}).encode()
    response = post(client, body, **{"Content-Type": "application/x-www-form-urlencoded", "X-Hub-Signature-256": sign(body)})
    assert response.status_code == 202
    assert len(queue()) == 1


@pytest.mark.parametrize(
    "change, status, words",
    [
        ({"X-Hub-Signature-256": None}, 401, "missing X-Hub-Signature-256"),
        ({"X-Hub-Signature-256": sign(PING, "wrong secret")}, 401, "does not match"),
        ({"X-GitHub-Event": None}, 400, "missing X-GitHub-Event"),
        ({"Content-Type": "text/plain"}, 415, "unsupported content type"),
    ],
)
def test_refusals_are_json_and_queue_nothing(client, queue, change, status, words):
    response = post(client, **change)
    assert response.status_code == status
    assert response.is_json and words in response.get_json()["error"]
    assert queue() == []


def test_bad_json_is_400(client):
    body = b"{nope"
    response = post(client, body, **{"X-Hub-Signature-256": sign(body)})
    assert (response.status_code, "not valid JSON" in response.get_json()["error"]) == (400, True)


def test_unknown_route_is_404_json(client):
    response = client.post("/hooks/nowhere", data=PING, headers=github_headers("ping", PING))
    assert response.status_code == 404 and response.get_json()["error"] == "no route named 'nowhere'"


def test_wrong_method_is_405_with_allow(client):
    response = client.get("/hooks/widgets")
    assert response.status_code == 405 and response.headers["Allow"] == "POST" and response.is_json


def test_body_over_the_cap_is_413_before_any_work(client, queue):
    body = json.dumps({"zen": "x" * 70000}).encode()
    response = post(client, body, **{"X-Hub-Signature-256": sign(body)})
    assert response.status_code == 413
    assert "larger than the limit of 65536 bytes" in response.get_json()["error"]
    assert queue() == []


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"ok": True}
    assert client.get("/readyz").status_code == 200


def test_not_ready_without_redis():
    app = create_app(parse_config(CONFIG), "redis://127.0.0.1:9/0")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and "redis is not reachable" in response.get_json()["error"]


def test_redis_down_while_receiving_is_503_and_nothing_is_claimed(redis_url):
    app = create_app(parse_config(CONFIG), "redis://127.0.0.1:9/0")
    response = post(app.test_client())
    assert response.status_code == 503 and response.is_json


def test_real_push_fixture_is_accepted(client, queue):
    body = fixture_bytes("github", "push__many_commits")
    response = client.post("/hooks/widgets", data=body, headers=github_headers("push", body, delivery="p-1", secret=SECRET))
    assert response.status_code == 202 and len(queue()) == 1


def test_a_claim_whose_event_was_lost_does_not_block_the_retry(client, redis_url, queue):
    redis.Redis.from_url(redis_url).set("hookdock:seen:widgets:d-1", "lost-event")
    response = post(client)
    assert response.status_code == 202 and len(queue()) == 1


def test_an_event_that_cannot_be_queued_is_refused_and_the_retry_is_accepted(client, app, queue, redis_url):
    # The accept script queues the task itself: a queue key Redis cannot push to is what refuses it now.
    r = redis.Redis.from_url(redis_url)
    r.set("celery", "not a list")
    refused = post(client)
    assert refused.status_code == 503 and "could not be queued" in refused.get_json()["error"]
    assert app.extensions["hookdock"].store.list_events() == [] and not r.keys("hookdock:seen:*")
    r.delete("celery")
    assert post(client).status_code == 202 and len(queue()) == 1


@pytest.fixture
def without_flask(app):
    """The app with Flask's own request handling made to fail: what still answers was served by the fast lane."""
    entered = []

    def flask(environ, start_response):
        entered.append(environ["PATH_INFO"])
        start_response("599 Flask", [])
        return [b""]

    app.wsgi_app.flask = flask
    return entered


def test_a_signed_webhook_and_a_refused_one_are_served_without_flask(client, app, without_flask, redis_url):
    accepted = post(client)
    assert accepted.status_code == 202 and accepted.get_json() == {"event": accepted.get_json()["event"]}
    assert post(client).get_json() == {"duplicate": True, "event": accepted.get_json()["event"]}
    refused = post(client, **{"X-GitHub-Delivery": "d-2", "X-Hub-Signature-256": "sha256=" + "0" * 64})
    assert refused.status_code == 401 and refused.get_json()["status"] == 401
    assert without_flask == []
    with app.app_context():  # the same bytes as Flask's lane would answer
        assert [r.get_data() for r in (accepted, refused)] == [jsonify(r.get_json()).get_data() for r in (accepted, refused)]
    # Counted as Flask's path counts them: the accept script counts the first two, the lane the refusal.
    counters = redis.Redis.from_url(redis_url).hgetall("hookdock:metrics")
    received = {k.decode(): int(v) for k, v in counters.items() if k.startswith(b"hookdock_webhooks_received")}
    assert sorted(received.values()) == [1, 1, 1] and any('"401"' in k for k in received)


@pytest.mark.parametrize(
    "send",
    [
        lambda c: c.post("/hooks/nowhere", data=PING, headers=github_headers("ping", PING)),  # no such route
        lambda c: c.put("/hooks/widgets", data=PING, headers=github_headers("ping", PING)),  # not its method
        lambda c: c.post("/hooks/widgets", input_stream=io.BytesIO(PING), headers={**github_headers("ping", PING), "Transfer-Encoding": "chunked"}),
        lambda c: c.post("/hooks/widgets", data=b"x" * 65537, headers=github_headers("ping", b"x" * 65537)),  # past the limit
    ],
)
def test_what_the_fast_lane_does_not_serve_goes_to_flask(client, without_flask, send):
    assert send(client).status_code == 599 and without_flask


def test_a_body_that_fails_to_read_is_refused_by_flask_as_before(app):
    environ = EnvironBuilder("/hooks/widgets", method="POST", data=PING, headers=github_headers("ping", PING)).get_environ()

    class Stalled:
        def read(self, size=-1):
            raise TimeoutError("timed out")

    environ["wsgi.input"] = Stalled()
    answered = []
    body = b"".join(app(environ, lambda status, headers, exc_info=None: answered.append(status)))
    assert answered == ["408 REQUEST TIMEOUT"] and b"stopped arriving" in body


def test_a_bug_in_a_source_is_a_json_500_from_flask(client, app, monkeypatch):
    hook = app.extensions["hookdock.hooks"]["widgets"]
    monkeypatch.setattr(hook.source, "verify", lambda *a: 1 / 0)
    response = post(client)
    assert response.status_code == 500 and response.get_json()["status"] == 500


def test_a_failure_after_the_webhook_was_stored_is_answered_and_logged_once_not_taken_again(client, app, caplog, monkeypatch):
    # Only this app's secrets, as in a real process: other tests' one-letter secrets would hide every "s" of the line.
    monkeypatch.setattr(logsafe, "SECRETS", logsafe.secret_values(app.extensions["hookdock"].config))
    accepts = app.extensions["hookdock.accepts"]
    taken = []

    def stored_then_failed(item):
        taken.append(accepts.__class__.submit(accepts, item))
        if len(taken) == 1:
            raise RuntimeError("the reply was misread after the event was stored")
        return taken[-1]

    accepts.submit = stored_then_failed
    with caplog.at_level(logging.ERROR):
        response = post(client)
    # Taken again from Flask, it went through the accept script twice and was answered as a duplicate of itself, its error logged nowhere.
    assert (response.status_code, response.get_json().get("status"), len(taken)) == (500, 500, 1)
    assert "the reply was misread" in caplog.text


class Payload(dict):
    """A parsed payload that can be watched for being freed (a plain dict cannot)."""


def test_the_parsed_payload_is_freed_before_the_webhook_waits_for_redis(client, app, monkeypatch):
    # Hundreds of webhooks may wait for one flush in an overload; each holding its parsed payload doubled its memory.
    hook = app.extensions["hookdock.hooks"]["widgets"]
    parse, alive = hook.source.parse, []

    def watched(headers, raw):
        name, parsed = parse(headers, raw)
        payload = Payload(parsed)
        watched.last = weakref.ref(payload)
        return name, payload

    accepts = app.extensions["hookdock.accepts"]

    def submit(item):
        alive.append(watched.last() is not None)
        return accepts.__class__.submit(accepts, item)

    monkeypatch.setattr(hook.source, "parse", watched)
    monkeypatch.setattr(accepts, "submit", submit)
    assert post(client).status_code == 202
    assert alive == [False]


def test_a_route_name_beyond_ascii_is_the_route_flask_would_pick(redis_url):
    # PATH_INFO carries the URL's UTF-8 bytes as Latin-1 (PEP 3333): "café" arrives as "cafÃ©", another route's name.
    config = CONFIG.replace(
        "routes:\n",
        'routes:\n  café: {source: github, secret: "first", targets: [team-chat]}\n  cafÃ©: {source: github, secret: "second", targets: [team-chat]}\n',
    )
    app = create_app(parse_config(config), redis_url)
    response = app.test_client().post("/hooks/café", data=PING, headers=github_headers("ping", PING, secret="first"))
    assert response.status_code == 202
    assert app.extensions["hookdock"].store.load_event(response.get_json()["event"]).route == "café"


def test_a_content_length_of_digits_beyond_ascii_is_left_to_flask(app):
    # str.isdigit() takes "²" (a Latin-1 byte a client can send), which int() refuses.
    environ = EnvironBuilder("/hooks/widgets", method="POST", data=PING, headers=github_headers("ping", PING)).get_environ()
    environ["CONTENT_LENGTH"] = "²"
    answered = []
    body = b"".join(app(environ, lambda status, headers, exc_info=None: answered.append(status)))
    assert answered[0].startswith("401") and json.loads(body)["status"] == 401
