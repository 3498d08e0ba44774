"""`python -m bridge serve`: start Redis, gunicorn, Celery worker processes (and devflow) and stop them together."""

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
from bridge.respawn import WINDOW, Respawn

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
    # One solo worker per process, each restarted on its own: a dead one costs only the task it held.
    for number in range(1, args.concurrency + 1):
        name = "worker" if args.concurrency == 1 else f"worker{number}"
        children.append((name, worker_command(name)))
    # gunicorn.conf.py holds every other web setting, the same for the Dockerfile and docker-compose.
    web = [py, "-m", "gunicorn", "--config", str(GUNICORN_CONF), "app:app", "--bind", f"{args.host}:{args.port}", "--workers", str(args.web_workers)]
    children.append(("web", web))
    return children


def worker_command(name: str) -> list[str]:
    """One delivery worker process: Celery's solo pool runs each task on the main thread (render's time limit needs it), with no pool to feed."""
    # --concurrency 1 is what solo does anyway; said, Celery's banner shows it instead of the CPU count.
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "app.celery_app",
        "worker",
        "--pool",
        "solo",
        "--concurrency",
        "1",
        "--hostname",
        f"{name}@%h",
        "--loglevel",
        "INFO",
    ]


def serve(args) -> int:
    """Check first, then run until SIGINT/SIGTERM (restarting a child that exits) or until a child keeps dying; then stop everything, Redis last."""
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
    commands = dict(child_commands(args))

    def start(name: str) -> subprocess.Popen:
        # Own session: a terminal's Ctrl-C reaches only us, and we stop children in order.
        return subprocess.Popen(commands[name], cwd=PROJECT_DIR, env=env, start_new_session=True)

    children: list[tuple[str, subprocess.Popen]] = []
    try:
        for name in commands:
            children.append((name, start(name)))
        print(f"hookdock: webhooks on http://{args.host}:{args.port}/hooks/<route>", flush=True)
        failed = supervise(children, stopping, start)
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


def supervise(children, stopping, start) -> str | None:
    """Until asked to stop (None), restart each child that exits, in its place in children; give up on one that keeps dying (its name).

    A bridge must keep accepting: a killed worker or web is brought back rather than taking the
    others down. The wait before a restart is checked with the stop request, so Ctrl-C stays prompt.
    """
    respawns = {name: Respawn() for name, _ in children}
    restart_at: dict[int, float] = {}
    while not stopping:
        now = time.monotonic()
        for index, (name, process) in enumerate(children):
            if index in restart_at:
                if now >= restart_at[index]:
                    del restart_at[index]
                    children[index] = (name, start(name))
                    print(f"hookdock: {name} restarted (pid {children[index][1].pid})", flush=True)
                continue
            if process.poll() is None:
                continue
            wait = respawns[name].exited(now)
            if wait is None:
                print(
                    f"hookdock: {name} exited with {process.returncode}, its {respawns[name].recent()}th exit in {WINDOW:.0f} s; "
                    "giving up: stopping everything (its output above says why it dies)",
                    file=sys.stderr,
                    flush=True,
                )
                return name
            print(f"hookdock: {name} exited with {process.returncode}; restarting it in {wait:g} s", file=sys.stderr, flush=True)
            restart_at[index] = now + wait
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
