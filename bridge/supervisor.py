"""`python -m bridge serve`: start Redis, gunicorn, a Celery worker (and devflow) and stop them together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bridge import demo
from bridge.config import find_path, load_config
from bridge.embedded import EmbeddedRedis
from bridge.preflight import DataDirLock, Refused, check_ports

PROJECT_DIR = Path(__file__).resolve().parent.parent
GUNICORN_CONF = PROJECT_DIR / "gunicorn.conf.py"
STOP_TIMEOUT = 20.0
# devflow's own default listening address; serve does not change it.
DEVFLOW_HOST = "127.0.0.1"


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
    """Check first, then run until SIGINT/SIGTERM or until a child dies; then stop everything, Redis last."""
    # Only the local demo (with devflow) may fall back to the README's public secret.
    with demo.secret_if_unset(args.with_devflow) as demo_secret:
        return _serve(args, demo_secret)


def _serve(args, demo_secret: bool) -> int:
    """serve() once the demo secret question is settled."""
    config = load_config(args.config)  # refuse to start anything on a broken configuration
    try:
        lock = claim(args, config)
    except Refused as exc:
        print(f"hookdock: {exc}", file=sys.stderr, flush=True)
        return 1
    if demo_secret:
        print(f"hookdock: {demo.SECRET_VARIABLE} is not set: using the README's public demo secret, for this local demo only", flush=True)
    embedded = None
    env = dict(os.environ, HOOKDOCK_CONFIG=str(find_path(args.config).resolve()))
    if lock:
        embedded = EmbeddedRedis(args.data_dir)
        # redis-server inherits the lock: the data stays claimed while it lives, even if we are killed.
        env["REDIS_URL"] = embedded.start(inherit_fds=(lock.fd,))
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
        if lock:
            lock.release()
    return 1 if failed else 0


def claim(args, config) -> DataDirLock | None:
    """Refuse what could harm a running hookdock or expose this one; return the data-dir lock the embedded Redis needs, or None."""
    if not args.with_devflow and (public := demo.routes_using_it(config)):
        raise Refused(
            f"routes.{public[0]}.secret is the README's public demo secret, with which anyone can sign deliveries; "
            f"fix: set {demo.SECRET_VARIABLE} (or the route's secret) to a secret of your own; the demo secret is only for serve --with-devflow"
        )
    lock = None if os.environ.get("REDIS_URL") else DataDirLock(args.data_dir)
    if lock:
        lock.acquire()
    ports = [("web", args.host, args.port, "--port")]
    if args.with_devflow:
        ports.append(("devflow", DEVFLOW_HOST, args.devflow_port, "--devflow-port"))
    try:
        check_ports(ports)
    except Refused:
        if lock:
            lock.release()
        raise
    return lock


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
