"""`python -m bridge serve`: start Redis, gunicorn, a Celery worker (and devflow) and stop them together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bridge.config import find_path
from bridge.embedded import EmbeddedRedis

PROJECT_DIR = Path(__file__).resolve().parent.parent
GUNICORN_CONF = PROJECT_DIR / "gunicorn.conf.py"
STOP_TIMEOUT = 20.0


def child_commands(args) -> list[tuple[str, list[str]]]:
    """Name and argv of each child, in start order."""
    py = sys.executable
    children = []
    if args.with_devflow:
        children.append(("devflow", [py, "-m", "bridge", "devflow", "--port", str(args.devflow_port)]))
    children.append(("worker", [py, "-m", "celery", "-A", "app.celery_app", "worker", "--concurrency", str(args.concurrency), "--loglevel", "INFO"]))
    # gunicorn.conf.py holds every other web setting, the same for the Dockerfile and docker-compose.
    web = [py, "-m", "gunicorn", "--config", str(GUNICORN_CONF), "app:app", "--bind", f"{args.host}:{args.port}", "--workers", str(args.web_workers)]
    children.append(("web", web))
    return children


def serve(args) -> int:
    """Run until SIGINT/SIGTERM or until a child dies; then stop everything, Redis last."""
    embedded = None
    env = dict(os.environ, HOOKDOCK_CONFIG=str(find_path(args.config).resolve()))
    if not env.get("REDIS_URL"):
        embedded = EmbeddedRedis(args.data_dir)
        env["REDIS_URL"] = embedded.start()
        print(f"hookdock: embedded Redis at {env['REDIS_URL']} (AOF on, data in {embedded.data_dir})", flush=True)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    children: list[tuple[str, subprocess.Popen]] = []
    try:
        for name, argv in child_commands(args):
            # Own session: a terminal's Ctrl-C reaches only us, and we stop children in order.
            children.append((name, subprocess.Popen(argv, cwd=PROJECT_DIR, env=env, start_new_session=True)))
        print(f"hookdock: webhooks on http://{args.host}:{args.port}/hooks/<route>", flush=True)
        failed = wait_for_stop(children, stopping)
    finally:
        stop_all(children)
        if embedded:
            embedded.stop()
    return 1 if failed else 0


def wait_for_stop(children, stopping) -> str | None:
    """Block until asked to stop (None) or a child exits (its name)."""
    while not stopping:
        for name, process in children:
            if process.poll() is not None:
                print(f"hookdock: {name} exited with {process.returncode}; stopping", file=sys.stderr, flush=True)
                return name
        time.sleep(0.2)
    return None


def stop_all(children) -> None:
    """SIGTERM every child newest first: the web stops taking events before the worker stops delivering."""
    for _, process in reversed(children):
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT
    for _, process in children:
        try:
            process.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
