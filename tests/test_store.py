"""Records in a real Redis: round trips, dead-letter index, retention."""

from __future__ import annotations

import json
import time

import redis

from bridge import metrics, sequence
from bridge.store import TRIM_EVERY, Delivery, Event, Store, delivery_id_for, event_from, facet_index


def store_for(url: str, retention: float = 3600) -> Store:
    return Store(redis.Redis.from_url(url), retention)


def test_event_round_trip_keeps_raw_bytes(redis_url):
    store = store_for(redis_url)
    event = Event("e1", "widgets", "github", "push", "d-1", {"X-GitHub-Event": "push"}, b"\x00{raw}\xff")
    store.save_event(event)
    loaded = store.load_event("e1")
    assert loaded == event
    store.mark_event("e1", "ignored", "not rendered")
    assert (store.load_event("e1").status, store.load_event("e1").reason) == ("ignored", "not rendered")
    assert store.load_event("missing") is None


def test_accept_stores_once_per_sender_delivery_id(redis_url):
    store = store_for(redis_url)
    first = Event("e1", "widgets", "github", "push", "d-1", {"X-GitHub-Event": "push"}, b"{}")
    assert store.accept(first) == (None, 1)
    assert store.load_event("e1") == first
    assert store.accept(Event("e2", "widgets", "github", "push", "d-1", {}, b"{}")) == ("e1", None)
    assert store.load_event("e2") is None
    assert store.accept(Event("e3", "other-route", "github", "push", "d-1", {}, b"{}")) == (None, 2)


def test_failed_deliveries_are_listed_as_dead_letters_until_they_succeed(redis_url):
    store = store_for(redis_url)
    ok = Delivery(delivery_id_for("e1", "chat"), "e1", "widgets", "chat", {"event": "message"}, status="delivered")
    dead = Delivery(delivery_id_for("e2", "chat"), "e2", "other", "chat", {"event": "message"}, status="failed", last_status=401)
    store.save_delivery(ok)
    store.save_delivery(dead)
    assert [d.id for d in store.list_deliveries()] == ["e2.chat", "e1.chat"]
    assert [d.id for d in store.list_deliveries(failed=True)] == ["e2.chat"]
    assert [d.id for d in store.list_deliveries(route="widgets")] == ["e1.chat"]
    dead.status = "delivered"
    store.save_delivery(dead)
    assert store.list_deliveries(failed=True) == []


def test_every_record_expires_with_the_retention_window(redis_url):
    store = store_for(redis_url, retention=120)
    store.accept(Event("e1", "widgets", "github", "push", "d-1", {}))
    store.save_delivery(Delivery("e1.chat", "e1", "widgets", "chat", {}))
    client = redis.Redis.from_url(redis_url)
    # A few fixed-size keys; the metrics hash grows only with configured routes, targets and verified event names.
    counters = {sequence.COUNTER.encode(), sequence.RECEIVED.encode(), sequence.PASSED.encode(), metrics.KEY.encode()}
    for key in set(client.keys("hookdock:*")) - counters:
        if client.type(key) != b"zset":
            assert 0 < client.ttl(key) <= 120, key


def test_time_indexes_drop_entries_older_than_retention(redis_url):
    store = store_for(redis_url, retention=60)
    old = Event("old", "widgets", "github", "push", "d-0", {}, received_at=1000.0)
    store.save_event(old)
    store.save_event(Event("new", "widgets", "github", "push", "d-1", {}))
    members = redis.Redis.from_url(redis_url).zrange("hookdock:events", 0, -1)
    assert members == [b"new"]


def test_marking_an_expired_event_writes_nothing(redis_url):
    store = store_for(redis_url)
    store.mark_event("gone", "failed", "late")
    assert store.load_event("gone") is None and not redis.Redis.from_url(redis_url).exists("hookdock:event:gone")


def test_payload_text_with_lone_surrogates_is_stored_not_refused(redis_url):
    store = store_for(redis_url)
    store.save_event(Event("e1", "widgets", "github", "push", "d-1", {}, b"{}"))
    store.mark_event("e1", "failed", "template error: branch \ud800")
    assert store.load_event("e1").reason == "template error: branch \\ud800"
    assert store.remember_thread("chat", "branch:\ud800", 1.0, {"title": "\ud800"}) == {"title": "\ud800"}
    assert store.latest_thread("chat", "branch:\ud800") == {"title": "\ud800"}
    assert store.latest_thread("chat", "branch:\\ud800") is None


def test_runs_cut_short_stay_counted_and_finished_ones_leave_no_key(redis_url):
    store = store_for(redis_url)

    def start(worker: str) -> int:
        [count] = store.steps().start_run("events", "e1", worker).run()
        return count

    assert start("w1") == 1
    store.steps().end_run("events", "e1").run()
    assert store.redis.exists("hookdock:runs:events:e1") == 0
    assert [start("w1") for _ in range(3)] == [1, 2, 3]  # two died with their worker
    store.forget_runs("events", "e1")
    assert start("w2") == 1


def test_events_are_indexed_by_route_source_and_name_and_read_newest_first_in_chunks(redis_url):
    store = store_for(redis_url)
    now = time.time()
    for i, (route, name) in enumerate([("widgets", "push"), ("gadgets", "push"), ("widgets", "member"), ("widgets", "push")]):
        store.accept(Event(f"e{i}", route, "github", name, f"d-{i}", {}, b"{}", now + i))
    # Five more arriving in the same microsecond: chunks of 2 must neither lose nor repeat one.
    for i in range(4, 9):
        store.save_event(Event(f"e{i}", "tied", "github", "push", f"d-{i}", {}, b"{}", now + 10))
    assert sorted(e.id for e in store.events_between(float("inf"), 0, chunk=2)) == [f"e{i}" for i in range(9)]
    assert [e.id for e in store.events_between(float("inf"), 0, index=store.narrowest({"route": "widgets"}))] == ["e3", "e2", "e0"]
    assert store.narrowest({"route": "widgets", "event": "member"}) == "hookdock:events:event:member"
    assert store.narrowest({"source": "github", "route": ""}) == "hookdock:events:source:github"
    assert store.narrowest({}) == "hookdock:events"
    assert [e.id for e in store.events_between(now + 3, now + 1)] == ["e2", "e1"]


def test_ignored_and_failed_events_have_their_own_index(redis_url):
    store = store_for(redis_url)
    store.save_event(Event("e1", "widgets", "github", "push", "d-1", {}, b"{}"))
    store.mark_event("e1", "ignored", "routes.widgets.events: push matches none of ping")
    assert store.ignored_events() == {"e1"}
    store.mark_event("e1", "failed", "template error")
    assert (store.ignored_events(), store.failed_since(0)[0]) == (set(), ["e1"])
    assert [e.id for e in store.events_among({"e1", "gone"}, float("inf"), 0)] == ["e1"]


def test_settling_an_event_lets_go_of_its_wait_and_hold_and_keeps_its_ttl(redis_url):
    store, client = store_for(redis_url), redis.Redis.from_url(redis_url)
    store.accept(Event("e1", "widgets", "github", "push", "d-1", {}, b"{}"))
    store.hold("events", "e1", "w1", time.time())
    store.mark_event("e1", "processed")
    assert store.unsettled_events() == set() and store.holdings("events") == {}
    assert client.zscore(sequence.waiting_key("events"), "e1") is None and 0 < client.ttl("hookdock:event:e1") <= 3600
    store.mark_event("e1", "queued")  # a replay waits again
    assert store.unsettled_events() == {"e1"} and store.load_event("e1").status == "queued"


def test_accepting_trims_every_time_index_once_every_trim_every_events(redis_url):
    store = store_for(redis_url, retention=60)
    client = redis.Redis.from_url(redis_url)
    store.accept(Event("old", "widgets", "github", "push", "d-old", {}, received_at=1000.0))
    indexes = ["hookdock:events", facet_index("route", "widgets"), facet_index("source", "github"), facet_index("event", "push")]
    for n in range(2, TRIM_EVERY):
        store.accept(Event(f"e{n}", "widgets", "github", "push", f"d-{n}", {}))
    # Until then an expired entry may stay; the console skips it, as its event's record is gone.
    assert all(client.zscore(index, "old") is not None for index in indexes)
    assert store.accept(Event("last", "widgets", "github", "push", "d-last", {})).seq == TRIM_EVERY
    assert all(client.zscore(index, "old") is None and client.zscore(index, "last") for index in indexes)


def test_steps_run_in_one_call_and_a_delivery_already_on_record_stops_them_there(redis_url):
    store = store_for(redis_url)
    store.accept(Event("e1", "widgets", "github", "push", "d-1", {}, b"{}"))
    count, fields = store.steps().start_run("events", "e1", "w1").load_event("e1").run()
    assert count == 1 and event_from(fields).body == b"{}"
    old = Delivery("e1.chat", "e1", "widgets", "chat", {"content": "old"}, status="failed")
    store.save_delivery(old)
    new = [Delivery(f"e1.{t}", "e1", "widgets", t, {"content": "new"}) for t in ("inbox", "chat", "later")]
    steps = store.steps()
    for delivery in new:
        steps.save_delivery(delivery, held_by="w1", create=True)
    replies = steps.mark_event("e1", "processed").start_run("deliveries", "e1.inbox", "w1").run()
    # The first is created; the second is on record, so it comes back and nothing after it was written.
    assert replies[0] is None and Delivery(**json.loads(replies[1])).message == {"content": "old"} and len(replies) == 2
    assert store.load_delivery("e1.inbox").status == "pending" and store.load_delivery("e1.later") is None
    assert store.load_event("e1").status == "queued" and not store.redis.exists("hookdock:runs:deliveries:e1.inbox")
    assert store.load_delivery("e1.chat").message == {"content": "old"} and set(store.holdings("deliveries")) == {"e1.inbox"}


def test_a_failing_metric_never_fails_the_record_it_goes_with(redis_url):
    store = store_for(redis_url)
    store.redis.set(metrics.KEY, "not a hash")
    tally = metrics.Tally()
    tally.count(metrics.DELIVERIES, target="chat", outcome="delivered")
    store.save_delivery(Delivery("e1.chat", "e1", "widgets", "chat", {}, status="delivered"), tally, then=store.steps().end_run("events", "e1"))
    assert store.load_delivery("e1.chat").status == "delivered" and store.redis.get(metrics.KEY) == b"not a hash"
