"""Find work whose task was lost and queue it again.

Redis does not make Celery's hand-over atomic: a worker killed between taking a task off the
queue and recording it as unacknowledged loses that task, and kombu cannot restore it. Every
event and delivery still waiting for a task is tracked in Redis; what nothing has touched for
longer than any task may legitimately take is queued again. Both tasks are idempotent, so a
task that was merely slow costs a repeat, never a second message.
"""

from __future__ import annotations

import logging
import threading
import time

from celery import Celery

from bridge.pipeline import Services
from bridge.tasks import DELIVER, PROCESS_EVENT

log = logging.getLogger(__name__)
LOCK = "hookdock:recovery-lock"


def interval(services: Services) -> float:
    """Seconds between sweeps: a few per visibility timeout, at most a minute."""
    return max(1.0, min(60.0, services.config.delivery.visibility_timeout / 4))


def horizon(services: Services, now: float) -> float:
    """Older than this, an item cannot be waiting in a worker's hands any more."""
    policy = services.config.delivery
    return now - (policy.visibility_timeout + policy.backoff_cap + policy.timeout)


def sweep(services: Services, celery: Celery, now: float | None = None) -> tuple[list[str], list[str]]:
    """Queue again every stale event and delivery; one sweeper at a time across workers."""
    store = services.store
    if not store.redis.set(LOCK, "1", nx=True, ex=max(1, int(interval(services)))):
        return [], []
    before = horizon(services, time.time() if now is None else now)
    events, deliveries = store.unsettled("events", before), store.unsettled("deliveries", before)
    for kind, items, task in (("events", events, PROCESS_EVENT), ("deliveries", deliveries, DELIVER)):
        for item in items:
            store.touch(kind, item)
            celery.send_task(task, args=[item])
    if events or deliveries:
        log.warning("recovered %d event(s) and %d delivery(ies) whose task was lost", len(events), len(deliveries))
    return events, deliveries


def start(services: Services, celery: Celery) -> threading.Thread:
    """Sweep in a daemon thread of the worker's main process for as long as it runs."""

    def loop() -> None:
        while True:
            time.sleep(interval(services))
            try:
                sweep(services, celery)
            except Exception:  # a sweep must never stop the worker; the next one tries again
                log.exception("recovery sweep failed")

    thread = threading.Thread(target=loop, name="hookdock-recovery", daemon=True)
    thread.start()
    return thread
