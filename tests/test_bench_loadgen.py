"""The bench's load generator against a real HTTP server that records what it was sent."""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import loadgen


class Recorder(BaseHTTPRequestHandler):
    """Answers 202 to every POST, keeping the connection open, and counts each delivery id."""

    protocol_version = "HTTP/1.1"
    seen: Counter = Counter()
    # When each connection's first request came, by the client's address.
    opened: dict = {}

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        Recorder.seen[self.headers["X-GitHub-Delivery"]] += 1
        Recorder.opened.setdefault(self.client_address, time.monotonic())
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    Recorder.seen, Recorder.opened = Counter(), {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/bench"
    server.shutdown()
    server.server_close()


def test_measured_requests_never_repeat_a_warmup_delivery_id(recorder):
    args = argparse.Namespace(url=recorder, rate=200, duration=0.5, count=None, warmup=0.3, timeout=5, vary=False, connections=4)
    summary = asyncio.run(loadgen.run(args))
    assert summary["ok"] == summary["requests"] == 100
    assert max(Recorder.seen.values()) == 1, Recorder.seen.most_common(3)
    # Every request the server saw is counted once, measured or warming up: the bench shares the server's CPU out over them.
    assert summary["warmup_requests"] > 0
    assert summary["requests"] + summary["warmup_requests"] == sum(Recorder.seen.values())


def test_a_closed_loop_opens_its_connections_one_after_another_and_measures_over_the_warmups(recorder):
    args = argparse.Namespace(url=recorder, rate=0, duration=0.3, count=None, warmup=0.3, timeout=5, vary=False, connections=4)
    summary = asyncio.run(loadgen.run(args))
    # Opened in one instant, they would land on one gunicorn worker of two; the measured run opens none of its own.
    assert summary["connections_opened"] == len(Recorder.opened) == 4
    # Opened together they arrive within a millisecond or two; apart, across three gaps (a late wake-up may shorten one).
    first = sorted(Recorder.opened.values())
    assert first[-1] - first[0] >= 2 * loadgen.STAGGER, first
    assert summary["ok"] > 0 and summary["errors"] == 0


class Tidy(Recorder):
    """Answers like Recorder, then closes the connection a moment later, as gunicorn closes an idle keep-alive one."""

    def do_POST(self):
        super().do_POST()
        self.wfile.flush()
        self.close_connection = True


def test_a_connection_the_server_closed_while_idle_is_reopened_not_counted_as_an_error():
    Recorder.seen = Counter()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Tidy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        # Ten requests a second on one connection: each finds the last one closed by the server.
        args = argparse.Namespace(
            url=f"http://127.0.0.1:{server.server_port}/hooks/bench", rate=10, duration=0.5, count=None, warmup=0, timeout=5, vary=False, connections=1
        )
        summary = asyncio.run(loadgen.run(args))
    finally:
        server.shutdown()
        server.server_close()
    assert summary["errors"] == 0 and summary["ok"] == 5, summary["error_kinds"]
    assert summary["connections_opened"] == 5
