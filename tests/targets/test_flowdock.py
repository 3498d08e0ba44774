"""The Flowdock client against a real devflow: requests, credentials and the answer table."""

from __future__ import annotations

import email.utils
import time

import pytest
import requests

from bridge import targets
from bridge.config import Target
from bridge.targets import flowdock
from bridge.targets.base import Sending
from bridge.targets.client import Client

TOKEN = Target(org="acme", flow="main", token="devflow-token")
PASSWORD = Target(org="acme", flow="main", email="dev@example.com", password="devflow-password")
FLOW_TOKEN = Target(flow_token="devflow-flow-token")


def post(api_url, target, message, timeout):
    """One attempt through the targets' own path, as the worker makes it."""
    return targets.send(Client(), target, message, Sending(api_url=api_url), timeout)


def message(text="hello", uuid="u-1"):
    return {"event": "message", "content": text, "tags": ["github"], "uuid": uuid}


def fault(chat, **spec):
    requests.post(f"{chat.url}/_devflow/faults", json=spec, timeout=5).raise_for_status()


def stored(chat):
    return requests.get(f"{chat.url}/_devflow/messages", timeout=5).json()


def log(chat):
    return requests.get(f"{chat.url}/_devflow/requests", timeout=5).json()["requests"]


@pytest.mark.parametrize("target, kind", [(TOKEN, "token"), (PASSWORD, "password"), (FLOW_TOKEN, "flow_token")])
def test_each_kind_of_credentials_delivers(chat, target, kind):
    outcome = post(chat.url, target, message(), timeout=5)
    assert (outcome.kind, outcome.status) == ("delivered", 202)
    [entry] = log(chat)
    assert entry["auth"]["kind"] == kind and entry["auth"]["valid"]
    assert entry["headers"]["Accept"] == "application/json"
    assert entry["headers"]["Content-Type"] == "application/json"
    [kept] = stored(chat)["messages"]
    assert (kept["content"], kept["uuid"], kept["tags"]) == ("hello", "u-1", ["github"])


def test_flowdock_user_header_is_kept(chat):
    outcome = post(chat.url, TOKEN, message(), timeout=5)
    assert outcome.flowdock_user == "1"


def test_wrong_token_is_permanent_and_secret_free(chat):
    wrong = Target(org="acme", flow="main", token="not-the-token")
    outcome = post(chat.url, wrong, message(), timeout=5)
    assert (outcome.kind, outcome.status) == ("permanent", 401)
    assert "not-the-token" not in outcome.error


def test_unknown_flow_is_permanent(chat):
    outcome = post(chat.url, Target(org="acme", flow="nope", token="devflow-token"), message(), timeout=5)
    assert (outcome.kind, outcome.status) == ("permanent", 404)


def test_validation_error_keeps_the_servers_errors(chat):
    outcome = post(chat.url, TOKEN, message(text=""), timeout=5)
    assert (outcome.kind, outcome.status) == ("permanent", 400)
    assert '"Validation error"' in outcome.error and "content" in outcome.error


@pytest.mark.parametrize(
    "status, kind", [(503, "retry"), (500, "retry"), (429, "retry"), (408, "retry"), (409, "retry"), (425, "retry"), (403, "permanent"), (410, "permanent")]
)
def test_answer_table(chat, status, kind):
    fault(chat, status=status, times=1)
    outcome = post(chat.url, TOKEN, message(), timeout=5)
    assert (outcome.kind, outcome.status) == (kind, status)


def test_retry_after_seconds_is_read(chat):
    fault(chat, status=429, times=1, retry_after="4")
    assert post(chat.url, TOKEN, message(), timeout=5).retry_after == 4.0


def test_retry_after_http_date_is_read():
    when = email.utils.formatdate(1_000_030, usegmt=True)
    assert flowdock.parse_retry_after(when, now=1_000_000) == pytest.approx(30)
    assert flowdock.parse_retry_after("soon") is None and flowdock.parse_retry_after(None) is None


def test_connection_refused_and_timeout_are_retried(chat):
    assert post("http://127.0.0.1:9", TOKEN, message(), timeout=2).kind == "retry"
    # A status too, so the slow request stores nothing after this test has ended.
    fault(chat, status=503, delay=2)
    started = time.monotonic()
    outcome = post(chat.url, TOKEN, message(), timeout=0.3)
    assert outcome.kind == "retry" and outcome.status is None and "Timeout" in outcome.error
    assert time.monotonic() - started < 2


def test_password_with_any_character_is_sent_as_utf8_basic_auth():
    target = Target(org="acme", flow="main", email="jane+ci@example.com", password="sälaisuus:密码")
    url, body, auth = flowdock.request_for("https://api.example.com/", target, message())
    assert url == "https://api.example.com/flows/acme/main/messages"
    assert auth == (b"jane+ci@example.com", "sälaisuus:密码".encode())
    prepared = requests.Request("POST", url, auth=auth, json=body).prepare()
    assert prepared.headers["Authorization"].startswith("Basic ")


def test_flow_token_goes_in_the_body_not_the_url():
    url, body, auth = flowdock.request_for("https://api.example.com", FLOW_TOKEN, message())
    assert (url, auth, body["flow_token"]) == ("https://api.example.com/messages", None, "devflow-flow-token")


def test_uuid_is_deterministic_per_event_and_target():
    assert flowdock.message_uuid("e1", "chat") == flowdock.message_uuid("e1", "chat")
    assert flowdock.message_uuid("e1", "chat") != flowdock.message_uuid("e1", "inbox")
    assert flowdock.message_uuid("e1", "chat") != flowdock.message_uuid("e2", "chat")


def test_redact_hides_every_secret():
    assert flowdock.redact("token abc and pw xyz", ["abc", "xyz", ""]) == "token *** and pw ***"


def test_threaded_activity_and_discussion_bodies_are_delivered_with_a_flow_token(chat):
    thread = {
        "title": "#42 Fix the flux capacitor",
        "external_url": "https://github.com/acme/widgets/pull/42",
        "status": {"value": "open", "color": "green"},
        "fields": [{"label": "Author", "value": "octocat"}],
    }
    common = {"external_thread_id": "github:acme/widgets:pull:42", "author": {"name": "octocat"}, "thread": thread}
    activity = {"event": "activity", "title": "opened pull request", "uuid": "u-a", **common}
    discussion = {"event": "discussion", "title": "commented", "body": "<p>Looks good</p>", "uuid": "u-d", **common}
    for body in (activity, discussion):
        outcome = post(chat.url, FLOW_TOKEN, body, timeout=5)
        assert (outcome.kind, outcome.status) == ("delivered", 202)
    kept = stored(chat)["messages"]
    assert [(m["event"], m["external_thread_id"]) for m in kept] == [("activity", "github:acme/widgets:pull:42"), ("discussion", "github:acme/widgets:pull:42")]
    assert kept[0]["thread_id"] == kept[1]["thread_id"]
