"""The web as `python -m bridge serve` starts it (gunicorn.conf.py), spoken to over raw sockets: slow and malformed clients."""

from __future__ import annotations

import argparse
import base64
import json
import socket
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests

from bridge.supervisor import child_commands
from tests.e2e.processes import Program, wait_for_http
from tests.support import SECRET, free_port, github_headers, sign, wait_until

LIMIT = 256 * 1024
CONFIG = f"""\
api_url: http://127.0.0.1:9
max_body_bytes: {LIMIT}
admin_token: "${{E2E_ADMIN_TOKEN}}"
targets:
  team-chat: {{org: acme, flow: main, token: "${{E2E_FLOWDOCK_TOKEN}}"}}
routes:
  widgets: {{source: github, secret: "${{E2E_GITHUB_SECRET}}", targets: [team-chat]}}
  builds: {{source: jenkins, secret: "${{E2E_JENKINS_TOKEN}}", targets: [team-chat]}}
"""
ADMIN_TOKEN = "admin-7c1d9e4b2f"
JENKINS_TOKEN = "jenkins-5d2e8a1f9c"
SECRETS = {"E2E_ADMIN_TOKEN": ADMIN_TOKEN, "E2E_FLOWDOCK_TOKEN": "flow-3a8f0c6d1e", "E2E_GITHUB_SECRET": SECRET, "E2E_JENKINS_TOKEN": JENKINS_TOKEN}
# A template that would run for hours: only the render time limit stops it.
ENDLESS = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"
# The issue asks for an answer within 1 s with 200 slow sockets open; on a shared 2-core machine the
# test allows 3 s, still ten times less than the 30 s a sync worker made a webhook wait.
ANSWER_DEADLINE = 3.0
# More webhooks at once than redis-py's default pool holds per worker (100), while Redis holds every write.
BURST, REDIS_PAUSE_MS = 260, 1500
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


def exchange(port: int, raw: bytes, timeout: float = 10) -> tuple[int, dict, bytes]:
    """Send raw bytes as one HTTP request; return the status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        return answer_on(sock)


def answer_on(sock: socket.socket) -> tuple[int, dict, bytes]:
    """Read one HTTP answer from sock: its status, headers and whole body (gunicorn may send them apart)."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536) or _closed(received)
    head, body = received.split(b"\r\n\r\n", 1)
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value for name, value in (line.split(": ", 1) for line in lines)}
    while len(body) < int(headers.get("content-length", 0)):
        body += sock.recv(65536) or _closed(received)
    return int(status_line.split()[1]), headers, body


def _closed(received: bytes) -> bytes:
    raise AssertionError(f"the server closed the connection after {received[:200]!r}")


def chunked(body: bytes, size: int = 1000) -> bytes:
    """body in chunked transfer coding, then the last chunk."""
    return b"".join(b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size]) for i in range(0, len(body), size)) + b"0\r\n\r\n"


def chunked_post(path: str, body: bytes, headers: dict, close: bool = False) -> bytes:
    """A POST whose body is sent chunked, with these headers."""
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Transfer-Encoding: chunked", *(f"{k}: {v}" for k, v in headers.items())]
    lines += ["Connection: close"] if close else []
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + chunked(body)


def signed_ping(port: int, delivery: str, timeout: float = 10) -> requests.Response:
    return requests.post(url(port, "/hooks/widgets"), data=PING, headers=github_headers("ping", PING, delivery), timeout=timeout)


def nested(depth: int) -> bytes:
    """A JSON object holding lists nested so that the whole body is `depth` levels deep."""
    return b'{"zen": "deep", "x": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


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


def test_a_burst_that_finds_redis_paused_waits_for_it_instead_of_failing(web, redis_server):
    """Each gevent request is a greenlet with its own Redis connection: past redis-py's default pool of 100 they got 503."""
    program, port = web
    redis.Redis.from_url(redis_server.url).execute_command("CLIENT", "PAUSE", REDIS_PAUSE_MS, "WRITE")
    with ThreadPoolExecutor(BURST) as pool:
        answers = list(pool.map(lambda n: signed_ping(port, f"burst-{n}", timeout=30).status_code, range(BURST)))
    assert Counter(answers) == {202: BURST}


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


def test_a_body_that_stops_arriving_is_answered_408_after_the_idle_bound(web):
    program, port = web
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        head = b"POST /hooks/widgets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        sock.sendall(head + b'{"zen": "')  # and the other 91 bytes never come
        started = time.monotonic()
        status, _, answer = answer_on(sock)
    assert (status, json.loads(answer)) == (408, {"error": "the request body stopped arriving before it was complete", "status": 408})
    assert time.monotonic() - started < 30  # BODY_IDLE_SECONDS (10 s) in gunicorn.conf.py, with room for a busy machine


@pytest.mark.parametrize("depth", [101, 1000, 100_000])
def test_json_nested_too_deep_is_400_at_the_hook_and_in_preview(web, depth):
    program, port = web
    body = nested(depth)
    answer = requests.post(url(port, "/hooks/widgets"), data=body, headers=github_headers("ping", body, f"deep-{depth}"), timeout=10)
    assert (answer.status_code, answer.json()) == (400, {"error": "body nests objects and lists more than 100 levels deep", "status": 400})
    preview = requests.post(
        url(port, "/api/preview?source=github&event=push"),
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=10,
    )
    assert preview.status_code == 400 and "more than 100 levels deep" in preview.json()["error"]


def test_json_nested_to_the_limit_is_accepted(web):
    program, port = web
    body = nested(100)
    answer = requests.post(url(port, "/hooks/widgets"), data=body, headers=github_headers("ping", body, "deep-100"), timeout=10)
    assert answer.status_code == 202, answer.text


def test_a_malformed_chunk_size_is_400(web):
    program, port = web
    raw = b"POST /hooks/widgets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"
    status, headers, body = exchange(port, raw)
    assert (status, headers["content-type"]) == (400, "application/json")
    assert json.loads(body) == {"error": "the request body could not be read: Invalid chunk size: b'zz'", "status": 400}


def test_a_body_shorter_than_its_content_length_is_400_even_when_signed(web):
    program, port = web
    head = "".join(f"{k}: {v}\r\n" for k, v in github_headers("ping", PING, "cut-short").items())
    raw = f"POST /hooks/widgets HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}Content-Length: {len(PING) + 100}\r\n\r\n".encode() + PING
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)  # the client says it is done, short of what it announced
        status, _, answer = answer_on(sock)
    expected = f"the body ended after {len(PING)} of the {len(PING) + 100} bytes its Content-Length announced"
    assert (status, json.loads(answer)) == (400, {"error": expected, "status": 400})


@pytest.mark.parametrize("close", [False, True], ids=["keep-alive", "connection-close"])
def test_a_chunked_body_over_the_limit_is_413_even_when_the_signature_covers_the_first_part(web, redis_server, close):
    program, port = web
    body = json.dumps({"zen": "x" * (LIMIT * 4)}).encode()
    headers = {**github_headers("ping", body[:LIMIT], f"big-{close}"), "X-Hub-Signature-256": sign(body[:LIMIT])}
    status, _, answer = exchange(port, chunked_post("/hooks/widgets", body, headers, close))
    assert (status, json.loads(answer)) == (413, {"error": f"body is larger than the limit of {LIMIT} bytes", "status": 413})


def test_a_chunked_body_exactly_at_the_limit_is_accepted_whole(web):
    program, port = web
    body = json.dumps({"zen": "x" * (LIMIT - 11)}).encode()
    assert len(body) == LIMIT
    status, _, answer = exchange(port, chunked_post("/hooks/widgets", body, github_headers("ping", body, "at-limit")))
    assert status == 202, answer


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


def test_tokens_never_reach_the_log_whatever_the_client_sends(web):
    program, port = web
    basic_user = requests.auth.HTTPBasicAuth(ADMIN_TOKEN, "")
    basic_password = requests.auth.HTTPBasicAuth("admin", ADMIN_TOKEN)
    sent = [
        requests.get(url(port, f"/api/deliveries?token={ADMIN_TOKEN}"), timeout=10),
        requests.get(url(port, "/api/deliveries"), auth=basic_user, timeout=10),
        requests.get(url(port, "/api/deliveries"), auth=basic_password, timeout=10),
        requests.get(url(port, "/api/deliveries"), headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10),
        requests.get(url(port, "/api/deliveries"), headers={"Authorization": "Bearer not-the-token-5e6f"}, timeout=10),
        requests.get(url(port, f"/api/deliveries/{ADMIN_TOKEN}"), headers={"Referer": f"https://x/?t={ADMIN_TOKEN}", "User-Agent": ADMIN_TOKEN}, timeout=10),
    ]
    assert [r.status_code for r in sent] == [401, 401, 401, 200, 401, 401]
    # A request line gunicorn refuses is quoted in its error log, query string and all.
    status, _, _ = exchange(port, f"GET /api/deliveries?token={ADMIN_TOKEN}\r\nHost: 127.0.0.1\r\n\r\n".encode())
    assert status == 400
    wait_until(lambda: program.output().count('"GET /api/') >= 6 and "Invalid HTTP request line" in program.output(), 10, what="the log lines")
    output = program.output()
    encoded = [base64.b64encode(f"{auth.username}:{auth.password}".encode()).decode() for auth in (basic_user, basic_password)]
    for secret in (ADMIN_TOKEN, "not-the-token-5e6f", "flow-3a8f0c6d1e", *encoded):
        assert secret not in output, f"{secret} is in the log:\n{output[-3000:]}"
    assert '"GET /api/deliveries HTTP/1.1" 401' in output and '"GET /api/deliveries/[hidden] HTTP/1.1" 401' in output


def test_a_jenkins_token_in_the_url_or_a_header_never_reaches_the_log(web):
    """Jenkins' notification URL carries the route's secret as ?token=: gunicorn's access log must not print it."""
    program, port = web
    body, other = (
        json.dumps({"name": "asgard", "build": {"number": n, "phase": "STARTED", "full_url": f"http://ci/job/asgard/{n}/"}}).encode() for n in (7, 8)
    )
    headers = {"Content-Type": "application/json"}
    sent = [
        requests.post(url(port, f"/hooks/builds?token={JENKINS_TOKEN}"), data=body, headers=headers, timeout=10),
        requests.post(url(port, "/hooks/builds"), data=other, headers={**headers, "Authorization": f"Bearer {JENKINS_TOKEN}"}, timeout=10),
        requests.post(url(port, "/hooks/builds?token=guess-0b7e4c"), data=body, headers=headers, timeout=10),
        requests.post(url(port, f"/hooks/builds?x=1&token={JENKINS_TOKEN}"), data=b"{", headers=headers, timeout=10),
    ]
    assert [r.status_code for r in sent] == [202, 202, 401, 400]
    wait_until(lambda: program.output().count('"POST /hooks/builds ') >= 4, 10, what="the access log lines")
    output = program.output()
    for secret in (JENKINS_TOKEN, "guess-0b7e4c"):
        assert secret not in output, f"{secret} is in the log:\n{output[-3000:]}"
    assert '"POST /hooks/builds HTTP/1.1" 202' in output and '"POST /hooks/builds HTTP/1.1" 401' in output
