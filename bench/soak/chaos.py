"""The soak's processes (Redis with AOF, devflow, gunicorn, the Celery worker processes) and the harm done to them."""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path

import redis
import requests

from bench.payload import SECRET
from bench.stack import Program, Workers, celery_worker, devflow, free_port, gunicorn
from bridge import sequence
from bridge.embedded import EmbeddedRedis

CONFIG = Path(__file__).with_name("soak.yml")
ROUTE = "soak"
WORKER_PROCESSES = 2  # as serve and docker-compose run it
# Celery's own line for every task a worker takes, whoever queued it (the web, a retry, a recovery sweep).
RECEIVED = re.compile(r"Task (hookdock\.\w+)\[[^\]]+\] received")


class SoakStack:
    """Every process of one soak, with a timeline of what was done to them; close() stops them all."""

    def __init__(self, work: Path):
        self.work = work
        self.redis = EmbeddedRedis(work / "redis", port=free_port())
        self.programs: list[Program | Workers] = []
        self.worker: Workers | None = None
        self.workers_started = 0
        self.started = time.time()
        self.timeline: list[dict] = []

    def note(self, what: str, when: float | None = None) -> None:
        """Record what happened (now, or at a given wall-clock time), in seconds since the stack started."""
        self.timeline.append({"at_s": round((when or time.time()) - self.started, 1), "what": what})

    def start(self, random_faults: dict) -> None:
        """Redis, devflow misbehaving as asked, the web and one worker, each ready."""
        self.redis.start()
        self.client = redis.Redis.from_url(self.redis.url)
        program, self.devflow_url = devflow(self.work)
        self.programs.append(program)
        answer = requests.put(f"{self.devflow_url}/_devflow/faults/random", json=random_faults, timeout=10)
        answer.raise_for_status()
        self.faults = answer.json()["random"]
        self.env = {"HOOKDOCK_CONFIG": str(CONFIG), "REDIS_URL": self.redis.url, "SOAK_API_URL": self.devflow_url, "SOAK_WEBHOOK_SECRET": SECRET}
        web, url = gunicorn("web", "app:app", self.work, self.env, ready="/readyz")
        self.programs.append(web)
        self.hook_url = f"{url}/hooks/{ROUTE}"
        self.start_worker()
        self.note("stack ready")

    def start_worker(self) -> None:
        """A fresh worker under a new name, so each one's log is kept."""
        self.workers_started += 1
        self.worker = celery_worker(f"worker{self.workers_started}", WORKER_PROCESSES, self.work, self.env)
        self.programs.append(self.worker)

    def kill_worker(self) -> None:
        """SIGKILL every worker process at once, as a lost host would, then start another worker."""
        self.worker.kill()  # reaps them and closes their logs
        self.note(f"SIGKILL {self.worker.name}")
        self.start_worker()
        self.note(f"{self.worker.name} ready")

    def restart_redis(self) -> None:
        """Stop Redis (it flushes its append-only file) and start it again on the same port and file."""
        self.redis.stop()
        self.note("Redis stopped")
        self.redis.start()
        self.note("Redis ready again")

    def random_faults_drawn(self) -> dict:
        """devflow's random-fault profile with what it drew."""
        return requests.get(f"{self.devflow_url}/_devflow/faults/random", timeout=10).json()["random"]

    def tasks_received(self) -> dict[str, int]:
        """How many tasks of each name the workers took, from their logs: repeats show up here."""
        counts: Counter[str] = Counter()
        for program in self.programs:
            if program.name.startswith("worker"):
                counts.update(RECEIVED.findall(program.output()))
        return dict(counts)

    def broker_quiet(self) -> bool:
        """No task queued or in a worker's hands: nothing more can reach the chat server."""
        return sequence.idle(self.client, "celery")

    def close(self) -> None:
        """Stop everything, newest first, Redis last."""
        for program in reversed(self.programs):
            try:
                program.stop()
            except Exception as exc:  # keep stopping the others
                print(f"soak: could not stop {program.name}: {exc}")
        self.redis.stop()
