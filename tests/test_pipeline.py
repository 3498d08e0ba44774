"""The worker's logic with a real Redis and a real devflow: render, deliver, retry, dead-letter."""

from __future__ import annotations

import pytest
import requests

from bridge import build_services, pipeline
from bridge.config import parse_config
from bridge.store import Event, delivery_id_for
from bridge.targets.flowdock import message_uuid
from tests.support import FIXTURES, fixture_bytes, process_event

CONFIG = """\
api_url: {url}
delivery: {{max_attempts: 3, backoff_base: 0.1, backoff_cap: 1}}
targets:
  team-chat: {{org: acme, flow: main, token: devflow-token}}
  team-inbox: {{flow_token: devflow-flow-token, external_user_name: hookdock}}
  wrong: {{org: acme, flow: main, token: wrong-token}}
routes:
  widgets: {{source: github, secret: s, targets: [team-chat, team-inbox], tags: [widgets]}}
  broken: {{source: github, secret: s, targets: [wrong]}}
"""


@pytest.fixture
def services(chat, redis_url):
    return build_services(parse_config(CONFIG.format(url=chat.url)), redis_url)


def stored(chat):
    return requests.get(f"{chat.url}/_devflow/messages", timeout=5).json()


def accept(services, fixture="push__many_commits", event="push", route="widgets", event_id="e1"):
    headers = {"Content-Type": "application/json", "X-GitHub-Event": event}
    services.store.save_event(Event(event_id, route, "github", event, "d-" + event_id, headers, fixture_bytes("github", fixture)))
    return event_id


def test_event_becomes_one_delivery_per_target_and_each_arrives_once(services, chat):
    pending = process_event(services, accept(services))
    assert pending == [delivery_id_for("e1", "team-chat"), delivery_id_for("e1", "team-inbox")]
    for delivery_id in pending:
        assert pipeline.attempt(services, delivery_id) is None
        assert services.store.load_delivery(delivery_id).status == "delivered"
    chat_message, activity = stored(chat)["messages"]
    expected = (FIXTURES / "github" / "push__many_commits.txt").read_text().rstrip("\n")
    assert (chat_message["event"], chat_message["content"]) == ("message", expected)
    assert chat_message["uuid"] == message_uuid("e1", "team-chat")
    assert chat_message["tags"] == ["github", "push", "widgets"]
    # The flow-token target gets the branch's thread, with an activity line for this push.
    assert (activity["event"], activity["title"], activity["uuid"]) == ("activity", "pushed 7 commits", message_uuid("e1", "team-inbox"))
    assert activity["external_thread_id"] == "github:Codertocat/Hello-World:branch:master"
    assert activity["thread"]["status"] == {"value": "active", "color": "blue"}
    assert services.store.load_event("e1").status == "processed"


def test_processing_twice_and_delivering_twice_posts_once(services, chat):
    accept(services)
    pending = process_event(services, "e1")
    pipeline.attempt(services, pending[0])
    assert process_event(services, "e1") == []  # a stale task finds the event settled
    services.store.mark_event("e1", "queued", "replayed")
    assert process_event(services, "e1") == [pending[1]]  # the delivered one is not queued again
    assert pipeline.attempt(services, pending[0]) is None
    assert len(stored(chat)["messages"]) == 1


def test_ignored_event_is_recorded_with_its_reason(services, chat):
    accept(services, fixture="watch__started", event="watch")
    assert process_event(services, "e1") == []
    event = services.store.load_event("e1")
    assert (event.status, event.reason) == ("ignored", "watch action 'started' is shown only when a route's events names it")


def services_with_override(chat, redis_url, folder, templates: dict[str, str], fallback=False):
    """Services whose widgets route has its own template folder, holding these github/ templates."""
    (folder / "github").mkdir()
    for name, text in templates.items():
        (folder / "github" / name).write_text(text)
    config = CONFIG.format(url=chat.url).replace("tags: [widgets]}", f"tags: [widgets], templates_dir: {folder}}}")
    return build_services(parse_config(config + f"templates_fallback: {str(fallback).lower()}\n"), redis_url)


def test_template_failure_keeps_the_event_with_the_reason(chat, redis_url, tmp_path):
    services = services_with_override(chat, redis_url, tmp_path, {"push.txt": "{{ 1 // 0 }}"})
    accept(services)
    assert process_event(services, "e1") == []
    event = services.store.load_event("e1")
    assert event.status == "failed" and "push.txt:1: ZeroDivisionError" in event.reason


def test_a_failing_override_falls_back_to_the_built_in_template_when_configured(chat, redis_url, tmp_path):
    services = services_with_override(chat, redis_url, tmp_path, {"push.txt": "{{ 1 // 0 }}"}, fallback=True)
    accept(services)
    [chat_delivery, _] = process_event(services, "e1")
    expected = (FIXTURES / "github" / "push__many_commits.txt").read_text().rstrip("\n")
    assert services.store.load_delivery(chat_delivery).message["content"] == expected
    event = services.store.load_event("e1")
    assert event.status == "processed" and "push.txt:1: ZeroDivisionError" in event.reason and "used the built-in template" in event.reason


def test_a_route_override_changes_only_that_event(chat, redis_url, tmp_path):
    services = services_with_override(chat, redis_url, tmp_path, {"push.txt": "{{ sender.login }} pushed to {{ ref_name }}"})
    accept(services)
    [chat_delivery, _] = process_event(services, "e1")
    assert services.store.load_delivery(chat_delivery).message["content"] == "Codertocat pushed to master"


def test_transient_failures_are_retried_then_delivered(services, chat):
    requests.post(f"{chat.url}/_devflow/faults", json={"status": 503, "times": 2}, timeout=5)
    [chat_delivery, _] = process_event(services, accept(services))
    waits = [pipeline.attempt(services, chat_delivery) for _ in range(3)]
    assert waits[0] > 0 and waits[1] > 0 and waits[2] is None
    delivery = services.store.load_delivery(chat_delivery)
    assert delivery.status == "delivered"
    assert [a["status"] for a in delivery.attempts] == [503, 503, 202]


def test_permanent_failure_is_a_dead_letter_after_one_attempt(services, chat):
    [delivery_id] = process_event(services, accept(services, route="broken"))
    assert pipeline.attempt(services, delivery_id) is None
    delivery = services.store.load_delivery(delivery_id)
    assert (delivery.status, delivery.last_status, len(delivery.attempts)) == ("failed", 401, 1)
    assert "wrong: HTTP 401 is permanent" in delivery.last_error
    assert "wrong-token" not in str(vars(delivery))
    assert [d.id for d in services.store.list_deliveries(failed=True)] == [delivery_id]


def test_running_out_of_attempts_is_a_dead_letter(services, chat):
    requests.post(f"{chat.url}/_devflow/faults", json={"status": 500, "times": 5}, timeout=5)
    [chat_delivery, _] = process_event(services, accept(services))
    waits = [pipeline.attempt(services, chat_delivery) for _ in range(3)]
    assert waits[2] is None
    delivery = services.store.load_delivery(chat_delivery)
    assert (delivery.status, len(delivery.attempts)) == ("failed", 3)
    assert "gave up after 3 attempts" in delivery.last_error


@pytest.mark.parametrize(
    "attempts, retry_after, low, high", [(1, None, 0.05, 0.1), (3, None, 0.2, 0.4), (10, None, 0.5, 1.0), (1, 0.8, 0.8, 0.8), (1, 99, 1.0, 1.0)]
)
def test_backoff_grows_with_jitter_honours_retry_after_and_stays_under_the_cap(services, attempts, retry_after, low, high):
    policy = services.config.delivery
    waits = {pipeline.backoff(attempts, retry_after, policy) for _ in range(50)}
    assert all(low <= w <= high for w in waits)


def test_a_target_over_its_pace_is_put_back_without_spending_an_attempt(chat, redis_url):
    paced = CONFIG.replace("token: devflow-token}}", "token: devflow-token, rate_limit: {{per_second: 0.1, burst: 1}}}}", 1)
    services = build_services(parse_config(paced.format(url=chat.url)), redis_url)
    accept(services, event_id="e1")
    accept(services, event_id="e2")
    [first, _] = process_event(services, "e1")
    [second, _] = process_event(services, "e2")
    assert pipeline.attempt(services, first) is None
    wait = pipeline.attempt(services, second)
    assert wait == services.config.delivery.backoff_cap  # the 10 s pace, capped
    delivery = services.store.load_delivery(second)
    assert (delivery.status, delivery.attempts) == ("pending", [])


def test_the_first_slot_reserved_with_the_writes_paces_as_the_limiter_does(chat, redis_url):
    paced = CONFIG.replace("token: devflow-token}}", "token: devflow-token, rate_limit: {{per_second: 0.1, burst: 1}}}}", 1)
    services = build_services(parse_config(paced.format(url=chat.url)), redis_url)
    tries = []
    for event_id in ("e1", "e2"):
        accept(services, event_id=event_id)
        saved: dict = {}
        reserved: dict[str, float] = {}
        first, _ = pipeline.process_loaded(services, event_id, services.store.load_event(event_id), None, "w1", saved, {}, reserved)
        assert list(reserved) == [first]  # the first delivery's only, made with the writes
        tries.append((first, reserved[first], pipeline.attempt(services, first, saved[first], reserved=reserved[first])))
    (_, wait, put_back), (second, later, again) = tries
    assert (wait, put_back) == (0.0, None)  # posted at once
    assert later > pipeline.MAX_PACING_SLEEP and again == services.config.delivery.backoff_cap  # the 10 s pace, capped
    delivery = services.store.load_delivery(second)
    assert (delivery.status, delivery.attempts) == ("pending", [])


def threads(chat) -> list[dict]:
    response = requests.get(f"{chat.url}/flows/acme/main/threads", auth=("devflow-token", ""), headers={"Accept": "application/json"}, timeout=5)
    return response.json()


def save_at(services, fixture, event, event_id, arrived_at):
    headers = {"Content-Type": "application/json", "X-GitHub-Event": event}
    services.store.save_event(Event(event_id, "widgets", "github", event, "d-" + event_id, headers, fixture_bytes("github", fixture), received_at=arrived_at))


@pytest.mark.parametrize("process_order", [("older", "newer"), ("newer", "older")])
def test_a_thread_shows_its_newest_event_whatever_the_order_of_delivery(services, chat, process_order):
    save_at(services, "pull_request__opened", "pull_request", "older", 1000.0)
    save_at(services, "pull_request__merged", "pull_request", "newer", 2000.0)
    inbox = {}
    for event_id in process_order:
        inbox[event_id] = process_event(services, event_id, only_target="team-inbox")[0]
    # The newer event is delivered first; the older one arrives last and must not roll the thread back.
    pipeline.attempt(services, inbox["newer"])
    pipeline.attempt(services, inbox["older"])
    [thread] = threads(chat)
    assert thread["status"] == {"value": "merged", "color": "purple"}
    titles = [m["title"] for m in stored(chat)["messages"]]
    assert titles == ["merged pull request into master", "opened pull request"]


def test_a_failing_override_of_a_macro_file_also_falls_back(chat, redis_url, tmp_path):
    services = services_with_override(chat, redis_url, tmp_path, {"thread_fields.json": "{% set branch = [('Broken', 1 // 0)] %}"}, fallback=True)
    accept(services)
    [_, inbox] = process_event(services, "e1")
    assert services.store.load_delivery(inbox).message["thread"]["title"] == "branch master of Codertocat/Hello-World"
    assert "thread_fields.json:1: ZeroDivisionError" in services.store.load_event("e1").reason


def test_a_payload_of_unexpected_shape_fails_visibly_and_can_be_replayed(services, chat, monkeypatch):
    # Built-in sources and templates take fields of any shape now; a source that still trips over one must fail visibly.
    monkeypatch.setattr("bridge.sources.github.context", lambda event, payload: payload["ref"]["name"])
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push"}
    services.store.save_event(Event("odd", "widgets", "github", "push", "d-odd", headers, b'{"ref": ["x"], "repository": [1], "action": [2]}'))
    assert process_event(services, "odd") == []
    event = services.store.load_event("odd")
    assert event.status == "failed" and event.reason.startswith("could not process the payload: ")
    assert services.store.failed_since(0) == (["odd"], [])


def test_a_bug_while_posting_dead_letters_the_delivery(services, chat, monkeypatch):
    [first, _] = process_event(services, accept(services))

    def broken(*args, **kwargs):
        raise TypeError("unexpected")

    monkeypatch.setattr(pipeline.targets, "send", broken)
    assert pipeline.attempt(services, first) is None
    delivery = services.store.load_delivery(first)
    assert delivery.status == "failed" and "TypeError: unexpected" in delivery.last_error


def test_a_lone_surrogate_in_a_branch_name_is_delivered_not_stuck(services, chat):
    body = fixture_bytes("github", "push__many_commits").replace(b'"refs/heads/master"', b'"refs/heads/\\ud800"', 1)
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push"}
    services.store.save_event(Event("odd", "widgets", "github", "push", "d-odd", headers, body))
    pending = process_event(services, "odd")
    assert services.store.load_event("odd").status == "processed"
    assert [pipeline.attempt(services, d) for d in pending] == [None, None]
    assert [services.store.load_delivery(d).status for d in pending] == ["delivered", "delivered"]


def test_a_template_that_renders_nothing_is_a_recorded_render_failure(chat, redis_url, tmp_path):
    services = services_with_override(chat, redis_url, tmp_path, {"push.txt": "{% if false %}never{% endif %}\n  \n"})
    accept(services)
    assert process_event(services, "e1") == []
    event = services.store.load_event("e1")
    assert event.status == "failed" and event.reason.startswith("template error: ") and "push.txt: rendered empty content" in event.reason
    assert services.store.failed_since(0) == (["e1"], [])
    assert stored(chat)["messages"] == []
