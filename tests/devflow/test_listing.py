"""GET /flows/:org/:flow/messages with limit, sort, since_id, until_id, event and tags."""

from __future__ import annotations

import pytest


@pytest.fixture
def ids(devflow):
    """Five chat messages and one status, tagged alternately; their ids in order."""
    made = [devflow.say(f"m{n}", tags=["even" if n % 2 == 0 else "odd", "all"])["id"] for n in range(5)]
    r = devflow.post("/flows/acme/main/messages", {"event": "status", "content": "away", "tags": "all"}, headers={"X-flowdock-wait-for-message": "true"})
    return made + [r.json()["id"]]


def listed(devflow, **params):
    r = devflow.get("/flows/acme/main/messages", params=params)
    assert r.status_code == 200, r.text
    return [m["id"] for m in r.json()]


def test_default_lists_everything_ascending(devflow, ids):
    assert listed(devflow) == ids


def test_limit_takes_newest_by_default_and_oldest_with_asc(devflow, ids):
    assert listed(devflow, limit=2) == ids[-2:]
    assert listed(devflow, limit=2, sort="desc") == ids[-2:]
    assert listed(devflow, limit=2, sort="asc") == ids[:2]


def test_since_and_until_are_exclusive(devflow, ids):
    assert listed(devflow, since_id=ids[1]) == ids[2:]
    assert listed(devflow, until_id=ids[3]) == ids[:3]
    assert listed(devflow, since_id=ids[0], until_id=ids[4]) == ids[1:4]
    assert listed(devflow, since_id=ids[0], limit=2, sort="asc") == ids[1:3]


def test_event_and_tag_filters(devflow, ids):
    assert listed(devflow, event="status") == ids[5:]
    assert listed(devflow, event="message,status") == ids
    assert listed(devflow, tags="even") == [ids[0], ids[2], ids[4]]
    assert listed(devflow, tags="#EVEN,all") == [ids[0], ids[2], ids[4]]
    assert listed(devflow, tags="even,odd") == []
    assert listed(devflow, tags="even,odd", tag_mode="or") == ids[:5]
    assert listed(devflow, search="M3") == [ids[3]]


def test_default_limit_is_30(devflow):
    for n in range(32):
        devflow.post("/flows/acme/main/messages", {"event": "message", "content": str(n)})
    contents = [m["content"] for m in devflow.get("/flows/acme/main/messages").json()]
    assert contents == [str(n) for n in range(2, 32)]


@pytest.mark.parametrize(
    "params, field", [({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"limit": "x"}, "limit"), ({"sort": "up"}, "sort"), ({"since_id": "-1"}, "since_id")]
)
def test_bad_parameters_are_validation_errors(devflow, params, field):
    r = devflow.get("/flows/acme/main/messages", params=params)
    assert r.status_code == 400 and list(r.json()["errors"]) == [field]


def test_listing_needs_user_auth(devflow):
    assert devflow.get("/flows/acme/main/messages", auth=None).status_code == 401
