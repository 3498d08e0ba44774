"""Start and stop the processes a bench needs: Redis, devflow, gunicorn apps, Celery worker processes, helpers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import redis
import requests

from bridge.supervisor import worker_command

PROJECT = Path(__file__).resolve().parents[1]
# The same gunicorn settings for every web under test, as the Dockerfile runs it (minus the access log).
GUNICORN = ["--config", str(PROJECT / "gunicorn.conf.py"), "--workers", "2", "--access-logfile", "/dev/null"]


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, timeout: float, what: str, interval: float = 0.05):
    """Poll condition until it returns something truthy; raise at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


class Program:
    """A child process in its own session, logging to a file; stopped with its children."""

    def __init__(self, name: str, argv: list[str], log_dir: Path, env: dict | None = None):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            argv,
            cwd=PROJECT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.pid = self.process.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def check_alive(self) -> None:
        """Fail with the end of the log if the program died."""
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.output()[-3000:]}")

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM, then SIGKILL the whole process group at the deadline."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)  # leftovers: a worker that outlived its master
        except ProcessLookupError:
            pass
        self.process.wait()
        self.log.close()


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def wait_for_http(url: str, program: Program, timeout: float = 30) -> None:
    """Wait until url answers 200, failing early if the program died."""

    def up() -> bool:
        program.check_alive()
        try:
            return requests.get(url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    wait_until(up, timeout, f"{program.name} at {url}")


def gunicorn(name: str, app: str, log_dir: Path, env: dict | None = None, ready: str = "/healthz") -> tuple[Program, str]:
    """gunicorn serving app on a free loopback port, ready; returns the program and its base URL."""
    port = free_port()
    program = Program(name, python("-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}", *GUNICORN), log_dir, env)
    url = f"http://127.0.0.1:{port}"
    wait_for_http(url + ready, program)
    return program, url


def devflow(log_dir: Path) -> tuple[Program, str]:
    """devflow on a free port; returns the program and its URL once it says where it listens."""
    program = Program("devflow", python("-m", "bridge", "devflow", "--port", "0"), log_dir)

    def listening():
        program.check_alive()
        for line in program.output().splitlines():
            if line.startswith("devflow listening on "):
                return line.split()[-1]
        return None

    return program, wait_until(listening, 30, "devflow to listen")


class Workers:
    """hookdock's worker as serve runs it: solo Celery processes, each in its own session, handled together."""

    def __init__(self, name: str, programs: list[Program]):
        self.name = name
        self.programs = programs
        self.pids = [program.pid for program in programs]

    def output(self) -> str:
        return "".join(program.output() for program in self.programs)

    def check_alive(self) -> None:
        for program in self.programs:
            program.check_alive()

    def kill(self) -> None:
        """SIGKILL every process, as the OOM killer or a lost host would, and reap them."""
        for program in self.programs:
            os.killpg(program.pid, signal.SIGKILL)
        self.stop()

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM every process at once (each finishes the task in hand), then as Program.stop does."""
        for program in self.programs:
            if program.process.poll() is None:
                program.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for program in self.programs:
            program.stop(max(0.0, deadline - time.monotonic()))


def celery_worker(name: str, processes: int, log_dir: Path, env: dict) -> Workers:
    """hookdock's worker in as many solo processes (bridge/supervisor.py's command), each ready to consume."""
    programs = [Program(f"{name}-{n}", worker_command(f"{name}-{n}"), log_dir, env) for n in range(1, processes + 1)]
    for program in programs:
        wait_until(lambda p=program: p.check_alive() or " ready." in p.output(), 60, f"{program.name} to be ready", 0.1)
    return Workers(name, programs)


def clear_redis(client: redis.Redis) -> None:
    """Drop hookdock's records and the queue, but keep kombu's bindings: the web would not declare them again."""
    keys = [k for k in client.scan_iter(count=1000) if not k.startswith(b"_kombu.binding")]
    for i in range(0, len(keys), 1000):
        client.delete(*keys[i : i + 1000])


def used_memory(client: redis.Redis) -> int:
    """INFO memory used_memory, in bytes."""
    return int(client.info("memory")["used_memory"])


def tree_cpu(*pids: int) -> float:
    """CPU seconds (user + system) live processes and their descendants have used so far."""
    roots = [psutil.Process(pid) for pid in pids]
    return sum(sum(p.cpu_times()[:2]) for root in roots for p in [root, *root.children(recursive=True)])


def redis_usage(client) -> tuple[float, int]:
    """Redis's own CPU seconds and the commands it has run so far."""
    cpu = client.info("cpu")
    return cpu["used_cpu_sys"] + cpu["used_cpu_user"], sum(v["calls"] for v in client.info("commandstats").values())


class Devflow:
    """The test controls of a running devflow."""

    def __init__(self, url: str):
        self.url = url

    def reset(self) -> None:
        requests.post(f"{self.url}/_devflow/reset", timeout=10).raise_for_status()

    def delay(self, seconds: float) -> None:
        """Every API request waits this long before it is served normally."""
        requests.delete(f"{self.url}/_devflow/faults", timeout=10).raise_for_status()
        if seconds:
            requests.post(f"{self.url}/_devflow/faults", json={"delay": seconds, "times": 1000000}, timeout=10).raise_for_status()

    def messages(self, since_id: int = 0) -> list[dict]:
        """The messages stored after the one numbered since_id, oldest first."""
        return requests.get(f"{self.url}/_devflow/messages", params={"since_id": since_id}, timeout=30).json()["messages"]

    def posted_bodies(self) -> list[dict]:
        """The JSON bodies of the posts devflow received, in arrival order."""
        entries = requests.get(f"{self.url}/_devflow/requests", timeout=30).json()["requests"]
        return [e["json"] for e in entries if e["method"] == "POST" and e["json"] is not None]


def dump(path: Path, data) -> Path:
    path.write_text(json.dumps(data))
    return path
