"""Celery glue: the two tasks, their serialization and their retry policy; the logic is in pipeline."""

from __future__ import annotations

import logging
import time
from contextlib import suppress
from functools import partial

import redis
from celery import Celery, bootsteps
from celery.exceptions import Retry
from celery.signals import task_received, worker_init, worker_ready
from celery.worker import state as worker_state
from kombu.exceptions import OperationalError

from bridge import broker, kombu_redis, liveness, pipeline, sequence, workerlog  # noqa: F401  (workerlog: the worker's log setup, by Celery signals)
from bridge.store import Event, Steps, Store, event_from

log = logging.getLogger(__name__)
# Named in bridge/broker.py, which the web queues process_event with, without loading Celery.
PROCESS_EVENT = broker.PROCESS_EVENT
DELIVER = broker.DELIVER
KINDS = {PROCESS_EVENT: "events", DELIVER: "deliveries"}
# Redis being away or busy is worth waiting for; any other error (a refused encoding, a script
# error, a bug) would fail the same way again, so it fails the item at once.
TRANSIENT = (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError, OperationalError)
# 1, 2, 4, ... 60 s: about ten minutes of Redis trouble before an item is given up as failed.
MAX_TROUBLES = 14
TROUBLE_BACKOFF_CAP = 60
# Runs cut short by a dying worker before an item is declared poisonous.
MAX_CUT_SHORT = 5


class Runs:
    """One task's runs on its items (the store steps start_run and end_run): a run's end waits for the task's next write, so it takes no round trip of its own."""

    def __init__(self, store: Store, worker: str):
        self.store, self.worker = store, worker
        self.ending: Steps = store.steps()
        # Ends handed to an item's settling write (Runs.closing), with the runs they end.
        self.carried: list[tuple[Steps, tuple[tuple[str, str], ...]]] = []

    def start(self, kind: str, item_id: str, load: bool = False, seq: int | None = None) -> tuple[int, Event | None]:
        """Hold the item and count this run, with the ends due (with seq, receiving its task so numbered; with load, reading the event); the count and the event."""
        steps, self.ending = self.ending, self.store.steps()
        if seq is not None:
            steps.receive(kind, item_id, seq)
        steps.start_run(kind, item_id, self.worker)
        if load:
            steps.load_event(item_id)
        replies = steps.run()
        return replies[0], event_from(replies[1]) if load else None

    def end(self, kind: str, item_id: str) -> None:
        """The run on an item finished: counted off with the next write, unless the item's settling write took its end already."""
        # A settling write that failed (a Redis blip) took no end with it: ending the run again keeps a blip from counting as a crash.
        if not any(steps.written and (kind, item_id) in items for steps, items in self.carried):
            self.ending.end_run(kind, item_id)

    def closing(self, *items: tuple[str, str]) -> Steps:
        """The ends of these runs, for a write that settles the last of them to take along (nothing else follows it in the task)."""
        steps = self.store.steps()
        for kind, item_id in items:
            steps.end_run(kind, item_id)
        self.carried.append((steps, items))
        return steps

    def flush(self) -> None:
        """Write the ends due now; a failed write drops them, as a failed end_run did (the run then counts as cut short)."""
        steps, self.ending = self.ending, self.store.steps()
        steps.run()


def number_of(task) -> int | None:
    """The number the running task was queued under (bridge/sequence.py); None if it came unnumbered or was called directly."""
    seq = task.request.get(sequence.HEADER)
    return None if seq is None else int(seq)


def broker_url(redis_url: str) -> str:
    """The URL kombu takes for redis-py's: unix:// is kombu's redis+socket://, and both go through bridge/kombu_redis.py's transport."""
    if redis_url.startswith("unix://"):
        return f"{kombu_redis.SCHEME}+socket://" + redis_url[len("unix://") :]
    if redis_url.startswith("redis://"):
        return f"{kombu_redis.SCHEME}://" + redis_url[len("redis://") :]
    return redis_url


# kombu's Redis transport copies every task it hands out into an "unacknowledged" hash and sorted set and
# deletes it again on the acknowledgement, two more round trips and about a tenth of the worker's CPU per
# message, so that a dead worker's tasks come back after the visibility timeout. hookdock already brings
# them back itself, sooner: every item a worker holds is recorded with its worker, and every task is
# numbered as it is queued, so the recovery sweep (bridge/recovery.py) queues again what a dead worker
# held and what was taken off the queue but never received. kombu's copy is therefore left off; a
# worker that stops gracefully still puts the tasks it was holding back on the queue, and one that
# lost its broker connection queues again the retries Celery dropped (TakeBackDropped below).
TRANSPORT_OPTIONS = {"ack_emulation": False}


def make_celery(services: pipeline.Services, redis_url: str) -> Celery:
    """A Celery app whose tasks close over the shared services."""
    celery = Celery("hookdock", broker=broker_url(redis_url), set_as_current=False)
    celery.conf.update(
        # Both tasks are idempotent (deterministic delivery ids and message uuids), so it is safe to
        # acknowledge only after they finish: a worker that stops puts back what it has not finished.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # One task at a time per process: a dying worker takes nothing else down with it.
        worker_prefetch_multiplier=1,
        broker_transport_options=TRANSPORT_OPTIONS,
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        # The web queues process_event here itself (bridge/broker.py): one name for both sides.
        task_default_queue=broker.QUEUE,
    )

    # Not shared: each app (one per test, too) keeps tasks that close over its own services.
    @celery.task(name=PROCESS_EVENT, bind=True, max_retries=None, shared=False)
    def process_event(self, event_id: str, only_target: str | None = None, troubles: int = 0) -> None:
        """Render an event and make each target's first attempt; later tries are deliver tasks."""
        runs = Runs(services.store, liveness.identity())
        loaded: list[Event | None] = []

        def start() -> int:
            # The event is read in the round trip that holds it.
            count, event = runs.start("events", event_id, load=True, seq=number_of(self))
            loaded.append(event)
            return count

        def work() -> None:
            # Attempting here rather than in a task of its own halves the tasks per message, the
            # worker's largest cost; a redelivered process_event skips what was delivered.
            saved: dict[str, pipeline.Delivery] = {}
            started: dict[str, int] = {}
            reserved: dict[str, float] = {}
            pending = pipeline.process_loaded(services, event_id, loaded[0], only_target, runs.worker, saved, started, reserved)
            for i, delivery_id in enumerate(pending):
                # Settling the last delivery is the task's last write: the runs end with it.
                closing = runs.closing(("deliveries", delivery_id), ("events", event_id)) if i == len(pending) - 1 else None
                attempt = partial(pipeline.attempt, services, delivery_id, saved.get(delivery_id), closing, reserved.get(delivery_id))
                wait = guarded(self, "deliveries", delivery_id, attempt, troubles, runs, inline=True, started=started.get(delivery_id))
                if wait is not None:
                    # Its run ends before its next try is queued, as a task of its own would end it.
                    with suppress(redis.RedisError):
                        runs.flush()
                    deliver.apply_async(args=[delivery_id], countdown=wait, headers=numbered("deliveries", delivery_id))

        guarded(self, "events", event_id, work, troubles, runs, start=start)

    @celery.task(name=DELIVER, bind=True, max_retries=None, shared=False)
    def deliver(self, delivery_id: str, troubles: int = 0) -> None:
        """Make one attempt; schedule the next when the answer says to retry."""
        runs = Runs(services.store, liveness.identity())
        closing = runs.closing(("deliveries", delivery_id))
        wait = guarded(self, "deliveries", delivery_id, lambda: pipeline.attempt(services, delivery_id, closing=closing), troubles, runs)
        if wait is not None:
            raise self.retry(countdown=wait, headers=numbered("deliveries", delivery_id))

    def guarded(task, kind: str, item_id: str, work, troubles: int, runs: Runs, inline: bool = False, started: int | None = None, start=None):
        """Run work on one item; whatever escapes leaves the item failed with why, and nothing is retried without limit.

        inline: the item is worked on inside another item's task, so Redis trouble hands it to a
        task of its own (returned as a wait) rather than retrying the task around it; its run's end
        goes with the task's next write. started: the run's count, when it began with earlier writes;
        start: what begins the run otherwise (runs.start by default, receiving the task's own item).
        """
        try:
            if started is None:
                started = start() if start is not None else runs.start(kind, item_id, seq=None if inline else number_of(task))[0]
            cut_short = started - 1
        except TRANSIENT as exc:
            return TROUBLE_BACKOFF_CAP if inline else retry_or_give_up(task, kind, item_id, exc, troubles)
        try:
            if cut_short >= MAX_CUT_SHORT:
                # Something about this item kills workers (memory, a native crash): stop feeding it to them.
                pipeline.fail(services, kind, item_id, f"a worker died {cut_short} times while handling it; replay it once the cause is fixed")
                return None
            return work()
        except Retry:
            raise
        except TRANSIENT as exc:
            return TROUBLE_BACKOFF_CAP if inline else retry_or_give_up(task, kind, item_id, exc, troubles)
        except Exception as exc:  # a bug or an input nobody foresaw: record it where operators look
            log.exception("%s %s failed", kind, item_id)
            give_up(kind, item_id, pipeline.failure_reason(exc))
            return None
        finally:
            runs.end(kind, item_id)
            if not inline:
                with suppress(redis.RedisError):
                    runs.flush()

    def retry_or_give_up(task, kind: str, item_id: str, exc: Exception, troubles: int) -> None:
        """Redis or the broker failed: retry later with backoff (raises Retry), up to MAX_TROUBLES times, then fail the item."""
        if troubles < MAX_TROUBLES:
            log.warning("%s %s: %s; retrying", kind, item_id, exc)
            kwargs = {**(task.request.kwargs or {}), "troubles": troubles + 1}
            raise task.retry(exc=exc, countdown=min(TROUBLE_BACKOFF_CAP, 2**troubles), kwargs=kwargs, headers=numbered(kind, item_id))
        give_up(kind, item_id, f"Redis kept failing ({MAX_TROUBLES} retries): {type(exc).__name__}: {exc}")

    def numbered(kind: str, item_id: str) -> dict:
        """Headers numbering a publish for an item (bridge/sequence.py); none when Redis cannot answer.

        Unnumbered, the item stays held by this worker: if the task is lost, the sweep takes it back
        once this worker dies or the hold is long overdue.
        """
        try:
            return sequence.stamp(services.store.redis, kind, item_id)
        except redis.RedisError as exc:
            log.warning("%s %s: could not number its task: %s", kind, item_id, exc)
            return {}

    def give_up(kind: str, item_id: str, reason: str) -> None:
        """Mark the item failed; if even that fails, the recovery sweep finds it still unsettled later."""
        try:
            pipeline.fail(services, kind, item_id, reason)
        except Exception:
            log.exception("could not record that %s %s failed: %s", kind, item_id, reason)

    @task_received.connect(weak=False)
    def note_holder(sender, request, **kwargs) -> None:
        """A task with a retry's countdown (or an unnumbered one) came into this worker's hands: hold its item until it is due."""
        kind = KINDS.get(request.task_name)
        if kind is None or sender.app is not celery or not request.args:
            return
        seq = request.request_dict.get(sequence.HEADER)
        if request.eta is None and seq is not None:
            # Due now, it runs at once (a solo worker, prefetch 1) and its run's start receives it in the round trip
            # that holds it. Lost before that, it still waits under its number: the sweep finds it GRACE after the queue passed it.
            return
        due = request.eta.timestamp() if request.eta else time.time()
        try:
            sequence.receive(services.store.redis, kind, request.args[0], liveness.identity(), due, seq)
        except Exception:  # the consumer must keep consuming; the task itself holds the item when it runs
            log.exception("could not note that this worker holds %s %s", kind, request.args[0])

    class TakeBackDropped(bootsteps.StartStopStep):
        """Each time the consumer starts (again after a lost broker connection), queue again what this worker holds but dropped."""

        requires = {"celery.worker.consumer.tasks:Tasks"}

        def start(self, parent) -> None:
            from bridge import recovery

            # What the worker still has: on a lost connection Celery drops what was reserved or waiting for its countdown, keeping what runs.
            in_hand = {(KINDS[r.task_name], r.args[0]) for r in worker_state.active_requests if r.task_name in KINDS and r.args}
            try:
                recovery.take_back_dropped(services, celery, in_hand)
            except Exception:  # Redis away again: the sweep still takes them back at its horizon
                log.exception("could not queue again what this worker held")

    celery.steps["consumer"].add(TakeBackDropped)

    @worker_init.connect(weak=False)
    def announce(sender, **kwargs) -> None:
        """Take an identity and beat once before the pool forks, so every pool process shares both."""
        if sender.app is celery:
            liveness.beat(services.store.redis, liveness.identity())

    @worker_ready.connect(weak=False)
    def start_recovery(sender, **kwargs) -> None:
        """Each worker keeps its heartbeat and sweeps for work whose task was lost (bridge/recovery.py)."""
        if sender.app is celery:
            from bridge import recovery

            liveness.start(services.store.redis, liveness.identity())
            recovery.start(services, celery)

    return celery
