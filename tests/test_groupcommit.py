"""Group commit of accepts: concurrent webhooks share one round trip and each still gets its own answer."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from types import SimpleNamespace

import gevent
import gevent.event
import gevent.thread
import pytest
import redis

from bridge import broker, create_app, groupcommit, sequence
from bridge.config import parse_config
from bridge.groupcommit import GroupCommit, Interrupted
from bridge.store import ACCEPT, OWN_CONNECTION_WRITTEN_FOR, Event, NotQueued, Store, new_event_id
from tests.support import github_headers, wait_until
from tests.test_web import CONFIG, PING

WAIT = 10


class HeldFlush:
    """A flush that holds its first batch until let go, so the next callers queue behind it; records every batch."""

    def __init__(self, flush):
        self.flush = flush
        self.batches: list[list] = []
        self.release = threading.Event()

    def __call__(self, items: list) -> list:
        self.batches.append(list(items))
        if len(self.batches) == 1:
            assert self.release.wait(WAIT), "the first flush was never let go"
        return self.flush(items)


def submit_all(commit: GroupCommit, held: HeldFlush, items: list) -> list:
    """Submit items from one thread each: the first leads a held flush, the rest queue and go out as one batch."""
    outcomes: list = [None] * len(items)

    def run(i: int) -> None:
        try:
            outcomes[i] = commit.submit(items[i])
        except Exception as exc:  # each caller's outcome, an error included, is what is checked
            outcomes[i] = exc

    with ThreadPoolExecutor(len(items)) as pool:
        pool.submit(run, 0)
        wait_until(lambda: len(held.batches) == 1, WAIT, 0.005, "the first flush")
        for i in range(1, len(items)):
            pool.submit(run, i)
        wait_until(lambda: commit.queued == len(items) - 1, WAIT, 0.005, "the callers to queue")
        held.release.set()
    return outcomes


def test_a_lone_item_is_flushed_at_once_by_its_caller():
    batches = []
    commit = GroupCommit(lambda items: batches.append(items) or [item * 2 for item in items])
    assert commit.submit(21) == 42 and batches == [[21]]
    assert commit.submit(4) == 8 and batches == [[21], [4]]


def test_callers_arriving_during_a_flush_go_out_together_each_with_its_own_result():
    held = HeldFlush(lambda items: [f"done {item}" for item in items])
    commit = GroupCommit(held)
    assert submit_all(commit, held, list(range(6))) == [f"done {i}" for i in range(6)]
    assert held.batches == [[0], [1, 2, 3, 4, 5]]
    assert commit.submit(9) == "done 9" and commit.queued == 0


def test_a_flush_takes_at_most_most_items_and_the_rest_go_in_the_next():
    held = HeldFlush(lambda items: items)
    commit = GroupCommit(held, most=3)
    assert submit_all(commit, held, list(range(8))) == list(range(8))
    assert held.batches == [[0], [1, 2, 3], [4, 5, 6], [7]]


def test_an_item_refused_by_the_flush_fails_only_its_own_caller():
    held = HeldFlush(lambda items: [ValueError(f"no {item}") if item % 2 else item for item in items])
    outcomes = submit_all(GroupCommit(held), held, list(range(5)))
    assert [o if isinstance(o, int) else str(o) for o in outcomes] == [0, "no 1", 2, "no 3", 4]


def test_a_failed_flush_fails_every_caller_in_it_and_the_next_flush_goes_on():
    def flush(items):
        if 2 in items:
            raise redis.ConnectionError("lost the connection")
        return items

    held = HeldFlush(flush)
    commit = GroupCommit(held)
    outcomes = submit_all(commit, held, [0, 1, 2, 3])
    assert outcomes[0] == 0
    assert all(isinstance(o, redis.ConnectionError) for o in outcomes[1:])
    assert commit.submit(7) == 7


def test_a_leader_stopped_mid_flush_leaves_no_caller_waiting():
    class Stopped(BaseException):
        """Stands in for a greenlet killed while it leads a flush."""

    def flush(items):
        if 1 in items:
            raise Stopped()
        return items

    held = HeldFlush(flush)
    commit = GroupCommit(held)
    outcomes: list = [None] * 3

    def run(i: int) -> None:
        try:
            outcomes[i] = commit.submit(i)
        except BaseException as exc:  # noqa: BLE001  # the stopped leader's own outcome is checked too
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    threads[0].start()
    wait_until(lambda: len(held.batches) == 1, WAIT, 0.005, "the first flush")
    for thread in threads[1:]:
        thread.start()
    wait_until(lambda: commit.queued == 2, WAIT, 0.005, "the callers to queue")
    held.release.set()
    for thread in threads:
        thread.join(WAIT)
        assert not thread.is_alive()
    assert outcomes[0] == 0
    assert {type(outcomes[1]), type(outcomes[2])} == {Stopped, Interrupted}
    assert commit.submit(5) == 5


@pytest.mark.parametrize("handed_the_lead", [False, True])
def test_a_caller_stopped_while_it_waits_leaves_no_one_behind_it_waiting(monkeypatch, handed_the_lead):
    # As under gunicorn's gevent worker, whose patched threading gives greenlet locks and events:
    # a request greenlet may be killed (a shutdown past its grace) while it waits, even just as the lead reaches it.
    monkeypatch.setattr(groupcommit, "threading", SimpleNamespace(Lock=gevent.thread.allocate_lock, Event=gevent.event.Event))
    release = gevent.event.Event()
    batches: list[list] = []
    callers: dict[int, gevent.Greenlet] = {}

    def flush(items: list) -> list:
        batches.append(list(items))
        if len(batches) == 1:
            release.wait()
            if handed_the_lead:
                # Runs after this flush hands the lead to caller 1, before caller 1 wakes to take it.
                callers[1].kill(block=False)
        return items

    commit = GroupCommit(flush)
    for i in range(3):
        callers[i] = gevent.spawn(commit.submit, i)
    gevent.idle()  # every caller has run until it waits
    assert batches == [[0]] and commit.queued == 2
    if not handed_the_lead:
        callers[1].kill()
    release.set()
    assert callers[2].get(timeout=WAIT) == 2, "the caller behind the stopped one was left waiting"
    assert callers[0].get(timeout=WAIT) == 0 and isinstance(callers[1].value, gevent.GreenletExit)
    assert batches == [[0], [2]], "the stopped caller's item went out after all"
    assert commit.submit(3) == 3 and commit.queued == 0


@pytest.fixture
def store(redis_url):
    return Store(redis.Redis.from_url(redis_url), 86400)


def event(delivery: str, body: bytes = PING) -> Event:
    return Event(new_event_id(), "widgets", "github", "ping", delivery, {}, body)


def message(e: Event) -> broker.Message:
    return broker.task_message(broker.PROCESS_EVENT, [e.id], sequence.HEADER)


def queued_event_ids(client: redis.Redis) -> list[str]:
    """The event each queued task message is for, in queue order."""
    return [json.loads(base64.b64decode(json.loads(m)["body"]))[0][0] for m in client.lrange("celery", 0, -1)]


@pytest.mark.parametrize("package", sorted(OWN_CONNECTION_WRITTEN_FOR))
def test_the_installed_redis_and_hiredis_are_the_ones_the_accept_path_was_written_for(package):
    written, installed = OWN_CONNECTION_WRITTEN_FOR[package], version(package)
    assert installed == written, (
        f"bridge/store.py's accept path was written for {package} {written}; {installed} is installed. Re-read redis-py's "
        "ConnectionPool (connection_class, connection_kwargs) and Connection (send_packed_command, read_response, retry), and "
        "hiredis.pack_command, make Store._exchange and packed match, run this file, then set store.OWN_CONNECTION_WRITTEN_FOR."
    )


def test_concurrent_accepts_each_get_their_own_answer(store):
    held = HeldFlush(store.accept_many)
    commit = GroupCommit(held)
    events = [event(f"d-{i}", body=json.dumps({"n": i}).encode()) for i in range(8)]
    outcomes = submit_all(commit, held, [(e, message(e)) for e in events])
    assert [len(b) for b in held.batches] == [1, 7]
    assert all(o.earlier is None for o in outcomes)
    assert sorted(o.seq for o in outcomes) == list(range(1, 9))
    for e in events:
        assert store.load_event(e.id).body == e.body
    assert sorted(queued_event_ids(store.redis)) == sorted(e.id for e in events)


def test_an_accept_after_redis_dropped_the_connection_goes_through(store):
    first = event("d-first")
    store.accept(first, message(first))
    # As after a Redis restart: the store's own connection is dead before the next webhook comes.
    store.redis.client_kill_filter(_type="normal", skipme=True)
    second = event("d-second")
    assert store.accept(second, message(second)).earlier is None
    assert store.load_event(second.id) is not None


def test_a_forked_child_accepts_over_a_connection_of_its_own(store):
    first = event("d-parent")
    store.accept(first, message(first))
    parent_end = store._own_connection._sock.getsockname()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: accept, then say which local address it used
        # Whatever happens, the child ends here: an exception left to unwind would run the rest of pytest's session in it.
        try:
            child = event("d-child")
            store.accept(child, message(child))
            os.write(write, repr(store._own_connection._sock.getsockname()).encode())
        except BaseException:
            os._exit(1)
        os._exit(0)
    os.close(write)
    child_end = os.read(read, 200).decode()
    assert os.waitpid(pid, 0)[1] == 0
    assert child_end and child_end != repr(parent_end)
    last = event("d-parent-again")
    assert store.accept(last, message(last)).earlier is None
    assert len(queued_event_ids(store.redis)) == 3


def test_the_same_delivery_twice_in_one_batch_is_stored_once_and_answered_as_a_duplicate(store):
    first, again, other = event("d-1"), event("d-1"), event("d-2")
    outcomes = store.accept_many([(first, message(first)), (again, message(again)), (other, message(other))])
    assert outcomes[0].earlier is None and outcomes[2].earlier is None
    assert outcomes[1].earlier == first.id and outcomes[1].seq is None
    assert store.load_event(again.id) is None
    assert queued_event_ids(store.redis) == [other.id, first.id]


def test_a_refused_push_in_a_batch_refuses_that_event_only(store):
    first = event("d-1")
    elsewhere = broker.Message("not-a-list", message(first).head, message(first).tail)
    store.redis.set("not-a-list", "x")
    second = event("d-2")
    outcomes = store.accept_many([(first, elsewhere), (second, message(second))])
    assert isinstance(outcomes[0], NotQueued) and outcomes[1].earlier is None
    assert store.load_event(first.id) is None and store.load_event(second.id) is not None


def test_an_event_whose_call_cannot_be_built_fails_alone(store):
    unwritable = Event(new_event_id(), "widgets", "github", "push\ud800", "d-1", {}, PING)
    fine = event("d-2")
    outcomes = store.accept_many([(unwritable, message(unwritable)), (fine, message(fine))])
    assert isinstance(outcomes[0], UnicodeEncodeError) and outcomes[1].earlier is None
    assert queued_event_ids(store.redis) == [fine.id]


def test_a_batch_after_redis_lost_its_scripts_is_accepted(store):
    store.redis.script_flush()
    e = event("d-1")
    [outcome] = store.accept_many([(e, message(e))])
    assert outcome.earlier is None and queued_event_ids(store.redis) == [e.id]


class CuttingProxy:
    """Relays to Redis; holds the first write of accepts until let go, and cuts every later one after its last complete command."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"redis://127.0.0.1:{self.listener.getsockname()[1]}/0"
        self.release = threading.Event()
        self.accept_writes = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._listen, daemon=True).start()

    def _listen(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.upstream)
        threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
        try:
            while data := client.recv(1 << 20):
                if b"EVALSHA" in data:
                    with self.lock:
                        self.accept_writes += 1
                        first = self.accept_writes == 1
                    if first:
                        self.release.wait(WAIT)
                    else:
                        # Redis gets every command but the last whole; the last is cut off inside its header.
                        upstream.sendall(data[: data.rindex(b"EVALSHA")])
                        return
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            upstream.close()
            client.close()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(1 << 20):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            sink.close()

    def close(self) -> None:
        self.listener.close()


def test_redis_lost_mid_flush_answers_each_waiter_503_and_leaves_nothing_stored_that_is_not_queued(redis_url):
    direct = redis.Redis.from_url(redis_url)
    direct.script_load(ACCEPT)  # so the first accept is one write, not a NOSCRIPT and a second
    host, port = redis_url.removeprefix("redis://").split("/")[0].split(":")
    proxy = CuttingProxy((host, int(port)))
    try:
        app = create_app(parse_config(CONFIG), proxy.url)
        commit = app.extensions["hookdock.accepts"]
        deliveries = [f"d-{i}" for i in range(5)]

        def post(delivery: str):
            return app.test_client().post("/hooks/widgets", data=PING, headers=github_headers("ping", PING, delivery=delivery))

        with ThreadPoolExecutor(len(deliveries)) as pool:
            first = pool.submit(post, deliveries[0])
            wait_until(lambda: proxy.accept_writes == 1, WAIT, 0.005, "the first accept to reach the proxy")
            rest = [pool.submit(post, d) for d in deliveries[1:]]
            wait_until(lambda: commit.queued == len(rest), WAIT, 0.005, "the other webhooks to queue behind it")
            proxy.release.set()
            answers = [first.result(WAIT)] + [f.result(WAIT) for f in rest]
    finally:
        proxy.close()

    assert answers[0].status_code == 202
    for answer in answers[1:]:
        assert answer.status_code == 503 and answer.get_json()["error"] == "the event could not be stored; please retry"
    store = Store(direct, 86400)
    stored = {e.id for e in store.list_events()}
    assert answers[0].get_json()["event"] in stored
    assert sorted(stored) == sorted(queued_event_ids(direct)), "an event stored without its task, or queued twice"

    # Each sender retries: an event the cut flush did store is named as the earlier one, the others are accepted now.
    client = create_app(parse_config(CONFIG), redis_url).test_client()
    for delivery in deliveries[1:]:
        retry = client.post("/hooks/widgets", data=PING, headers=github_headers("ping", PING, delivery=delivery))
        assert retry.status_code in (200, 202)
    assert len(queued_event_ids(direct)) == len(deliveries) == len({e.id for e in store.list_events()})
