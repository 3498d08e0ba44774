"""A real `python -m bridge serve --with-devflow`: a killed child is restarted; a child that keeps dying stops it all."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from tests.e2e.processes import PROJECT, Program, python, wait_for_http
from tests.support import fixture_bytes, free_port, github_headers, wait_until


def children_of(pid: int) -> dict[int, str]:
    """Pid -> command line of every live process whose parent is pid (read from /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue  # it exited while we looked
    return found


def child(serve, word: str) -> int | None:
    """The pid of serve's child whose command line holds word (celery, gunicorn, devflow), if one runs."""
    return next((pid for pid, line in children_of(serve.program.process.pid).items() if word in line), None)


def alive(pid: int) -> bool:
    """Whether pid still runs (a zombie counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def serve(tmp_path):
    """`make run` on free ports and its own data directory, one process of each kind, on the demo secret; SIGTERMed at the end."""
    config = tmp_path / "bridge.yml"
    config.write_text((PROJECT / "bridge.example.yml").read_text())
    port, devflow_port = free_port(), free_port()
    env = {"REDIS_URL": "", "HOOKDOCK_CONFIG": str(config), "FLOWDOCK_API_URL": f"http://127.0.0.1:{devflow_port}"}
    ports = ["--port", str(port), "--devflow-port", str(devflow_port), "--web-workers", "1", "--concurrency", "1"]
    with pytest.MonkeyPatch.context() as unset:
        unset.delenv("GITHUB_WEBHOOK_SECRET", raising=False)
        program = Program("serve", python("-m", "bridge", "serve", "--with-devflow", "--data-dir", str(tmp_path / "data"), *ports), tmp_path, env)
    running = SimpleNamespace(program=program, config=config, web=f"http://127.0.0.1:{port}", devflow=f"http://127.0.0.1:{devflow_port}")
    try:
        wait_for_http(f"{running.web}/readyz", program, timeout=60)
        wait_until(lambda: child(running, "celery"), 30, what="the worker to start")
        yield running
    finally:
        program.stop(signal.SIGTERM, timeout=40)


def test_a_killed_worker_is_restarted_and_webhooks_keep_being_delivered(serve):
    worker, web, devflow = child(serve, "celery"), child(serve, "gunicorn"), child(serve, "devflow")
    os.killpg(worker, signal.SIGKILL)  # the worker and its pool, as the OOM killer or `kill -9 -PGID` would
    wait_until(lambda: "hookdock: worker exited with -9; restarting it in 0.25 s" in serve.program.output(), 30, what="serve to notice the death")
    wait_until(lambda: child(serve, "celery") not in (None, worker), 30, what="a new worker")
    assert (child(serve, "gunicorn"), child(serve, "devflow")) == (web, devflow)  # the others were never stopped
    body = fixture_bytes("github", "push__many_commits")
    answer = requests.post(f"{serve.web}/hooks/widgets", data=body, headers=github_headers("push", body, "after-the-kill"), timeout=10)
    assert answer.status_code == 202, answer.text

    def delivered():
        return requests.get(f"{serve.devflow}/_devflow/messages", timeout=5).json()["messages"]

    [message] = wait_until(delivered, 60, what="the push delivered by the new worker")
    assert message["content"].startswith("Codertocat pushed 7 commits")
    # Ctrl-C/SIGTERM still stops everything, and serve exits 0.
    children = list(children_of(serve.program.process.pid))
    assert serve.program.stop(signal.SIGTERM, timeout=40) == 0
    assert not [pid for pid in children if alive(pid)]


def test_a_child_that_keeps_dying_makes_serve_give_up_and_stop_everything(serve):
    web, devflow = child(serve, "gunicorn"), child(serve, "devflow")
    serve.config.write_text("routes: [\n")  # every new worker now refuses to start (exit 3)
    os.killpg(child(serve, "celery"), signal.SIGKILL)
    wait_until(lambda: serve.program.process.poll() is not None, 90, what="serve to give up")
    output = serve.program.output()
    assert serve.program.process.returncode == 1, output[-3000:]
    assert output.count("hookdock: worker exited with 3; restarting it in") == 4
    assert "hookdock: worker exited with 3, its 6th exit in 60 s; giving up: stopping everything" in output
    assert not alive(web) and not alive(devflow)
