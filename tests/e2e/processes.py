"""Start the real programs as processes for end-to-end tests, and always stop them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from bridge.supervisor import worker_command
from tests.support import free_port, wait_until

PROJECT = Path(__file__).resolve().parents[2]


class Program:
    """A child process whose output goes to a log file shown when a test fails."""

    def __init__(self, name: str, argv: list[str], log_dir: Path, env: dict | None = None):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self.log = open(self.log_path, "wb")
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.process = subprocess.Popen(
            argv, cwd=PROJECT, env=full_env, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )

    def output(self) -> str:
        """Everything the program printed so far."""
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the program and every process it started, as a crash or the OOM killer would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Signal the program, wait for it, kill it at the deadline; return its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
        return self.process.returncode


def python(*args: str) -> list[str]:
    """argv running this interpreter, as the Makefile's virtualenv does."""
    return [sys.executable, *args]


def wait_for_http(url: str, program: Program, timeout: float = 30) -> None:
    """Wait until url answers 200, failing early with the log if the program died."""

    def up() -> bool:
        if program.process.poll() is not None:
            raise AssertionError(f"{program.name} exited with {program.process.returncode}:\n{program.output()[-3000:]}")
        try:
            return requests.get(url, timeout=2).status_code == 200
        except (requests.ConnectionError, requests.Timeout):
            return False

    wait_until(up, timeout, what=f"{program.name} at {url}")


def wait_for_line(program: Program, prefix: str, timeout: float = 30) -> str:
    """Wait for a line starting with prefix in the program's output; return the rest of it."""

    def found():
        for line in program.output().splitlines():
            if line.startswith(prefix):
                return line[len(prefix) :].strip()
        if program.process.poll() is not None:
            raise AssertionError(f"{program.name} exited with {program.process.returncode}:\n{program.output()[-3000:]}")
        return None

    return wait_until(found, timeout, what=f"{prefix!r} from {program.name}")


def start_devflow(tmp_path: Path) -> tuple[Program, str]:
    """devflow on a port of its choosing, listening; returns the program and its base URL."""
    program = Program("devflow", python("-m", "bridge", "devflow", "--port", "0"), tmp_path)
    return program, wait_for_line(program, "devflow listening on ")


def start_web(tmp_path: Path, env: dict, name: str = "web") -> tuple[Program, str]:
    """gunicorn serving app:app with the shipped settings on a free port, ready; returns the program and its base URL."""
    port = free_port()
    program = Program(
        name, python("-m", "gunicorn", "--config", str(PROJECT / "gunicorn.conf.py"), "app:app", "--bind", f"127.0.0.1:{port}", "--workers", "1"), tmp_path, env
    )
    wait_for_http(f"http://127.0.0.1:{port}/readyz", program)
    return program, f"http://127.0.0.1:{port}"


class Workers:
    """The worker's solo processes, started, killed and stopped together, their output read as one."""

    def __init__(self, name: str, programs: list[Program]):
        self.name = name
        self.programs = programs

    def output(self) -> str:
        """Everything the processes printed so far, one after the other."""
        return "".join(program.output() for program in self.programs)

    def kill(self) -> None:
        """SIGKILL every process, as a crash of the whole host or the OOM killer would."""
        for program in self.programs:
            program.kill()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Signal every process first (each finishes the task in hand), then wait for each; the first non-zero exit code, or 0."""
        for program in self.programs:
            if program.process.poll() is None:
                program.process.send_signal(sig)
        deadline = time.monotonic() + timeout
        for program in self.programs:
            try:
                program.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        # Signalled once: a second SIGTERM could turn Celery's warm shutdown cold.
        codes = [program.stop(signal.SIGKILL, 0) for program in self.programs]
        return next((code for code in codes if code), 0)


def start_worker(tmp_path: Path, env: dict, name: str = "worker", concurrency: int = 2) -> Workers:
    """The worker as serve runs it: concurrency solo Celery processes consuming the queue, each ready."""
    programs = [Program(f"{name}-{n}", worker_command(f"{name}-{n}"), tmp_path, env) for n in range(1, concurrency + 1)]
    for program in programs:
        wait_until(lambda p=program: " ready." in p.output() or _died(p), 60, what=f"{program.name} to be ready")
    return Workers(name, programs)


def _died(program: Program) -> bool:
    if program.process.poll() is not None:
        raise AssertionError(f"{program.name} exited with {program.process.returncode}:\n{program.output()[-3000:]}")
    return False
