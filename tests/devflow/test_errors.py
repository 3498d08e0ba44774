"""Transport and auth errors: 401, 404, 405, 406, 415 and JSON parse errors, all as JSON."""

from __future__ import annotations

import pytest

from .conftest import OUTSIDER_TOKEN

MESSAGE = {"event": "message", "content": "x"}
REALM = 'Basic realm="devflow"'


@pytest.mark.parametrize("auth", [None, ("wrong-token", ""), ("dev@example.com", "wrong-password"), ("nobody@example.com", "devflow-password")])
def test_bad_or_missing_credentials_are_401(devflow, auth):
    r = devflow.post("/flows/acme/main/messages", MESSAGE, auth=auth)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == REALM
    assert set(r.json()) == {"message"} and "Flowdock-User" not in r.headers
    assert devflow.stored()["messages"] == []


def test_flow_token_errors_are_401(devflow):
    missing = devflow.post("/messages", MESSAGE, auth=None)
    unknown = devflow.post("/messages", {**MESSAGE, "flow_token": "nope"}, auth=None)
    user_token = devflow.post("/messages", {**MESSAGE, "flow_token": "devflow-token"}, auth=None)
    assert [r.status_code for r in (missing, unknown, user_token)] == [401, 401, 401]
    assert "nope" not in unknown.text


@pytest.mark.parametrize(
    "path", ["/flows/nope/main/messages", "/flows/acme/nope/messages", "/flows/acme/main/threads/nope/messages", "/flows/acme/main/messages/999/comments"]
)
def test_unknown_targets_are_404(devflow, path):
    body = {"event": "comment", "content": "x"} if path.endswith("comments") else MESSAGE
    r = devflow.post(path, body)
    assert r.status_code == 404 and set(r.json()) == {"message"}
    assert r.headers["Flowdock-User"] == "1"


def test_flow_of_which_user_is_not_member_is_404(devflow):
    r = devflow.post("/flows/acme/main/messages", MESSAGE, auth=(OUTSIDER_TOKEN, ""))
    assert r.status_code == 404 and r.headers["Flowdock-User"] == "3"
    assert devflow.get("/flows/acme/ops", auth=("jane-token", "")).status_code == 404


def test_unknown_thread_id_in_body_is_404(devflow):
    r = devflow.post("/flows/acme/main/messages", {**MESSAGE, "thread_id": "nope"})
    assert r.status_code == 404


def test_unknown_path_and_wrong_method_are_json(devflow):
    missing = devflow.get("/no/such/path")
    wrong = devflow.request("DELETE", "/flows/acme/main/messages")
    assert (missing.status_code, missing.headers["Content-Type"]) == (404, "application/json")
    assert missing.json() == {"message": "Not Found"}
    assert wrong.status_code == 405 and "message" in wrong.json() and "POST" in wrong.headers["Allow"]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_body_without_json_content_type_is_415(devflow, content_type):
    r = devflow.request("POST", "/flows/acme/main/messages", data=b'{"event": "message", "content": "x"}', headers={"Content-Type": content_type})
    assert r.status_code == 415 and r.json() == {"message": "Content-Type: application/json is required"}
    assert devflow.stored()["messages"] == []


def test_json_content_type_with_charset_is_fine(devflow):
    r = devflow.request(
        "POST", "/flows/acme/main/messages", data=b'{"event": "message", "content": "x"}', headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert r.status_code == 202


@pytest.mark.parametrize("accept", [None, "text/html", "application/json;q=0"])
def test_accept_must_allow_json(devflow, accept):
    r = devflow.post("/flows/acme/main/messages", MESSAGE, headers={"Accept": accept})
    assert r.status_code == 406
    assert r.json() == {"message": "Accept: application/json is required"}


def test_test_helper_header_does_not_replace_accept(devflow):
    r = devflow.get("/flows/acme/main", headers={"Accept": None, "X-Test-Helper": "application/json"})
    assert r.status_code == 406


@pytest.mark.parametrize("accept", ["*/*", "application/*", "text/html, application/json;q=0.5"])
def test_accept_wildcards_allow_json(devflow, accept):
    assert devflow.get("/flows/acme/main", headers={"Accept": accept}).status_code == 200


@pytest.mark.parametrize("data", [b"{not json", b"", b'{"event": NaN}', b"\xff\xfe"])
def test_malformed_json_is_400(devflow, data):
    r = devflow.request("POST", "/flows/acme/main/messages", data=data, headers={"Content-Type": "application/json"})
    assert (r.status_code, r.json()) == (400, {"message": "Problems parsing JSON"})


def test_json_that_is_not_an_object_is_400(devflow):
    r = devflow.post("/flows/acme/main/messages", ["event", "message"])
    assert r.status_code == 400 and set(r.json()) == {"message"}
