"""Recovery: work whose task was lost with its worker is found and queued again."""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest
import redis

from bridge import create_app, liveness, recovery
from bridge.config import parse_config
from bridge.store import Delivery, Event
from tests.support import queued

CONFIG = """\
api_url: http://127.0.0.1:9
delivery: {visibility_timeout: 60, backoff_cap: 10, timeout: 5}
targets:
  team-chat: {org: acme, flow: main, token: tok}
routes:
  widgets: {source: github, secret: s, targets: [team-chat]}
"""
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


def test_a_pending_delivery_whose_task_was_lost_is_queued_again(app, redis_url):
    app.extensions["hookdock"].store.save_delivery(Delivery("e1.team-chat", "e1", "widgets", "team-chat", {}, status="retrying"))
    assert sweep(app) == ([], ["e1.team-chat"])
    assert queued(redis_url) == [("hookdock.deliver", ["e1.team-chat"], {})]


def test_one_sweeper_at_a_time(app):
    app.extensions["hookdock"].store.accept(Event("lost", "widgets", "github", "ping", "d-1", {}, b"{}"))
    services, celery = app.extensions["hookdock"], app.extensions["celery"]
    services.store.redis.set(recovery.LOCK, "1", ex=60)
    assert recovery.sweep(services, celery, LATER) == ([], [])


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


def test_holds_on_settled_work_are_let_go(app):
    store = app.extensions["hookdock"].store
    store.save_delivery(Delivery("e1.team-chat", "e1", "widgets", "team-chat", {}, status="retrying"))
    store.hold("deliveries", "e1.team-chat", "gone-worker", time.time())
    store.save_delivery(Delivery("e1.team-chat", "e1", "widgets", "team-chat", {}, status="delivered"))
    store.hold("deliveries", "e1.team-chat", "gone-worker", time.time())  # a stale task's hold, after the fact
    assert sweep(app, now=time.time()) == ([], [])
    assert store.holdings("deliveries") == {}
