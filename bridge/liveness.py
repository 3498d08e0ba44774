"""Which worker is alive: each worker's identity and a heartbeat key in Redis that expires soon after it dies.

A worker that is SIGKILLed cannot say goodbye; its heartbeat simply stops being renewed, and
within HEARTBEAT_TTL seconds every other worker can tell that what it held is nobody's any more.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid

import redis

log = logging.getLogger(__name__)
PREFIX = "hookdock:alive:"
# Every worker with the time its heartbeat runs out, so pages can list the living without scanning every key.
ROSTER = "hookdock:workers"
# Renewed every BEAT_SECONDS; three missed beats in a row mean the worker is gone.
BEAT_SECONDS = 5.0
HEARTBEAT_TTL = 15
_identity: str | None = None


def identity() -> str:
    """This worker's name for its holds: unique per start, so a restarted worker never inherits a dead one's."""
    global _identity
    if _identity is None:
        # Once per worker process (serve's solo ones each have their own); a prefork pool's children inherit it.
        _identity = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    return _identity


def beat(client: redis.Redis, worker: str) -> None:
    """Say this worker is alive for the next HEARTBEAT_TTL seconds."""
    now = time.time()
    pipe = client.pipeline(transaction=False)
    pipe.set(PREFIX + worker, "1", ex=HEARTBEAT_TTL)
    pipe.zadd(ROSTER, {worker: now + HEARTBEAT_TTL})
    pipe.zremrangebyscore(ROSTER, "-inf", now)
    pipe.execute()


def alive(client: redis.Redis, workers: set[str]) -> set[str]:
    """The workers among these whose heartbeat has not expired."""
    ordered = sorted(workers)
    pipe = client.pipeline(transaction=False)
    for worker in ordered:
        pipe.exists(PREFIX + worker)
    return {w for w, up in zip(ordered, pipe.execute(), strict=True) if up}


def start(client: redis.Redis, worker: str) -> threading.Thread:
    """Renew the heartbeat in a daemon thread of the worker's main process for as long as it runs."""

    def loop() -> None:
        while True:
            try:
                beat(client, worker)
            except Exception:  # Redis trouble: the next beat tries again; a long outage ends the lease
                log.exception("heartbeat failed")
            time.sleep(BEAT_SECONDS)

    thread = threading.Thread(target=loop, name="hookdock-heartbeat", daemon=True)
    thread.start()
    return thread


def living(client: redis.Redis) -> list[str]:
    """Every worker whose heartbeat has not run out, as the roster says (by this host's clock)."""
    return sorted(w.decode() if isinstance(w, bytes) else str(w) for w in client.zrangebyscore(ROSTER, time.time(), "+inf"))
