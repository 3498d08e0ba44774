"""Posting messages: user token, e-mail and password, flow token, threads by path, comments."""

from __future__ import annotations

import base64

from .conftest import FLOW_TOKEN, JANE_EMAIL, JANE_PASSWORD, OPS_TOKEN

WAIT = {"X-flowdock-wait-for-message": "true"}


def test_token_post_waiting_returns_stored_message(devflow):
    r = devflow.post("/flows/acme/main/messages", {"event": "message", "content": "hello", "uuid": "u-1"}, auth=("devflow-token", "anything"), headers=WAIT)
    assert r.status_code == 200
    assert r.headers["Flowdock-User"] == "1"
    message = r.json()
    assert isinstance(message["id"], int)
    assert {k: message[k] for k in ("event", "content", "uuid", "user", "flow")} == {
        "event": "message",
        "content": "hello",
        "uuid": "u-1",
        "user": "1",
        "flow": "acme:main",
    }
    assert isinstance(message["sent"], int) and message["sent"] > 1_600_000_000_000
    assert r.headers["Link"].endswith(f'/flows/acme/main/messages/{message["id"]}/comments>; rel="comments"')


def test_post_without_wait_header_is_202_with_empty_object(devflow):
    r = devflow.post("/flows/acme/main/messages", {"event": "message", "content": "fire and forget"})
    assert (r.status_code, r.json(), r.headers["Flowdock-User"]) == (202, {}, "1")
    assert [m["content"] for m in devflow.stored()["messages"]] == ["fire and forget"]


def test_wait_header_false_is_202(devflow):
    r = devflow.post("/flows/acme/main/messages", {"event": "message", "content": "x"}, headers={"X-flowdock-wait-for-message": "false"})
    assert r.status_code == 202


def test_email_and_non_ascii_password_in_utf8(devflow):
    auth = (JANE_EMAIL.encode("utf-8"), JANE_PASSWORD.encode("utf-8"))
    r = devflow.post("/flows/acme/main/messages", {"event": "status", "content": "testing"}, auth=auth, headers=WAIT)
    assert r.status_code == 200, r.text
    assert r.json()["user"] == "2" and r.headers["Flowdock-User"] == "2"
    assert devflow.log()[-1]["auth"] == {"kind": "password", "user_id": 2, "valid": True}


def test_latin1_basic_credentials_are_understood(devflow):
    # requests (like several clients) encodes str credentials as Latin-1, not UTF-8.
    devflow.state.add_user("pekka-token", 4, "pekka", email="pekka@example.com", password="pässi")
    devflow.state.flows[0].members.add(4)
    r = devflow.post("/flows/acme/main/messages", {"event": "message", "content": "moi"}, auth=("pekka@example.com", "pässi"))
    assert (r.status_code, r.headers["Flowdock-User"]) == (202, "4")


def test_raw_basic_header_with_empty_password(devflow):
    header = "Basic " + base64.b64encode(b"devflow-token:").decode()
    r = devflow.post("/flows/acme/main/messages", {"event": "message", "content": "x"}, auth=None, headers={"Authorization": header})
    assert r.status_code == 202


def test_flow_token_in_body_posts_as_user_zero_without_flowdock_user(devflow):
    r = devflow.post(
        "/messages", {"flow_token": FLOW_TOKEN, "event": "message", "content": "from a source", "external_user_name": "CI Bot"}, auth=None, headers=WAIT
    )
    assert r.status_code == 200, r.text
    assert "Flowdock-User" not in r.headers
    assert (r.json()["user"], r.json()["external_user_name"]) == ("0", "CI Bot")
    stored = devflow.stored()["messages"]
    assert [(m["org"], m["flow"]) for m in stored] == [("acme", "main")]


def test_flow_token_in_query_posts_to_its_own_flow(devflow):
    r = devflow.post("/messages", {"event": "message", "content": "ops only"}, auth=None, params={"flow_token": OPS_TOKEN})
    assert r.status_code == 202
    assert [(m["flow"], m["content"]) for m in devflow.stored()["messages"]] == [("ops", "ops only")]


def test_post_into_thread_by_path(devflow):
    from .conftest import activity

    first = devflow.post("/messages", {"flow_token": FLOW_TOKEN, **activity("gh:1")}, auth=None, headers=WAIT).json()
    r = devflow.post(f"/flows/acme/main/threads/{first['thread_id']}/messages", {"event": "message", "content": "looks good"}, headers=WAIT)
    assert r.status_code == 200, r.text
    assert r.json()["thread_id"] == first["thread_id"]
    thread = devflow.get(f"/flows/acme/main/threads/{first['thread_id']}").json()
    assert thread["message_ids"] == [first["id"], r.json()["id"]]
    assert thread["internal_comments"] == 1 and thread["activities"] == 1


def test_activity_by_path_needs_no_external_thread_id(devflow):
    from .conftest import activity

    first = devflow.post("/messages", {"flow_token": FLOW_TOKEN, **activity("gh:1")}, auth=None, headers=WAIT).json()
    body = {"event": "discussion", "title": "commented", "author": {"name": "octocat"}, "body": "nice"}
    r = devflow.post(f"/flows/acme/main/threads/{first['thread_id']}/messages", body)
    assert r.status_code == 202, r.text


def test_comment_on_message(devflow):
    parent = devflow.say("parent")
    r = devflow.post(f"/flows/acme/main/messages/{parent['id']}/comments", {"event": "comment", "content": "a reply"}, headers=WAIT)
    assert r.status_code == 200, r.text
    assert r.json()["event"] == "comment" and f"influx:{parent['id']}" in r.json()["tags"]


def test_comment_url_requires_comment_event(devflow):
    parent = devflow.say("parent")
    r = devflow.post(f"/flows/acme/main/messages/{parent['id']}/comments", {"event": "message", "content": "x"})
    assert r.status_code == 400 and "event" in r.json()["errors"]


def test_comment_on_a_comment_is_rejected(devflow):
    parent = devflow.say("parent")
    comment = devflow.post(f"/flows/acme/main/messages/{parent['id']}/comments", {"event": "comment", "content": "c"}, headers=WAIT).json()
    r = devflow.post(f"/flows/acme/main/messages/{comment['id']}/comments", {"event": "comment", "content": "cc"})
    assert r.status_code == 400 and r.json()["errors"] == {"message": ["can't comment on a comment"]}


def test_get_flow(devflow):
    r = devflow.get("/flows/acme/main")
    assert r.status_code == 200 and r.headers["Flowdock-User"] == "1"
    flow = r.json()
    assert (flow["parameterized_name"], flow["name"], flow["organization"]["parameterized_name"]) == ("main", "Main", "acme")
    assert flow["url"] == devflow.url + "/flows/acme/main"
    assert {u["nick"] for u in flow["users"]} == {"dev", "jane"}
    assert "devflow-flow-token" not in r.text and "devflow-password" not in r.text
