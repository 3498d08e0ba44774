"""Inspecting and replaying, with a real Redis and a real devflow."""

from __future__ import annotations

import json

import pytest
import redis

from bridge import admin, create_app, pipeline
from bridge.config import parse_config
from bridge.store import Event
from tests.support import process_event, queued

CONFIG = """\
api_url: {url}
delivery: {{max_attempts: 2, backoff_base: 0.05, backoff_cap: 0.1}}
targets:
  team-chat: {{org: acme, flow: main, token: devflow-token}}
  other: {{org: acme, flow: main, token: devflow-token}}
routes:
  widgets: {{source: github, secret: s, targets: [team-chat, other]}}
"""
PING = json.dumps({"zen": "Half measures are as bad as nothing at all.", "hook_id": 9}).encode()


@pytest.fixture
def app(chat, redis_url):
    return create_app(parse_config(CONFIG.format(url=chat.url)), redis_url)


@pytest.fixture
def services(app):
    return app.extensions["hookdock"]


def save(services, event_id="e1"):
    services.store.save_event(
        Event(event_id, "widgets", "github", "ping", "d-" + event_id, {"Content-Type": "application/json", "X-GitHub-Event": "ping"}, PING)
    )


def test_replaying_an_event_queues_all_its_targets(app, services, redis_url):
    save(services)
    assert admin.replay(services, "e1") == {"replayed": "e1", "targets": ["team-chat", "other"]}
    assert queued(redis_url) == [("hookdock.process_event", ["e1"], {"only_target": None})]


def test_replaying_a_delivery_queues_only_its_target(app, services, redis_url):
    save(services)
    admin.replay(services, "e1.other")
    assert queued(redis_url) == [("hookdock.process_event", ["e1"], {"only_target": "other"})]


@pytest.mark.parametrize("item, words", [("nope", "no event 'nope'"), ("e1.nowhere", "does not go to target 'nowhere'")])
def test_replaying_what_does_not_exist_says_so(app, services, item, words):
    save(services)
    with pytest.raises(admin.NotFound, match=words):
        admin.replay(services, item)


def test_a_dead_letter_replayed_after_the_fix_is_delivered_with_a_fresh_round(app, services, chat):
    import requests

    requests.post(f"{chat.url}/_devflow/faults", json={"status": 500, "times": 2}, timeout=5)
    save(services)
    first, _ = process_event(services, "e1")
    while pipeline.attempt(services, first) is not None:
        pass
    assert services.store.load_delivery(first).status == "failed"

    admin.replay(services, first)
    assert process_event(services, "e1", only_target="team-chat") == [first]
    assert pipeline.attempt(services, first) is None
    delivery = services.store.load_delivery(first)
    assert (delivery.status, [a["status"] for a in delivery.attempts], delivery.round_start) == ("delivered", [500, 500, 202], 2)
    assert services.store.list_deliveries(failed=True) == []


def test_replay_failed_takes_failed_events_and_dead_letters_since_a_time(app, services, redis_url):
    save(services, "e1")
    save(services, "e2")
    services.store.mark_event("e1", "failed", "template error")
    services.store.save_delivery(pipeline.Delivery("e2.other", "e2", "widgets", "other", {}, status="failed"))
    assert admin.replay_failed(services, since=0) == ["e1", "e2.other"]
    assert admin.replay_failed(services, since=admin.parse_since("1h") + 7200) == []


@pytest.mark.parametrize("text, expected", [("30m", 1000 - 1800), ("2h", 1000 - 7200), ("1.5d", 1000 - 129600), (None, 0.0)])
def test_parse_since_durations(text, expected):
    assert admin.parse_since(text, now=1000) == expected


def test_parse_since_iso_time_and_errors():
    assert admin.parse_since("2026-11-28T09:00:00+00:00") == 1795856400.0
    with pytest.raises(ValueError, match="use a duration like 30m"):
        admin.parse_since("yesterday")


def test_event_view_leaves_out_the_body_and_lists_deliveries(services):
    save(services)
    process_event(services, "e1")
    view = admin.event_view(services, "e1")
    assert "body" not in view and view["status"] == "processed"
    assert [d["target"] for d in view["deliveries"]] == ["team-chat", "other"]


def test_replay_failed_skips_what_has_expired(app, services, redis_url):
    save(services, "e1")
    services.store.mark_event("e1", "failed", "template error")
    save(services, "gone")
    services.store.mark_event("gone", "failed", "template error")
    redis.Redis.from_url(redis_url).delete("hookdock:event:gone")
    assert admin.replay_failed(services, since=0) == ["e1"]
    assert services.store.load_event("gone") is None


def deliver_all(services, event_id="e1"):
    for delivery_id in process_event(services, event_id):
        while pipeline.attempt(services, delivery_id) is not None:
            pass


@pytest.mark.parametrize("item", ["e1", "e1.other"])
def test_replaying_what_was_delivered_is_refused_and_queues_nothing(app, services, chat, redis_url, item):
    save(services)
    deliver_all(services)
    with pytest.raises(admin.Refused, match=f"^{item}: nothing to replay: already delivered to "):
        admin.replay(services, item)
    assert queued(redis_url) == []
    assert services.store.load_event("e1").status == "processed"


def test_replaying_an_event_delivered_to_one_target_and_failed_at_another_retries_only_the_failure(app, services, chat, redis_url):
    import requests

    save(services)
    [first, second] = process_event(services, "e1")
    pipeline.attempt(services, first)
    requests.post(f"{chat.url}/_devflow/faults", json={"status": 400, "times": 1}, timeout=5)
    pipeline.attempt(services, second)
    assert admin.replay(services, "e1") == {"replayed": "e1", "targets": ["other"]}
    assert process_event(services, "e1") == [second]  # what the queued task does
    assert pipeline.attempt(services, second) is None
    assert len(requests.get(f"{chat.url}/_devflow/messages", timeout=5).json()["messages"]) == 2


def test_replaying_a_delivery_still_being_tried_is_refused(app, services, chat, redis_url):
    import requests

    requests.post(f"{chat.url}/_devflow/faults", json={"status": 503, "times": 1}, timeout=5)
    save(services)
    [first, _] = process_event(services, "e1")
    assert pipeline.attempt(services, first) is not None  # retrying
    with pytest.raises(admin.Refused, match="still being delivered to team-chat"):
        admin.replay(services, first)
