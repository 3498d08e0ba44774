"""Numbered tasks: receiving one on arrival (sequence.receive) and as its run starts (the store's steps) mean the same."""

from __future__ import annotations

import json

import pytest
import redis

from bridge import sequence
from bridge.store import Store


def state(client: redis.Redis) -> dict:
    """What receipt touches: who holds what, what waits under which number, and how far the queue was consumed."""
    held = {item: json.loads(hold)["worker"] for item, hold in client.hgetall("hookdock:held:events").items()}
    return {"held": held, "waiting": client.zrange(sequence.waiting_key("events"), 0, -1, withscores=True), "received": client.get(sequence.RECEIVED)}


# (the number e1's task was received under, how far the queue was consumed before): e1 waits under 2, e2 under 3.
CASES = {
    "its own number": (2, None),
    "an older copy's number, a newer copy still queued": (1, None),
    "a later copy's number": (5, None),
    "behind what others received": (2, b"4"),
}


@pytest.mark.parametrize("seq, before", CASES.values(), ids=CASES.keys())
def test_receiving_on_arrival_and_as_the_run_starts_leave_the_same_state(redis_url, seq, before):
    client = redis.Redis.from_url(redis_url)
    store = Store(client, 3600)
    found = []
    for receive in (
        lambda: sequence.receive(client, "events", "e1", "w1", 0.0, seq),
        lambda: store.steps().receive("events", "e1", seq).start_run("events", "e1", "w1").run(),
    ):
        client.flushall()
        sequence.stamp(client, "events", "e0")
        sequence.stamp(client, "events", "e1")
        sequence.stamp(client, "events", "e2")
        if before is not None:
            client.set(sequence.RECEIVED, before)
        receive()
        found.append(state(client))
    assert found[0] == found[1]
    assert found[0]["held"] == {b"e1": "w1"}


def test_receipt_lets_go_of_the_wait_it_was_numbered_for_and_raises_how_far_the_queue_went(redis_url):
    client = redis.Redis.from_url(redis_url)
    sequence.stamp(client, "events", "e1")
    sequence.stamp(client, "events", "e2")
    Store(client, 3600).steps().receive("events", "e1", 1).run()
    assert client.zrange(sequence.waiting_key("events"), 0, -1) == [b"e2"]
    assert client.get(sequence.RECEIVED) == b"1"
    # An older copy arriving late neither lets go of a newer wait nor moves the mark back.
    sequence.stamp(client, "events", "e1")
    Store(client, 3600).steps().receive("events", "e2", 2).receive("events", "e1", 1).run()
    assert client.zrange(sequence.waiting_key("events"), 0, -1, withscores=True) == [(b"e1", 3.0)]
    assert client.get(sequence.RECEIVED) == b"2"


def test_idle_until_nothing_is_queued_waiting_or_held_and_again_once_settled(redis_url):
    client = redis.Redis.from_url(redis_url)
    store = Store(client, 3600)
    assert sequence.idle(client, "celery")
    client.lpush("celery", "a task")
    assert not sequence.idle(client, "celery")
    client.delete("celery")
    sequence.stamp(client, "deliveries", "e1.chat")  # taken off the queue, not yet received
    assert not sequence.idle(client, "celery")
    store.steps().receive("deliveries", "e1.chat", 1).start_run("deliveries", "e1.chat", "w1").run()  # in a worker's hands
    assert client.zcard(sequence.waiting_key("deliveries")) == 0 and not sequence.idle(client, "celery")
    store.release("deliveries", "e1.chat")  # as settling it does
    assert sequence.idle(client, "celery")
