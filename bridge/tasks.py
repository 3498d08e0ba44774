"""Celery glue: the two tasks, their serialization and their retry policy; the logic is in pipeline."""

from __future__ import annotations

import redis
from celery import Celery
from celery.signals import worker_ready
from kombu.exceptions import OperationalError

from bridge import pipeline

PROCESS_EVENT = "hookdock.process_event"
DELIVER = "hookdock.deliver"


def broker_url(redis_url: str) -> str:
    """Kombu spells a unix-socket Redis as redis+socket://; redis-py as unix://."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url[len("unix://") :]
    return redis_url


def transport_options(visibility_timeout: float) -> dict:
    """Redis transport settings that bring back a dead worker's tasks soon after the visibility timeout."""
    return {
        # Unacknowledged tasks go back to the queue after this; config keeps retry waits below it.
        "visibility_timeout": visibility_timeout,
        # Kombu sweeps for such tasks every interval x throttle seconds (100 s by default);
        # sweep every call, a few times per visibility timeout, at least every 10 s.
        "unacked_restore_interval": max(1, min(10, int(visibility_timeout / 4))),
        "unacked_restore_throttle": 1,
        # A sweep holds a lock in Redis; if its worker is killed mid-sweep the lock blocks every
        # sweep until it expires (300 s by default), so it must not outlast a sweep by much.
        "unacked_mutex_expire": max(5, min(60, int(visibility_timeout / 4))),
    }


def make_celery(services: pipeline.Services, redis_url: str) -> Celery:
    """A Celery app whose tasks close over the shared services."""
    celery = Celery("hookdock", broker=broker_url(redis_url), set_as_current=False)
    celery.conf.update(
        # Both tasks are idempotent (deterministic delivery ids and message uuids), so it is
        # safe to acknowledge only after they finish and to requeue them if a worker dies.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # One task at a time per process: a dying worker takes nothing else down with it.
        worker_prefetch_multiplier=1,
        broker_transport_options=transport_options(services.config.delivery.visibility_timeout),
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
    )

    # Redis hiccups are transient: retry the task rather than lose it (acks_late keeps it queued).
    transient = {"autoretry_for": (redis.RedisError, OperationalError), "retry_backoff": True, "retry_backoff_max": 60, "max_retries": None}

    @celery.task(name=PROCESS_EVENT, **transient)
    def process_event(event_id: str, only_target: str | None = None) -> None:
        """Render an event and make each target's first attempt; later tries are deliver tasks."""
        # Attempting here rather than in a task of its own halves the tasks per message, the
        # worker's largest cost; a redelivered process_event skips what was delivered.
        for delivery_id in pipeline.process_event(services, event_id, only_target):
            wait = pipeline.attempt(services, delivery_id)
            if wait is not None:
                deliver.apply_async(args=[delivery_id], countdown=wait)

    @celery.task(name=DELIVER, bind=True, **transient)
    def deliver(self, delivery_id: str) -> None:
        """Make one attempt; schedule the next when the answer says to retry."""
        wait = pipeline.attempt(services, delivery_id)
        if wait is not None:
            raise self.retry(countdown=wait)

    @worker_ready.connect(weak=False)
    def start_recovery(sender, **kwargs) -> None:
        """Each worker sweeps for work whose task was lost (bridge/recovery.py)."""
        if sender.app is celery:
            from bridge import recovery

            recovery.start(services, celery)

    return celery
