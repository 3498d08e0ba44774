"""Test controls: faults, the request log (without secrets), stored messages, reset, health."""

from __future__ import annotations

import json
import time

from .conftest import FLOW_TOKEN, JANE_EMAIL, JANE_PASSWORD

MESSAGE = {"event": "message", "content": "x"}


def fault(devflow, **spec):
    r = devflow.control("POST", "/faults", json=spec)
    assert r.status_code == 201, r.text
    return r.json()


def test_fault_status_times_and_retry_after(devflow):
    fault(devflow, status=503, times=2, retry_after="4")
    answers = [devflow.post("/flows/acme/main/messages", MESSAGE) for _ in range(3)]
    assert [r.status_code for r in answers] == [503, 503, 202]
    assert answers[0].json() == {"message": "devflow fault 503"}
    assert answers[0].headers["Retry-After"] == "4" and "Retry-After" not in answers[2].headers
    assert len(devflow.stored()["messages"]) == 1
    assert [e["status"] for e in devflow.log()] == [503, 503, 202]
    assert devflow.control("GET", "/faults").json() == {"faults": []}


def test_fault_body_and_path_prefix(devflow):
    fault(devflow, status=429, path="/messages", body={"message": "slow down"}, retry_after=1)
    assert devflow.post("/flows/acme/main/messages", MESSAGE).status_code == 202
    r = devflow.post("/messages", {**MESSAGE, "flow_token": FLOW_TOKEN}, auth=None)
    assert (r.status_code, r.json(), r.headers["Retry-After"]) == (429, {"message": "slow down"}, "1")


def test_faults_fire_in_fifo_order_and_skip_controls_and_page(devflow):
    fault(devflow, status=500)
    fault(devflow, status=502)
    assert devflow.control("GET", "/health").json() == {"ok": True}
    assert devflow.http.get(devflow.url + "/").status_code == 200
    codes = [devflow.get("/flows/acme/main").status_code for _ in range(3)]
    assert codes == [500, 502, 200]


def test_delay_only_fault_slows_but_serves(devflow):
    fault(devflow, delay=0.4)
    started = time.monotonic()
    r = devflow.post("/flows/acme/main/messages", MESSAGE)
    assert r.status_code == 202 and time.monotonic() - started >= 0.4
    assert len(devflow.stored()["messages"]) == 1


def test_delayed_error_fault(devflow):
    fault(devflow, status=504, delay=0.3)
    started = time.monotonic()
    assert devflow.get("/flows/acme/main").status_code == 504
    assert time.monotonic() - started >= 0.3


def test_clear_faults_and_bad_fault_spec(devflow):
    fault(devflow, status=500, times=5)
    assert devflow.control("DELETE", "/faults").json() == {"faults": []}
    assert devflow.get("/flows/acme/main").status_code == 200
    bad = devflow.control("POST", "/faults", json={"status": 42, "times": 0})
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"status", "times"}
    assert devflow.control("POST", "/faults", json={}).status_code == 400


def test_request_log_shape_without_secrets(devflow):
    devflow.post("/flows/acme/main/messages", MESSAGE, auth=("devflow-token", "pw-ignored"))
    devflow.post("/flows/acme/main/messages", MESSAGE, auth=(JANE_EMAIL.encode(), JANE_PASSWORD.encode()))
    devflow.post("/messages", {**MESSAGE, "flow_token": FLOW_TOKEN}, auth=None, params={"flow_token": FLOW_TOKEN})
    devflow.post("/flows/acme/main/messages", MESSAGE, auth=("bad-token", ""))
    log = devflow.log()
    assert [e["auth"] for e in log] == [
        {"kind": "token", "user_id": 1, "valid": True},
        {"kind": "password", "user_id": 2, "valid": True},
        {"kind": "flow_token", "user_id": None, "valid": True},
        {"kind": "token", "user_id": None, "valid": False},
    ]
    assert [e["status"] for e in log] == [202, 202, 202, 401]
    first = log[0]
    assert (first["method"], first["path"], first["json"]) == ("POST", "/flows/acme/main/messages", MESSAGE)
    assert first["headers"]["Accept"] == "application/json"
    assert log[2]["json"]["flow_token"] == "***" and log[2]["query"] == {"flow_token": "***"}
    dumped = json.dumps(log)
    for secret in ("devflow-token", "pw-ignored", JANE_PASSWORD, FLOW_TOKEN, "bad-token", "Authorization"):
        assert secret not in dumped


def test_reset_clears_messages_requests_and_faults(devflow):
    devflow.say("before")
    fault(devflow, status=500, times=3)
    assert devflow.control("POST", "/reset").json() == {"ok": True}
    assert devflow.stored() == {"messages": [], "duplicates": 0}
    assert devflow.log() == []
    assert devflow.say("after")["content"] == "after"


def test_stored_messages_name_org_and_flow(devflow):
    devflow.say("hello")
    [message] = devflow.stored()["messages"]
    assert (message["org"], message["flow"], message["flow_id"], message["content"]) == ("acme", "main", "acme:main", "hello")


def test_stored_messages_since_an_id(devflow):
    first = devflow.say("one")
    devflow.say("two")
    assert [m["content"] for m in devflow.control("GET", "/messages", params={"since_id": first["id"]}).json()["messages"]] == ["two"]
    bad = devflow.control("GET", "/messages", params={"since_id": "-1"})
    assert bad.status_code == 400 and "since_id" in bad.json()["errors"]
