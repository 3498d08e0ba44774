"""Two `python -m bridge serve` on one machine: the second refuses at once and the first keeps working."""

from __future__ import annotations

import signal
from types import SimpleNamespace

import pytest
import requests

from tests.e2e.processes import PROJECT, Program, python, wait_for_http
from tests.support import fixture_bytes, free_port, github_headers, wait_until


def serve_argv(data_dir, port: int, devflow_port: int) -> list[str]:
    """The `make run` command line, on given ports and data directory, one process of each kind."""
    ports = ["--port", str(port), "--devflow-port", str(devflow_port)]
    return python("-m", "bridge", "serve", "--with-devflow", "--data-dir", str(data_dir), "--web-workers", "1", "--concurrency", "1", *ports)


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    """A running `make run`: embedded Redis, web, worker and devflow, on the README's demo secret."""
    tmp = tmp_path_factory.mktemp("first")
    config = tmp / "bridge.yml"
    config.write_text((PROJECT / "bridge.example.yml").read_text())
    port, devflow_port = free_port(), free_port()
    env = {"REDIS_URL": "", "HOOKDOCK_CONFIG": str(config), "FLOWDOCK_API_URL": f"http://127.0.0.1:{devflow_port}"}
    with pytest.MonkeyPatch.context() as unset:
        unset.delenv("GITHUB_WEBHOOK_SECRET", raising=False)
        program = Program("first", serve_argv(tmp / "data", port, devflow_port), tmp, env)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/readyz", program, timeout=60)
        yield SimpleNamespace(program=program, env=env, data=tmp / "data", port=port, devflow_port=devflow_port)
    finally:
        code = program.stop(signal.SIGTERM, timeout=40)
    assert code == 0, program.output()[-3000:]


def run_second(tmp_path, first, data_dir, port: int, devflow_port: int) -> Program:
    """Start another serve and wait (with a deadline) for it to exit; it is stopped if it does not."""
    second = Program("second", serve_argv(data_dir, port, devflow_port), tmp_path, first.env)
    try:
        wait_until(lambda: second.process.poll() is not None, timeout=30, what="the second serve to refuse")
    finally:
        second.stop(signal.SIGTERM, timeout=40)
    return second


def assert_first_still_works(first, delivery: str) -> None:
    """Redis answers, a signed push is accepted and reaches devflow."""
    web = f"http://127.0.0.1:{first.port}"
    assert requests.get(f"{web}/readyz", timeout=5).status_code == 200
    assert (first.data / "redis.sock").exists()
    body = fixture_bytes("github", "push__many_commits")
    before = len(devflow_messages(first))
    answer = requests.post(f"{web}/hooks/widgets", data=body, headers=github_headers("push", body, delivery), timeout=5)
    assert answer.status_code == 202, answer.text
    [message] = wait_until(lambda: devflow_messages(first)[before:], timeout=30, what=f"delivery {delivery} in devflow")
    assert message["content"].startswith("Codertocat pushed 7 commits")


def devflow_messages(first) -> list[dict]:
    return requests.get(f"http://127.0.0.1:{first.devflow_port}/_devflow/messages", timeout=5).json()["messages"]


def test_first_serve_says_it_uses_the_demo_secret(first):
    notice = "hookdock: GITHUB_WEBHOOK_SECRET is not set: using the README's public demo secret, for this local demo only"
    assert notice in first.program.output().splitlines()


def test_a_second_serve_on_the_same_data_dir_refuses_and_leaves_the_first_untouched(first, tmp_path):
    second = run_second(tmp_path, first, first.data, free_port(), free_port())
    pid = first.program.process.pid
    assert second.process.returncode == 1
    assert second.output().splitlines() == [
        f"hookdock: another hookdock (pid {pid}) is running with its data in {first.data}; "
        f"fix: stop it (Ctrl-C in its terminal, or kill {pid}) or pass --data-dir with another folder"
    ]
    assert_first_still_works(first, "after-second-data-dir")


def test_a_second_serve_on_the_same_ports_refuses_before_starting_anything(first, tmp_path):
    other_data = tmp_path / "other-data"
    second = run_second(tmp_path, first, other_data, first.port, first.devflow_port)
    assert second.process.returncode == 1
    assert second.output().splitlines() == [
        f"hookdock: web port 127.0.0.1:{first.port} is already in use; devflow port 127.0.0.1:{first.devflow_port} is already in use; "
        "fix: stop what listens there (another hookdock?) or pass --port N and --devflow-port N"
    ]
    assert sorted(p.name for p in other_data.iterdir()) == ["hookdock.lock"]  # no Redis was started there
    assert_first_still_works(first, "after-second-ports")
