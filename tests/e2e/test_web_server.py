"""The web as `python -m bridge serve` starts it (gunicorn.conf.py), spoken to over raw sockets: slow clients."""

from __future__ import annotations

import argparse
import json
import socket
import time

import pytest
import requests

from bridge.supervisor import child_commands
from tests.e2e.processes import Program, wait_for_http
from tests.support import SECRET, free_port, github_headers

LIMIT = 256 * 1024
CONFIG = f"""\
api_url: http://127.0.0.1:9
max_body_bytes: {LIMIT}
admin_token: "${{E2E_ADMIN_TOKEN}}"
targets:
  team-chat: {{org: acme, flow: main, token: "${{E2E_FLOWDOCK_TOKEN}}"}}
routes:
  widgets: {{source: github, secret: "${{E2E_GITHUB_SECRET}}", targets: [team-chat]}}
"""
ADMIN_TOKEN = "admin-7c1d9e4b2f"
SECRETS = {"E2E_ADMIN_TOKEN": ADMIN_TOKEN, "E2E_FLOWDOCK_TOKEN": "flow-3a8f0c6d1e", "E2E_GITHUB_SECRET": SECRET}
# A template that would run for hours: only the render time limit stops it.
ENDLESS = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"
# The issue asks for an answer within 1 s with 200 slow sockets open; on a shared 2-core machine the
# test allows 3 s, still ten times less than the 30 s a sync worker made a webhook wait.
ANSWER_DEADLINE = 3.0
PING = json.dumps({"zen": "Design for failure.", "hook_id": 7}).encode()


@pytest.fixture(scope="module")
def web(tmp_path_factory, redis_server):
    """gunicorn with the argv `python -m bridge serve` gives it (two gevent workers), on the test Redis."""
    folder = tmp_path_factory.mktemp("web")
    (folder / "bridge.yml").write_text(CONFIG)
    (folder / "custom" / "github").mkdir(parents=True)
    (folder / "custom" / "github" / "push.txt").write_text(ENDLESS)
    port = free_port()
    serve_args = argparse.Namespace(host="127.0.0.1", port=port, web_workers=2, concurrency=1, with_devflow=False, devflow_port=0)
    [argv] = [argv for name, argv in child_commands(serve_args) if name == "web"]
    env = {"REDIS_URL": redis_server.url, "HOOKDOCK_CONFIG": str(folder / "bridge.yml"), "HOOKDOCK_TEMPLATES": str(folder / "custom"), **SECRETS}
    program = Program("web", argv, folder, env)
    wait_for_http(f"http://127.0.0.1:{port}/readyz", program)
    yield program, port
    program.stop()
    assert "Traceback" not in program.output(), program.output()[-3000:]


def url(port: int, path: str) -> str:
    return f"http://127.0.0.1:{port}{path}"


def signed_ping(port: int, delivery: str, timeout: float = 10) -> requests.Response:
    return requests.post(url(port, "/hooks/widgets"), data=PING, headers=github_headers("ping", PING, delivery), timeout=timeout)


def test_slow_clients_keep_neither_a_signed_webhook_nor_healthz_waiting(web):
    program, port = web
    slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(200)]
    try:
        for sock in slow:
            sock.sendall(b"POST /hooks/widgets HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the rest
        started = time.monotonic()
        answer = signed_ping(port, "slow-1", timeout=ANSWER_DEADLINE)
        answered = time.monotonic() - started
        assert answer.status_code == 202, answer.text
        assert requests.get(url(port, "/healthz"), timeout=ANSWER_DEADLINE).json() == {"ok": True}
        print(f"signed webhook answered in {answered * 1000:.0f} ms with 200 slow sockets open")
    finally:
        for sock in slow:
            sock.close()


def test_a_request_whose_headers_never_end_is_closed_after_the_header_timeout(web):
    program, port = web
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        started = time.monotonic()
        try:
            assert sock.recv(1024) == b""  # closed without an answer: the request never finished
        except ConnectionResetError:
            pass
    assert time.monotonic() - started < 20  # the keepalive of gunicorn.conf.py (5 s), with room for a busy machine


def test_the_render_time_limit_holds_under_gevent(web):
    """A preview whose template never ends is stopped by the 5 s limit, and the worker survives it."""
    program, port = web
    started = time.monotonic()
    answer = requests.post(
        url(port, "/api/preview?source=github&event=push"),
        json={"ref": "refs/heads/main", "repository": {"full_name": "acme/widgets"}, "commits": []},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=60,
    )
    assert answer.status_code == 422 and "took longer than 5 s" in answer.json()["error"], answer.text
    assert time.monotonic() - started < 25  # the worker's own 30 s timeout would otherwise kill it
    assert "WORKER TIMEOUT" not in program.output()
    assert signed_ping(port, "after-endless").status_code == 202
