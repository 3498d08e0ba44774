"""python -m bench: run hookdock and its baselines side by side, print a table, write bench/results/latest.json."""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import redis

from bench import delivery, ingest, report
from bench.memory import PeakRSS
from bench.payload import ROUTE, SECRET
from bench.stack import PROJECT, Devflow, Program, Workers, celery_worker, clear_redis, devflow, free_port, gunicorn, python
from bridge.embedded import EmbeddedRedis

RESULTS = PROJECT / "bench" / "results" / "latest.json"
# Pacing and backoff must not cap what is measured; the worker's own speed should.
CONFIG = """\
api_url: {api_url}
delivery: {{max_attempts: 3, backoff_base: 0.05, backoff_cap: 1, timeout: 5, visibility_timeout: 60}}
targets:
  bench-chat: {{org: acme, flow: main, token: devflow-token, rate_limit: {{per_second: 100000, burst: 100000}}}}
routes:
  {route}: {{source: github, secret: "{secret}", targets: [bench-chat]}}
"""


class Stack:
    """Every process of the bench, registered so that all of them are stopped at the end."""

    def __init__(self, work: Path):
        self.work = work
        self.programs: list[Program | Workers] = []
        self.rss = PeakRSS().start()
        self.redis = EmbeddedRedis(work / "redis", port=free_port())

    def start(self) -> None:
        """The private Redis and devflow, which every run shares."""
        self.redis.start()
        self.rss.watch("redis", self.redis.process.pid)
        self.client = redis.Redis.from_url(self.redis.url)
        program, url = devflow(self.work)
        self.programs.append(program)
        self.devflow_pid = program.pid
        self.devflow = Devflow(url)
        config = self.work / "bench.yml"
        config.write_text(CONFIG.format(api_url=url, route=ROUTE, secret=SECRET))
        self.env = {"HOOKDOCK_CONFIG": str(config), "REDIS_URL": self.redis.url}

    def web(self, name: str, app: str, env: dict | None = None, ready: str = "/healthz") -> tuple[Program, str]:
        """A gunicorn app with the shared settings, watched for memory."""
        program, url = gunicorn(name, app, self.work, env, ready)
        return self._track(name, program), url

    def worker(self, name: str, processes: int) -> Workers:
        """hookdock's worker (solo Celery processes), watched for memory as one."""
        workers = celery_worker(name, processes, self.work, self.env)
        self.programs.append(workers)
        for pid in workers.pids:
            self.rss.watch(name, pid)
        return workers

    def _track(self, name: str, program: Program) -> Program:
        self.programs.append(program)
        self.rss.watch(name, program.pid)
        return program

    def stop(self, program: Program | Workers) -> None:
        self.rss.forget(program.name)
        program.stop()
        self.programs.remove(program)

    def clear(self) -> None:
        """Empty hookdock's records and the queue between runs."""
        clear_redis(self.client)

    def run_json(self, name: str, argv: list[str], timeout: float, watch: bool = False) -> dict:
        """Run a bench helper process to the end and parse the JSON it prints."""
        process = subprocess.Popen(python(*argv), cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        if watch:
            self.rss.watch(name, process.pid)
        try:
            out, err = process.communicate(timeout=timeout)
        except BaseException:  # a timeout, or the bench itself being stopped
            os.killpg(process.pid, signal.SIGKILL)  # with rawpost's pool processes
            process.communicate()
            raise
        finally:
            self.rss.forget(name)
        if process.returncode != 0:
            raise RuntimeError(f"{name} failed ({process.returncode}): {err.decode()[-2000:]}")
        return json.loads(out)

    def loadgen(
        self,
        url: str,
        *,
        duration: float = 10,
        warmup: float = 0,
        count: int | None = None,
        rate: float = 0,
        connections: int = 16,
        timeout: float = 5,
        vary: bool = False,
    ) -> dict:
        """The load generator in its own process; its JSON summary."""
        argv = [
            "-m",
            "bench.loadgen",
            url,
            "--duration",
            str(duration),
            "--warmup",
            str(warmup),
            "--rate",
            str(rate),
            "--connections",
            str(connections),
            "--timeout",
            str(timeout),
        ]
        argv += ["--count", str(count)] if count else []
        argv += ["--vary"] if vary else []
        return self.run_json("loadgen", argv, timeout=warmup + duration + timeout + 120)

    def close(self) -> dict:
        """Stop everything, newest first, Redis last; return the memory peaks."""
        for program in reversed(self.programs):
            try:
                program.stop()
            except Exception as exc:  # keep stopping the others
                print(f"bench: could not stop {program.name}: {exc}", file=sys.stderr)
        self.redis.stop()
        return self.rss.stop()


def machine() -> dict:
    """What the figures were measured on."""
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_avg_at_start": os.getloadavg(),
    }


def main() -> int:
    """Run everything once, stop everything always, then report."""
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="hookdock-bench-"))
    results: dict = {"machine": machine(), "started_at": time.time()}
    stack = Stack(work)
    # make's or a supervisor's SIGTERM must still run the finally below and stop every child.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        stack.start()
        results["ingest"] = ingest.run(stack)
        results["delivery"] = delivery.run(stack, results["ingest"]["hookdock_url"])
    except BaseException:
        print(f"bench: failed; process logs are in {work}", file=sys.stderr)
        raise
    finally:
        results["rss"] = stack.close()
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    results["aims"] = report.aims(results)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(report.table(results))
    print(f"\nraw figures: {RESULTS.relative_to(PROJECT)}; {results['elapsed_s']:.0f} s in all")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
