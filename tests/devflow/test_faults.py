"""Random faults: seeded chances of a 5xx, a 429 with Retry-After, and a delay past the client's timeout."""

from __future__ import annotations

import pytest
import requests

from tests.support import wait_until

from .conftest import JSON_ACCEPT, TOKEN

MESSAGE = {"event": "message", "content": "x"}
MESSAGES = "/flows/acme/main/messages"


def set_random(devflow, **profile) -> dict:
    r = devflow.control("PUT", "/faults/random", json=profile)
    assert r.status_code == 200, r.text
    return r.json()["random"]


def post_statuses(devflow, count: int) -> list[int]:
    return [devflow.post(MESSAGES, MESSAGE).status_code for _ in range(count)]


def test_each_kind_is_drawn_at_about_its_chance_and_counted(devflow):
    set_random(devflow, seed=11, error=0.2, throttle=0.1, retry_after=2)
    answers = [devflow.post(MESSAGES, MESSAGE) for _ in range(400)]
    statuses = [r.status_code for r in answers]
    errors, throttled, accepted = sum(s >= 500 for s in statuses), statuses.count(429), statuses.count(202)
    # Seeded, so these figures are the same on every run; the bounds only say the chances hold.
    assert 50 <= errors <= 110 and 20 <= throttled <= 60 and errors + throttled + accepted == 400
    assert {s for s in statuses if s >= 500} <= {500, 502, 503, 504}
    assert all(r.headers["Retry-After"] == "2" for r in answers if r.status_code == 429)
    assert all("Retry-After" not in r.headers for r in answers if r.status_code != 429)
    assert len(devflow.stored()["messages"]) == accepted
    drawn = devflow.control("GET", "/faults/random").json()["random"]["drawn"]
    assert drawn == {"requests": 400, "error": errors, "throttle": throttled, "timeout": 0}


def test_the_same_seed_replays_the_same_faults(devflow):
    set_random(devflow, seed=5, error=0.3, throttle=0.2, error_statuses=[500, 503])
    first = post_statuses(devflow, 60)
    set_random(devflow, seed=5, error=0.3, throttle=0.2, error_statuses=[500, 503])
    assert post_statuses(devflow, 60) == first
    set_random(devflow, seed=6, error=0.3, throttle=0.2, error_statuses=[500, 503])
    assert post_statuses(devflow, 60) != first


def test_a_timeout_outlasts_the_client_and_the_post_is_stored_anyway(devflow):
    set_random(devflow, seed=1, timeout=1.0, timeout_delay=0.6)
    with pytest.raises(requests.Timeout):
        requests.post(devflow.url + MESSAGES, json={**MESSAGE, "uuid": "late-1"}, auth=(TOKEN, ""), headers=JSON_ACCEPT, timeout=0.2)
    wait_until(lambda: len(devflow.stored()["messages"]) == 1, 5, what="the slow post to be stored")
    devflow.control("DELETE", "/faults/random")
    # The client's retry carries the same uuid: devflow keeps one message.
    assert devflow.post(MESSAGES, {**MESSAGE, "uuid": "late-1"}).status_code == 202
    assert (len(devflow.stored()["messages"]), devflow.stored()["duplicates"]) == (1, 1)


def test_queued_faults_come_first_and_path_and_method_scope_the_profile(devflow):
    set_random(devflow, seed=2, error=1.0, path=MESSAGES, method="post")
    devflow.control("POST", "/faults", json={"status": 418})
    assert devflow.get("/flows/acme/main").status_code == 418  # the queued fault, on any request
    assert devflow.get("/flows/acme/main").status_code == 200  # a GET is outside the profile
    assert devflow.post(MESSAGES, MESSAGE).status_code >= 500
    profile = devflow.control("GET", "/faults/random").json()["random"]
    assert (profile["method"], profile["path"], profile["drawn"]["requests"]) == ("POST", MESSAGES, 1)


def test_an_unseeded_profile_reports_the_seed_it_chose(devflow):
    profile = set_random(devflow, error=0.5)
    assert isinstance(profile["seed"], int)
    assert (profile["throttle"], profile["timeout"], profile["retry_after"]) == (0.0, 0.0, "1")


@pytest.mark.parametrize(
    "profile, fields",
    [
        ({"error": 0.6, "throttle": 0.5}, {"error", "throttle"}),
        ({"error": 1.5, "throttle": -0.1}, {"error", "throttle"}),
        ({"timeout": 0.1}, {"timeout_delay"}),
        ({"timeout": 0.1, "timeout_delay": 600}, {"timeout_delay"}),
        ({"error": 0.1, "error_statuses": [404]}, {"error_statuses"}),
        ({"seed": "seven", "retry_after": [1]}, {"seed", "retry_after"}),
        ({"errors": 0.1, "path": "flows"}, {"errors", "path"}),
    ],
)
def test_a_bad_profile_is_refused_naming_each_field(devflow, profile, fields):
    r = devflow.control("PUT", "/faults/random", json=profile)
    assert r.status_code == 400 and set(r.json()["errors"]) == fields, r.text
    assert devflow.control("GET", "/faults/random").json() == {"random": None}


@pytest.mark.parametrize("how", [("DELETE", "/faults/random"), ("DELETE", "/faults"), ("POST", "/reset")])
def test_deleting_faults_or_resetting_removes_the_profile(devflow, how):
    set_random(devflow, seed=3, error=1.0)
    assert devflow.control(*how).status_code == 200
    assert devflow.control("GET", "/faults/random").json() == {"random": None}
    assert post_statuses(devflow, 5) == [202] * 5
