"""Find work whose task was lost and queue it again.

Work in a worker's hands is recorded as held, with the worker and when the item is due (now
while it runs, later while a retry waits). A worker that dies stops renewing its heartbeat
(bridge/liveness.py); within seconds the sweep queues again everything it held, each item at its
due time. Work a live worker holds is never queued again, unless it is long overdue, or the worker
dropped it (take_back_dropped). Redis does not make Celery's hand-over atomic either: a worker killed between
taking a task off the queue and recording it loses the task before anyone held it. Every publish
is numbered (bridge/sequence.py), so such a task is told apart from one still waiting in the
queue, however long the queue: the queue went past its number and no worker received it. Both
tasks are idempotent, so a task that turns up again anyway finds its item settled and does nothing.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

from celery import Celery

from bridge import liveness, sequence
from bridge.pipeline import Services
from bridge.tasks import DELIVER, PROCESS_EVENT

log = logging.getLogger(__name__)
LOCK = "hookdock:recovery-lock"
# Seconds between sweeps: with the heartbeat's 15 s, a dead worker's work is back within about 20 s.
SWEEP_SECONDS = 5.0
# How long the lock outlives a sweeper that died mid-sweep: no longer than a dead worker's heartbeat takes to expire anyway.
LOCK_MOST_SECONDS = 20.0
# Let go of a sweep's lock, only if it is still this sweeper's: kept until SWEEP_SECONDS after the sweep began.
RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if tonumber(ARGV[2]) > 0 then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return redis.call('DEL', KEYS[1])
"""
TASKS = {"events": PROCESS_EVENT, "deliveries": DELIVER}


def horizon(services: Services, now: float) -> float:
    """A live worker's hold due before this is long overdue: no task can still be waiting on it."""
    policy = services.config.delivery
    return now - (policy.visibility_timeout + policy.backoff_cap + policy.timeout)


def sweep(services: Services, celery: Celery, now: float | None = None) -> tuple[list[str], list[str]]:
    """Queue again what dead workers held and what was lost unheld; one sweeper at a time across workers."""
    store = services.store
    # Held for the whole sweep, however long: every worker process sweeps, and two sweeps at once would queue the same orphan twice.
    token, began = uuid.uuid4().hex, time.monotonic()
    if not store.redis.set(LOCK, token, nx=True, px=int(LOCK_MOST_SECONDS * 1000)):
        return [], []
    try:
        now = time.time() if now is None else now
        passed = sequence.advance(store.redis, celery.conf.task_default_queue, now)
        found = {kind: recover(services, celery, kind, now, passed) for kind in TASKS}
    finally:
        rest = int((SWEEP_SECONDS - (time.monotonic() - began)) * 1000) - 100
        store.redis.eval(RELEASE, 1, LOCK, token, rest)
    if found["events"] or found["deliveries"]:
        log.warning("recovered %d event(s) and %d delivery(ies) whose task was lost", len(found["events"]), len(found["deliveries"]))
    return found["events"], found["deliveries"]


def recover(services: Services, celery: Celery, kind: str, now: float, passed: int) -> list[str]:
    """Queue again one kind's items held by dead workers (at their due time) and those the queue passed (at once)."""
    store = services.store
    held = store.holdings(kind)
    living = liveness.alive(store.redis, {h["worker"] for h in held.values()})
    stale = horizon(services, now)
    # A live worker's hold is respected unless it is long overdue (its task is gone, the worker is not).
    orphans = {item: h["due"] for item, h in held.items() if h["worker"] not in living or h["due"] < stale}
    # Passed over by the queue, or (from before numbering) tracked by nothing for longer than any task waits.
    candidates = dict.fromkeys([*sequence.passed_over(store.redis, kind, passed), *sequence.untracked(store.redis, kind, stale)])
    lost = [item for item in candidates if item not in held]
    return requeue(services, celery, kind, {**orphans, **dict.fromkeys(lost, now)}, now)


def requeue(services: Services, celery: Celery, kind: str, due: dict[str, float], now: float) -> list[str]:
    """Queue each item again at its due time; numbering lets go of its hold and touches it: it waits in the queue again, for anyone."""
    for item, when in due.items():
        celery.send_task(TASKS[kind], args=[item], countdown=max(0.0, when - now), headers=sequence.stamp(services.store.redis, kind, item))
    return list(due)


def take_back_dropped(services: Services, celery: Celery, in_hand: set[tuple[str, str]], now: float | None = None) -> list[str]:
    """Queue again what this worker holds but no longer has in hand (kind, item): its consumer starts afresh.

    Celery drops the retries waiting in a worker's memory when it loses the broker connection, expecting the
    broker to hand them out again; kombu's unacknowledged copy being off, nothing would until the sweep's
    horizon (a live worker's hold is respected until then).
    """
    now = time.time() if now is None else now
    me = liveness.identity()
    found = []
    for kind in TASKS:
        dropped = {item: h["due"] for item, h in services.store.holdings(kind).items() if h["worker"] == me and (kind, item) not in in_hand}
        found += requeue(services, celery, kind, dropped, now)
    if found:
        log.warning("queued again %d item(s) this worker held when its broker connection was lost", len(found))
    return found


def start(services: Services, celery: Celery) -> threading.Thread:
    """Sweep in a daemon thread of the worker's main process for as long as it runs."""

    def loop() -> None:
        while True:
            time.sleep(SWEEP_SECONDS)
            try:
                sweep(services, celery)
            except Exception:  # a sweep must never stop the worker; the next one tries again
                log.exception("recovery sweep failed")

    thread = threading.Thread(target=loop, name="hookdock-recovery", daemon=True)
    thread.start()
    return thread
