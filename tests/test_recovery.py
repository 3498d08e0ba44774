"""Recovery: work whose task was lost with its worker is found and queued again."""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime

import pytest
import redis

from bridge import create_app, liveness, recovery, sequence
from bridge.config import parse_config
from bridge.store import Delivery, Event
from tests.support import github_headers, queued

CONFIG = """\
api_url: http://127.0.0.1:9
delivery: {visibility_timeout: 60, backoff_cap: 10, timeout: 5}
targets:
  team-chat: {org: acme, flow: main, token: tok}
routes:
  widgets: {source: github, secret: s, targets: [team-chat]}
"""
PING = b'{"zen": "Keep it logically awesome.", "hook_id": 1}'
LATER = time.time() + 3600


@pytest.fixture
def app(redis_url):
    return create_app(parse_config(CONFIG), redis_url)


def sweep(app, now=LATER):
    app.extensions["hookdock"].store.redis.delete(recovery.LOCK)
    return recovery.sweep(app.extensions["hookdock"], app.extensions["celery"], now)


def test_an_accepted_event_whose_task_was_lost_is_queued_again(app, redis_url):
    store = app.extensions["hookdock"].store
    store.accept(Event("lost", "widgets", "github", "ping", "d-1", {}, b"{}"))
    assert sweep(app, now=time.time()) == ([], [])  # not stale yet: it may be waiting in the queue
    assert sweep(app) == (["lost"], [])
    assert queued(redis_url) == [("hookdock.process_event", ["lost"], {})]
    assert sweep(app, now=time.time() + 10) == ([], [])  # touched: not queued again at once


def test_settled_work_is_left_alone(app, redis_url):
    store = app.extensions["hookdock"].store
    store.accept(Event("done", "widgets", "github", "ping", "d-1", {}, b"{}"))
    store.mark_event("done", "processed")
    store.save_delivery(Delivery("done.team-chat", "done", "widgets", "team-chat", {}, status="delivered"))
    assert sweep(app) == ([], [])
    assert queued(redis_url) == []


def test_a_pending_delivery_tracked_by_nothing_is_queued_again_after_the_horizon(app, redis_url):
    # Unnumbered and unheld: left so by an older version or a Redis restart.
    app.extensions["hookdock"].store.save_delivery(Delivery("e1.team-chat", "e1", "widgets", "team-chat", {}, status="retrying"))
    assert sweep(app) == ([], ["e1.team-chat"])
    assert queued(redis_url) == [("hookdock.deliver", ["e1.team-chat"], {})]


def test_one_sweeper_at_a_time(app):
    app.extensions["hookdock"].store.accept(Event("lost", "widgets", "github", "ping", "d-1", {}, b"{}"))
    services, celery = app.extensions["hookdock"], app.extensions["celery"]
    services.store.redis.set(recovery.LOCK, "1", ex=60)
    assert recovery.sweep(services, celery, LATER) == ([], [])


def test_the_lock_lasts_the_whole_sweep_and_then_spaces_sweeps(app, monkeypatch):
    services, celery = app.extensions["hookdock"], app.extensions["celery"]
    client = services.store.redis
    client.delete(recovery.LOCK)
    during: list[int] = []
    real = recovery.recover

    def slow(*args):
        # A sweep may outlast SWEEP_SECONDS (a long backlog); another worker process must not start one meanwhile.
        during.append(client.pttl(recovery.LOCK))
        return real(*args)

    monkeypatch.setattr(recovery, "recover", slow)
    recovery.sweep(services, celery, LATER)
    assert during and min(during) > recovery.SWEEP_SECONDS * 1000, "the lock could expire while the sweep still runs"
    assert 0 < client.pttl(recovery.LOCK) <= recovery.SWEEP_SECONDS * 1000
    # Another sweeper's lock is never let go of by this one.
    client.set(recovery.LOCK, "theirs", px=60_000)
    client.eval(recovery.RELEASE, 1, recovery.LOCK, "mine", 0)
    assert client.get(recovery.LOCK) == b"theirs"


def test_work_held_by_a_dead_worker_is_queued_again_at_once_and_at_its_due_time(app, redis_url):
    store = app.extensions["hookdock"].store
    now = time.time()
    store.save_delivery(Delivery("e1.team-chat", "e1", "widgets", "team-chat", {}, status="retrying"))
    store.hold("deliveries", "e1.team-chat", "gone-worker", now + 30)  # its retry was due in 30 s
    store.accept(Event("e2", "widgets", "github", "ping", "d-2", {}, b"{}"))
    store.hold("events", "e2", "gone-worker", now)
    assert sweep(app, now=now) == (["e2"], ["e1.team-chat"])
    tasks = {json.loads(raw)["headers"]["task"]: json.loads(raw)["headers"]["eta"] for raw in redis.Redis.from_url(redis_url).lrange("celery", 0, -1)}
    assert datetime.fromisoformat(tasks["hookdock.deliver"]).timestamp() == pytest.approx(now + 30, abs=1)
    assert store.holdings("deliveries") == {} and store.holdings("events") == {}
    assert sweep(app, now=now) == ([], [])  # queued once, not on every sweep


def test_work_a_live_worker_holds_is_left_alone_until_long_overdue(app, redis_url):
    services = app.extensions["hookdock"]
    services.store.save_delivery(Delivery("e1.team-chat", "e1", "widgets", "team-chat", {}, status="retrying"))
    services.store.hold("deliveries", "e1.team-chat", "busy-worker", time.time() - 5)
    liveness.beat(services.store.redis, "busy-worker")
    assert sweep(app, now=time.time()) == ([], [])
    assert queued(redis_url) == []
    assert sweep(app, now=LATER) == ([], ["e1.team-chat"])  # its task is gone, though the worker is not


def test_a_worker_starting_its_consumer_again_queues_what_it_holds_but_dropped_at_its_due_time(app, redis_url):
    services, celery = app.extensions["hookdock"], app.extensions["celery"]
    store, me, now = services.store, liveness.identity(), time.time()
    for item in ("e1.team-chat", "e2.team-chat", "e3.team-chat"):
        store.save_delivery(Delivery(item, item[:2], "widgets", "team-chat", {}, status="retrying"))
    store.hold("deliveries", "e1.team-chat", me, now + 30)  # dropped with the lost connection
    store.hold("deliveries", "e2.team-chat", me, now + 30)  # still in hand
    store.hold("deliveries", "e3.team-chat", "another-worker", now + 30)  # not this worker's to take back
    assert recovery.take_back_dropped(services, celery, {("deliveries", "e2.team-chat")}, now) == ["e1.team-chat"]
    assert queued(redis_url) == [("hookdock.deliver", ["e1.team-chat"], {})]
    [raw] = redis.Redis.from_url(redis_url).lrange("celery", 0, -1)
    assert datetime.fromisoformat(json.loads(raw)["headers"]["eta"]).timestamp() == pytest.approx(now + 30, abs=1)
    assert set(store.holdings("deliveries")) == {"e2.team-chat", "e3.team-chat"}  # numbered: it waits in the queue, held by no one


def test_holds_on_settled_work_are_let_go(app):
    store = app.extensions["hookdock"].store
    store.save_delivery(Delivery("e1.team-chat", "e1", "widgets", "team-chat", {}, status="retrying"))
    store.hold("deliveries", "e1.team-chat", "gone-worker", time.time())
    store.save_delivery(Delivery("e1.team-chat", "e1", "widgets", "team-chat", {}, status="delivered"))
    store.hold("deliveries", "e1.team-chat", "gone-worker", time.time())  # a stale task's hold, after the fact
    assert sweep(app, now=time.time()) == ([], [])
    assert store.holdings("deliveries") == {}


def accept_over_http(app, count: int) -> list[str]:
    """Post count signed pings through the real web path: each is stored, numbered and queued."""
    client = app.test_client()
    ids = []
    for n in range(count):
        response = client.post("/hooks/widgets", data=PING, headers=github_headers("ping", PING, delivery=f"d-{n}", secret="s"))
        ids.append(response.get_json()["event"])
    return ids


def take(app, redis_url, receive: bool) -> str:
    """Take the next task off the queue as a worker's BRPOP does; receive it as its run's start does (it is due now), or die first."""
    raw = redis.Redis.from_url(redis_url).rpop("celery")
    message = json.loads(raw)
    [event_id], _, _ = json.loads(base64.b64decode(message["body"]))
    if receive:
        store = app.extensions["hookdock"].store
        store.steps().receive("events", event_id, message["headers"][sequence.HEADER]).start_run("events", event_id, "live-worker").run()
        store.mark_event(event_id, "processed")  # its worker finished it
    return event_id


def sweeps_until_found(app, start: float, seconds: float) -> tuple[float, list[str]]:
    """Sweep every SWEEP_SECONDS from start, as a worker does, until something is found or seconds pass."""
    for step in range(1, int(seconds / recovery.SWEEP_SECONDS) + 1):
        found, _ = sweep(app, now=start + step * recovery.SWEEP_SECONDS)
        if found:
            return step * recovery.SWEEP_SECONDS, found
    return seconds, []


def test_a_long_backlog_waiting_in_the_queue_is_never_queued_again(app, redis_url):
    liveness.beat(app.extensions["hookdock"].store.redis, "live-worker")
    ids = accept_over_http(app, 6)
    take(app, redis_url, receive=True)
    take(app, redis_url, receive=True)
    # Four events wait far longer than the horizon and the grace, behind a worker that has stalled.
    assert sweeps_until_found(app, time.time(), 3600) == (3600, [])
    assert [args for _, args, _ in queued(redis_url)] == [[i] for i in reversed(ids[2:])]


def test_a_task_the_queue_passed_over_is_queued_again_within_a_minute(app, redis_url):
    liveness.beat(app.extensions["hookdock"].store.redis, "live-worker")
    *_, waiting = accept_over_http(app, 4)
    take(app, redis_url, receive=True)
    lost = take(app, redis_url, receive=False)  # its worker died between BRPOP and its run's start
    take(app, redis_url, receive=True)
    start = time.time()
    after, found = sweeps_until_found(app, start, 120)
    assert found == [lost]
    assert sequence.GRACE <= after <= 60  # the queue went past it; a grace for a slow receiver, then it is back
    assert [args for _, args, _ in queued(redis_url)] == [[lost], [waiting]]
    assert sweeps_until_found(app, start + after, 600) == (600, [])  # numbered again: not queued twice


def test_the_last_task_taken_off_a_quiet_queue_and_lost_is_queued_again(app, redis_url):
    [lost] = accept_over_http(app, 1)
    take(app, redis_url, receive=False)  # nothing comes after it: the empty queue says it was taken
    after, found = sweeps_until_found(app, time.time(), 120)
    assert (found, after <= 60) == ([lost], True)
    assert queued(redis_url) == [("hookdock.process_event", [lost], {})]


def test_a_copy_received_late_does_not_pass_the_items_queued_after_it(app, redis_url):
    store = app.extensions["hookdock"].store
    liveness.beat(store.redis, "live-worker")
    first, *_ = accept_over_http(app, 3)
    headers = sequence.stamp(store.redis, "events", first)  # queued again later, say by a replay
    # The first copy arrives: it does not say the queue has reached the second copy's number.
    sequence.receive(store.redis, "events", first, "live-worker", time.time(), 1)
    store.mark_event(first, "processed")
    assert headers[sequence.HEADER] == 4 and sweeps_until_found(app, time.time(), 600) == (600, [])
