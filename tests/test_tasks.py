"""The tasks' guard, called in-process with a real Redis and devflow: whatever escapes leaves the item failed, visibly."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager

import pytest
import redis
from celery.exceptions import Retry
from celery.signals import task_received
from celery.worker.request import Request
from kombu.exceptions import OperationalError

from bridge import admin, broker, create_app, liveness, pipeline, recovery, sequence, tasks
from bridge.__main__ import main
from bridge.config import parse_config
from bridge.store import Event, Steps
from tests.support import fixture_bytes, process_event, queued


def queued_messages(app) -> list[dict]:
    """The task messages waiting in the Celery queue, oldest first."""
    return [json.loads(raw) for raw in reversed(app.extensions["hookdock"].store.redis.lrange("celery", 0, -1))]


CONFIG = """\
api_url: {url}
delivery: {{max_attempts: 2, backoff_base: 0.05, backoff_cap: 0.1}}
targets:
  team-chat: {{flow_token: devflow-flow-token}}
routes:
  widgets: {{source: github, secret: s, targets: [team-chat]}}
"""


@pytest.fixture
def app(chat, redis_url):
    return create_app(parse_config(CONFIG.format(url=chat.url)), redis_url)


@pytest.fixture
def services(app):
    services = app.extensions["hookdock"]
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push"}
    services.store.accept(Event("e1", "widgets", "github", "push", "d-1", headers, fixture_bytes("github", "push__many_commits")))
    return services


def run(app, task: str, *args, **kwargs):
    """Run a task's body in this process, as a worker's pool process would (no eager mode, no broker)."""
    return app.extensions["celery"].tasks[task](*args, **kwargs)


def broken(exc: Exception):
    def fail(*args, **kwargs):
        raise exc

    return fail


@pytest.mark.parametrize("where", ["remember_thread", "Steps.save_delivery", "Steps.mark_event"])
def test_an_error_anywhere_while_processing_leaves_the_event_failed_and_listed(app, services, monkeypatch, capsys, redis_url, where):
    owner, _, where = where.rpartition(".")
    owner = Steps if owner else services.store
    original = getattr(owner, where)
    # Fail once, where process_event's own handling never looked; recording the failure must still work.
    calls = []
    monkeypatch.setattr(owner, where, lambda *a, **k: original(*a, **k) if calls else calls.append(1) or broken(ValueError("odd input"))())
    run(app, tasks.PROCESS_EVENT, "e1")
    event = services.store.load_event("e1")
    assert (event.status, event.reason) == ("failed", "could not process the payload: ValueError: odd input")
    monkeypatch.setenv("REDIS_URL", redis_url)
    assert admin.replay(services, "e1")["replayed"] == "e1"
    assert queued(redis_url)[-1] == ("hookdock.process_event", ["e1"], {"only_target": None})


def test_failed_events_are_listed_by_the_events_command_and_hinted_at_by_deliveries(app, services, monkeypatch, capsys, redis_url, tmp_path):
    monkeypatch.setattr(pipeline, "process_loaded", broken(KeyError("boom")))
    run(app, tasks.PROCESS_EVENT, "e1")
    config = tmp_path / "bridge.yml"
    config.write_text(CONFIG.format(url="http://127.0.0.1:9"))
    monkeypatch.setenv("REDIS_URL", redis_url)
    assert main(["events", "--failed", "--config", str(config)]) == 0
    assert "e1  failed    widgets  push" in capsys.readouterr().out
    assert main(["deliveries", "--failed", "--config", str(config)]) == 0
    assert "python -m bridge events --failed" in capsys.readouterr().err


def test_a_redis_error_that_is_not_transient_is_not_retried(app, services, monkeypatch):
    monkeypatch.setattr(pipeline, "process_loaded", broken(redis.ResponseError("ERR value is not an integer")))
    run(app, tasks.PROCESS_EVENT, "e1")
    assert services.store.load_event("e1").status == "failed"


def test_redis_trouble_is_retried_a_bounded_number_of_times_then_fails_the_item(app, services, monkeypatch):
    monkeypatch.setattr(pipeline, "process_loaded", broken(redis.ConnectionError("Connection refused")))
    with pytest.raises(redis.ConnectionError):  # called directly, Celery's retry re-raises instead of queuing
        run(app, tasks.PROCESS_EVENT, "e1", troubles=tasks.MAX_TROUBLES - 1)
    assert services.store.load_event("e1").status == "queued"
    run(app, tasks.PROCESS_EVENT, "e1", troubles=tasks.MAX_TROUBLES)
    event = services.store.load_event("e1")
    assert event.status == "failed" and event.reason.startswith(f"Redis kept failing ({tasks.MAX_TROUBLES} retries): ConnectionError")


def test_an_item_that_keeps_killing_workers_is_failed_instead_of_run_again(app, services):
    for _ in range(tasks.MAX_CUT_SHORT):
        services.store.steps().start_run("events", "e1", "dead-worker").run()  # runs a dying worker never finished
    run(app, tasks.PROCESS_EVENT, "e1")
    event = services.store.load_event("e1")
    assert event.status == "failed" and f"a worker died {tasks.MAX_CUT_SHORT} times" in event.reason
    admin.replay(services, "e1")
    run(app, tasks.PROCESS_EVENT, "e1")  # a replay starts the count over
    assert services.store.load_event("e1").status == "processed"


def test_a_bug_while_delivering_dead_letters_the_delivery(app, services, monkeypatch):
    [delivery_id] = process_event(services, "e1")
    monkeypatch.setattr(services.store, "latest_thread", broken(TypeError("unexpected")))
    monkeypatch.setattr(pipeline, "newest_thread_state", broken(TypeError("unexpected")))
    run(app, tasks.DELIVER, delivery_id)
    delivery = services.store.load_delivery(delivery_id)
    assert delivery.status == "failed" and "TypeError: unexpected" in delivery.last_error
    assert [d.id for d in services.store.list_deliveries(failed=True)] == [delivery_id]


def test_processing_holds_the_event_and_its_deliveries_until_they_settle(app, services):
    run(app, tasks.PROCESS_EVENT, "e1")
    assert services.store.load_delivery("e1.team-chat").status == "delivered"
    assert services.store.holdings("events") == {} and services.store.holdings("deliveries") == {}
    assert liveness.identity() == liveness.identity()


class Consumer:
    """What task_received names as its sender: a worker's consumer, of this app."""

    def __init__(self, app):
        self.app = app


@contextmanager
def arriving(app, task: str, item_id: str, numbered: bool = True, countdown: float | None = None):
    """Queue a task for an item and take it off the queue as a worker's consumer does, signalling it received: the worker's request for it."""
    celery, store = app.extensions["celery"], app.extensions["hookdock"].store
    headers = sequence.stamp(store.redis, tasks.KINDS[task], item_id) if numbered else {}
    celery.send_task(task, args=[item_id], countdown=countdown, headers=headers)
    with celery.connection_for_read() as connection:
        message = connection.SimpleQueue("celery").get(timeout=5)
        request = Request(message, on_ack=message.ack_log_error, on_reject=message.reject_log_error, app=celery)
        task_received.send(sender=Consumer(celery), request=request)
        yield request  # request.execute() runs it as a solo worker does, then acknowledges it


def receipt(services, kind: str, item_id: str) -> tuple:
    """What receiving an item's task writes: who holds it, the number it waits under, how far the queue was consumed."""
    hold = services.store.holdings(kind).get(item_id)
    waiting = services.store.redis.zscore(sequence.waiting_key(kind), item_id)
    return hold and hold["worker"], waiting, services.store.redis.get(sequence.RECEIVED)


@pytest.mark.parametrize("task, work", [(tasks.PROCESS_EVENT, "process_loaded"), (tasks.DELIVER, "attempt")])
def test_a_numbered_task_due_now_is_received_by_its_runs_start_not_on_arrival(app, services, monkeypatch, task, work):
    kind = tasks.KINDS[task]
    item_id = "e1" if kind == "events" else process_event(services, "e1")[0]
    seen, original = [], getattr(pipeline, work)
    monkeypatch.setattr(pipeline, work, lambda *a, **k: seen.append(receipt(services, kind, item_id)) or original(*a, **k))
    with arriving(app, task, item_id) as request:
        # accept() numbered the event 1, queueing this task numbered it 2: on arrival nothing is written.
        assert receipt(services, kind, item_id) == (None, 2.0, None)
        request.execute()
    # The start that held the item received the task: it no longer waits, and the queue was consumed this far.
    assert seen == [(liveness.identity(), None, b"2")]
    assert services.store.load_delivery("e1.team-chat").status == "delivered"


def test_a_task_with_a_countdown_is_held_on_arrival_until_it_is_due_and_received(app, services):
    with arriving(app, tasks.PROCESS_EVENT, "e1", countdown=60):
        hold = services.store.holdings("events")["e1"]
        assert (hold["worker"], hold["due"]) == (liveness.identity(), pytest.approx(time.time() + 60, abs=5))
        assert receipt(services, "events", "e1")[1:] == (None, b"2")


def test_an_unnumbered_task_is_held_on_arrival_and_leaves_the_numbers_alone(app, services):
    with arriving(app, tasks.PROCESS_EVENT, "e1", numbered=False) as request:
        assert receipt(services, "events", "e1") == (liveness.identity(), 1.0, None)
        request.execute()
    assert services.store.load_event("e1").status == "processed"
    assert services.store.redis.get(sequence.RECEIVED) is None


@pytest.mark.parametrize("retry_queued", [True, False])
def test_a_start_lost_to_a_redis_blip_leaves_the_task_held_or_passed_over(app, services, monkeypatch, retry_queued):
    celery = app.extensions["celery"]
    with arriving(app, tasks.PROCESS_EVENT, "e1") as request:
        # Redis goes away as the run starts: the start and the retry's number are lost (and, say, the retry's publish).
        monkeypatch.setattr(Steps, "run", broken(redis.ConnectionError("Connection reset by peer")))
        monkeypatch.setattr(sequence, "stamp", broken(redis.ConnectionError("Connection reset by peer")))
        if not retry_queued:
            monkeypatch.setattr(celery.tasks[tasks.PROCESS_EVENT], "apply_async", broken(OperationalError("broker away too")))
        request.execute()
        monkeypatch.undo()
    assert receipt(services, "events", "e1") == (None, 2.0, None)
    if retry_queued:
        # Its retry, unnumbered: the worker that receives it holds the item until it is due, so the sweep leaves it to that worker.
        [retry] = queued_messages(app)
        assert retry["headers"].get(sequence.HEADER) is None and retry["headers"]["eta"]
        with celery.connection_for_read() as connection:
            task_received.send(sender=Consumer(celery), request=Request(connection.SimpleQueue("celery").get(timeout=5), app=celery))
        assert receipt(services, "events", "e1")[0] == liveness.identity()
    else:
        # Nothing holds it and nothing is queued: the queue went past its number, and the sweep queues it again after the grace.
        assert queued_messages(app) == []
        found, now = [], time.time()
        for later in (0, sequence.GRACE + recovery.SWEEP_SECONDS):
            services.store.redis.delete(recovery.LOCK)
            found.append(recovery.sweep(services, celery, now + later))
        assert found == [([], []), (["e1"], [])]


def test_a_worker_dying_mid_attempt_leaves_both_runs_counted_and_a_finished_task_none(app, services, monkeypatch):
    runs = {}
    original = pipeline.targets.send

    def send(*args, **kwargs):
        # Mid-post, a SIGKILL would leave exactly what Redis holds now.
        runs.update({key: int(services.store.redis.get(key)) for key in services.store.redis.scan_iter("hookdock:runs:*")})
        return original(*args, **kwargs)

    monkeypatch.setattr(pipeline.targets, "send", send)
    run(app, tasks.PROCESS_EVENT, "e1")
    assert runs == {b"hookdock:runs:events:e1": 1, b"hookdock:runs:deliveries:e1.team-chat": 1}
    assert list(services.store.redis.scan_iter("hookdock:runs:*")) == []


def test_an_event_to_one_chat_takes_three_round_trips_to_redis_its_receipt_and_pacing_included(chat, redis_url, monkeypatch):
    app = create_app(
        parse_config(CONFIG.format(url=chat.url).replace("{flow_token: devflow-flow-token}", "{org: acme, flow: main, token: devflow-token}")), redis_url
    )
    services, celery = app.extensions["hookdock"], app.extensions["celery"]
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push"}
    for n in (0, 1):
        # Stored, numbered and queued as the web does it.
        event = Event(f"e{n}", "widgets", "github", "push", f"d-{n}", headers, fixture_bytes("github", "push__many_commits"))
        services.store.accept(event, broker.task_message(broker.PROCESS_EVENT, [event.id], sequence.HEADER))
    pool, store = services.store.redis.connection_pool, services.store
    taken = []

    def work_on_next(queue) -> None:
        # As the worker's consumer does (Celery's own traffic, kombu's, is not counted).
        message = queue.get(timeout=5)
        request = Request(message, on_ack=message.ack_log_error, on_reject=message.reject_log_error, app=celery)
        task_received.send(sender=Consumer(celery), request=request)
        request.execute()

    with celery.connection_for_read() as connection:
        queue = connection.SimpleQueue(broker.QUEUE)
        work_on_next(queue)  # Redis has every script loaded once one task ran
        # A round trip goes over a connection from redis-py's pool, or over the store's own (its script calls).
        original, exchange = pool.get_connection, store._exchange
        monkeypatch.setattr(pool, "get_connection", lambda *a, **k: taken.append("pool") or original(*a, **k))
        monkeypatch.setattr(store, "_exchange", lambda commands: taken.extend(["own"] * len(commands)) or exchange(commands))
        work_on_next(queue)
    # Receive the task, hold and read the event; pace the target, create the delivery, settle the event and start
    # the delivery's run; settle the delivery and end both runs. Each round trip costs the worker more than a render.
    assert taken == ["own"] * 3
    assert services.store.load_delivery("e1.team-chat").status == "delivered"
    assert services.store.redis.get(sequence.RECEIVED) == b"2" and services.store.redis.zcard(sequence.waiting_key("events")) == 0


def test_a_delivery_to_retry_has_its_run_ended_before_its_next_try_is_queued(chat, redis_url, monkeypatch):
    app = create_app(parse_config(CONFIG.format(url=chat.url).replace("max_attempts: 2", "max_attempts: 3")), redis_url)
    services, celery = app.extensions["hookdock"], app.extensions["celery"]
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "push"}
    services.store.accept(Event("e1", "widgets", "github", "push", "d-1", headers, fixture_bytes("github", "push__many_commits")))
    monkeypatch.setattr(pipeline.targets, "send", lambda *a, **k: pipeline.targets.Outcome("retry", 503, 1.0, "HTTP 503"))
    runs_when_queued = []

    def queue(**kwargs):
        runs_when_queued.append(sorted(services.store.redis.scan_iter("hookdock:runs:*")))
        return Retry()

    # Inline in the event's task, only the event's own run is still going when the retry is queued.
    monkeypatch.setattr(celery.tasks[tasks.DELIVER], "apply_async", lambda **kwargs: queue())
    run(app, tasks.PROCESS_EVENT, "e1")
    assert runs_when_queued == [[b"hookdock:runs:events:e1"]]
    monkeypatch.setattr(celery.tasks[tasks.DELIVER], "retry", queue)
    with pytest.raises(Retry):
        run(app, tasks.DELIVER, "e1.team-chat")
    assert runs_when_queued[1:] == [[]] and services.store.load_delivery("e1.team-chat").status == "retrying"
    assert list(services.store.redis.scan_iter("hookdock:runs:*")) == []


def test_a_settling_write_lost_to_a_redis_blip_still_ends_its_runs(app, services, monkeypatch):
    original = Steps.run
    failed = []

    def blip(steps):
        # The write that settles the delivery carries the runs' ends; Redis drops it once, then answers again.
        if not failed and "save_delivery" in steps.args and "end_run" in steps.args:
            failed.append(list(steps.args))
            steps.keys, steps.args = [], []
            raise redis.ConnectionError("Connection reset by peer")
        return original(steps)

    monkeypatch.setattr(Steps, "run", blip)
    monkeypatch.setattr(app.extensions["celery"].tasks[tasks.DELIVER], "apply_async", lambda **kwargs: None)
    run(app, tasks.PROCESS_EVENT, "e1")
    assert failed
    # Ended with the task's last write instead: a blip is not a worker dying mid-item (MAX_CUT_SHORT counts those).
    assert list(services.store.redis.scan_iter("hookdock:runs:*")) == []
