"""Threads: created by external_thread_id, state replaced by newer messages, listed and scoped."""

from __future__ import annotations

from .conftest import FLOW_TOKEN, activity

WAIT = {"X-flowdock-wait-for-message": "true"}


def source_post(devflow, body):
    r = devflow.post("/messages", {"flow_token": FLOW_TOKEN, **body}, auth=None, headers=WAIT)
    assert r.status_code == 200, r.text
    return r.json()


def test_newer_state_replaces_the_thread(devflow):
    opened = source_post(devflow, activity("gh:42"))
    merged = source_post(
        devflow,
        activity(
            "gh:42", status="merged", color="purple", thread={"title": "Fix the flux capacitor (merged)", "status": {"value": "merged", "color": "purple"}}
        ),
    )
    assert merged["thread_id"] == opened["thread_id"]
    thread = devflow.get(f"/flows/acme/main/threads/{opened['thread_id']}").json()
    assert thread["title"] == "Fix the flux capacitor (merged)"
    assert thread["status"] == {"value": "merged", "color": "purple"}
    # Replaced, not merged: what the newer state left out is gone.
    assert (thread["external_url"], thread["fields"], thread["body"]) == (None, [], None)
    assert thread["message_ids"] == [opened["id"], merged["id"]] and thread["external_id"] == "gh:42"
    assert thread["activities"] == 2
    first = devflow.get(f"/flows/acme/main/messages/{opened['id']}").json()
    assert first["thread"]["status"]["value"] == "merged"
    sent = {m["id"]: m["sent_thread"] for m in devflow.stored()["messages"]}
    assert sent[opened["id"]]["status"]["value"] == "open"


def test_thread_listing(devflow):
    a = source_post(devflow, activity("gh:1"))
    b = source_post(devflow, activity("gh:2"))
    source_post(devflow, {"event": "discussion", "title": "commented", "author": {"name": "x"}, "external_thread_id": "gh:1", "body": "first!"})
    threads = devflow.get("/flows/acme/main/threads")
    assert threads.status_code == 200 and threads.headers["Flowdock-User"] == "1"
    listed = threads.json()
    assert [t["id"] for t in listed] == [a["thread_id"], b["thread_id"]]  # most recently updated first
    assert listed[0]["external_comments"] == 1 and len(listed[0]["message_ids"]) == 2
    in_thread = devflow.get(f"/flows/acme/main/threads/{a['thread_id']}/messages").json()
    assert [m["event"] for m in in_thread] == ["activity", "discussion"]
    assert devflow.get("/flows/acme/main/threads/nope").status_code == 404


def test_external_thread_ids_are_scoped_per_flow_and_source(devflow):
    from_source = source_post(devflow, activity("gh:1"))
    r = devflow.post("/flows/acme/main/messages", activity("gh:1"), headers=WAIT)
    other_flow = devflow.post("/messages", {"flow_token": "ops-flow-token", **activity("gh:1")}, auth=None, headers=WAIT)
    ids = {from_source["thread_id"], r.json()["thread_id"], other_flow.json()["thread_id"]}
    assert len(ids) == 3
    assert len(devflow.get("/flows/acme/main/threads").json()) == 2


def test_thread_id_in_body_joins_existing_thread(devflow):
    opened = source_post(devflow, activity("gh:1"))
    r = devflow.post("/flows/acme/main/messages", {"event": "message", "content": "ok", "thread_id": opened["thread_id"]}, headers=WAIT)
    assert r.json()["thread_id"] == opened["thread_id"]
    assert r.json()["thread"]["internal_comments"] == 1
