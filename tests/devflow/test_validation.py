"""Body validation: the Flowdock error shape, every problem reported at once, tags and uuids."""

from __future__ import annotations

from .conftest import FLOW_TOKEN, activity

WAIT = {"X-flowdock-wait-for-message": "true"}


def post(devflow, body, **kwargs):
    return devflow.post("/flows/acme/main/messages", body, **kwargs)


def test_missing_event_and_content_are_reported_together(devflow):
    r = post(devflow, {"tags": 7, "uuid": 12, "external_user_name": " "})
    assert r.status_code == 400
    assert r.json() == {
        "message": "Validation error",
        "errors": {
            "event": ["can't be blank"],
            "tags": ["must be a list of strings or a comma-separated string"],
            "uuid": ["must be a string"],
            "external_user_name": ["can't be blank"],
        },
    }


def test_unknown_event(devflow):
    r = post(devflow, {"event": "shout", "content": "x"})
    assert r.json()["errors"] == {"event": ["is not included in the list"]}


def test_blank_content(devflow):
    for content in (None, "", "   "):
        body = {"event": "message"} if content is None else {"event": "message", "content": content}
        assert post(devflow, body).json()["errors"] == {"content": ["can't be blank"]}
    assert devflow.stored()["messages"] == []


def test_content_limit_is_8096_characters(devflow):
    exact = post(devflow, {"event": "message", "content": "é" * 8096})
    over = post(devflow, {"event": "message", "content": "é" * 8097})
    assert exact.status_code == 202
    assert (over.status_code, over.json()["errors"]) == (400, {"content": ["is too long (maximum is 8096 characters)"]})


def test_activity_problems_are_all_reported(devflow):
    body = {
        "event": "activity",
        "title": "",
        "author": {},
        "external_thread_id": "gh:9",
        "thread": {"status": {"value": "open", "color": "pink"}, "fields": [{"label": "x"}], "external_url": "javascript:alert(1)"},
    }
    errors = post(devflow, body).json()["errors"]
    assert errors == {
        "title": ["can't be blank"],
        "author.name": ["can't be blank"],
        "thread.title": ["can't be blank"],
        "thread.status.color": ["is not included in the list"],
        "thread.fields": ["must be a list of objects with string label and value"],
        "thread.external_url": ["is not a valid http(s) URL"],
    }


def test_activity_needs_a_thread_reference(devflow):
    r = post(devflow, {"event": "discussion", "title": "commented", "author": {"name": "a"}})
    assert r.json()["errors"] == {"external_thread_id": ["can't be blank"]}


def test_new_external_thread_needs_thread_state(devflow):
    body = activity("gh:1")
    del body["thread"]
    r = post(devflow, body)
    assert (r.status_code, r.json()["errors"]) == (400, {"thread": ["can't be blank"]})
    body["title"] = ""
    assert post(devflow, body).json()["errors"] == {"title": ["can't be blank"], "thread": ["can't be blank"]}


def test_known_external_thread_accepts_messages_without_state(devflow):
    assert post(devflow, activity("gh:1")).status_code == 202
    r = post(devflow, {"event": "message", "content": "me too", "external_thread_id": "gh:1"}, headers=WAIT)
    assert r.status_code == 200 and r.json()["thread"]["status"]["value"] == "open"


def test_every_status_color_is_accepted(devflow):
    colors = ["red", "green", "yellow", "cyan", "orange", "grey", "black", "lime", "purple", "blue"]
    for n, color in enumerate(colors):
        assert post(devflow, activity(f"gh:{n}", color=color)).status_code == 202, color


def test_comment_event_outside_comment_url_needs_parent(devflow):
    r = post(devflow, {"event": "comment", "content": "x"})
    assert r.json()["errors"] == {"message": ["can't be blank"]}
    parent = devflow.say("parent")
    ok = post(devflow, {"event": "comment", "content": "x", "message": parent["id"]}, headers=WAIT)
    assert ok.status_code == 200 and f"influx:{parent['id']}" in ok.json()["tags"]


def test_file_event(devflow):
    body = {"event": "file", "content": {"data": "aGVsbG8=", "content_type": "text/plain", "file_name": "a.txt"}}
    r = post(devflow, body, headers=WAIT)
    assert r.status_code == 200 and r.json()["content"]["file_size"] == 5
    assert post(devflow, {"event": "file", "content": "x"}).status_code == 400


def test_tags_are_normalised_like_flowdock(devflow):
    as_string = devflow.say("x", tags="#Build, deploy,@dev,@all,, build")
    as_list = devflow.say("y", tags=["#Build", "@nobody"])
    assert as_string["tags"] == ["Build", "deploy", ":user:1", ":user:everyone"]
    assert as_list["tags"] == ["Build", "@nobody"]


def test_external_user_name_may_hold_spaces(devflow):
    assert devflow.say("x", external_user_name="Jane Doe")["external_user_name"] == "Jane Doe"


def test_uuid_repeats_store_once_and_are_counted(devflow):
    body = {"event": "message", "content": "once", "uuid": "delivery-1"}
    first = post(devflow, body, headers=WAIT)
    again = post(devflow, body, headers=WAIT)
    quiet = post(devflow, body)
    assert (first.status_code, again.status_code, quiet.status_code) == (200, 200, 202)
    assert again.json()["id"] == first.json()["id"]
    stored = devflow.stored()
    assert len(stored["messages"]) == 1 and stored["duplicates"] == 2
    assert stored["messages"][0]["duplicates"] == 2
    assert [e["duplicate"] for e in devflow.log()] == [False, True, True]


def test_uuid_is_scoped_per_flow(devflow):
    body = {"event": "message", "content": "x", "uuid": "same"}
    post(devflow, body)
    devflow.post("/messages", {**body, "flow_token": "ops-flow-token"}, auth=None)
    devflow.post("/messages", {**body, "flow_token": FLOW_TOKEN}, auth=None)
    stored = devflow.stored()
    assert [m["flow"] for m in stored["messages"]] == ["main", "ops"] and stored["duplicates"] == 1
