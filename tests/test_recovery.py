"""Recovery: work whose task was lost with its worker is found and queued again."""

from __future__ import annotations

import time

import pytest

from bridge import create_app, recovery
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
