"""The load generator, run as its own process: signed pushes over HTTP/1.1 keep-alive, results as JSON.

python -m bench.loadgen URL --connections 16 --duration 10     # closed loop: as fast as answers come
python -m bench.loadgen URL --rate 500 --duration 10           # open loop: a constant arrival rate
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
import uuid
from urllib.parse import urlsplit

from bench.payload import SECRET, push_body, sign

# Open loop: more requests than this in flight means the server has fallen behind; shed the rest.
MAX_IN_FLIGHT = 512
# Closed loop: seconds between one connection's opening and the next's, as a proxy's or sender's connections come
# with growing load. Opened in the same instant, most of them land on whichever gunicorn worker is awake first
# (both workers share one listening socket), and a run measures one core of two, or both, by chance.
STAGGER = 0.01


class Connection:
    """One HTTP/1.1 connection, reopened when the server closes it (gunicorn's sync workers always do)."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None
        self.opened = 0

    async def request(self, data: bytes, timeout: float) -> int:
        """Send one request and read the whole answer; return its status."""
        return await asyncio.wait_for(self._exchange(data), timeout)

    async def _exchange(self, data: bytes) -> int:
        if self.writer is not None and self.reader.at_eof():
            # The server closed it while it sat idle (gunicorn's keep-alive timeout): open a new one, as urllib3 does,
            # rather than send into a closed connection and count the server's tidying as a failed request.
            self.close()
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            self.opened += 1
        self.writer.write(data)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        headers = dict(line.split(b":", 1) for line in head.split(b"\r\n")[1:] if b":" in line)
        headers = {k.strip().lower(): v.strip().lower() for k, v in headers.items()}
        length = int(headers.get(b"content-length", b"0"))
        if length:
            await self.reader.readexactly(length)
        if headers.get(b"connection") == b"close":
            self.close()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Requests:
    """Builds each request: the body and signature are computed once, the delivery id is unique."""

    def __init__(self, url: str, vary: bool):
        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname, parts.port or 80, parts.path
        self.run = uuid.uuid4().hex[:12]
        self.vary = vary
        self.body = push_body()
        self.signature = sign(self.body, SECRET)
        self.sent: dict[str, float] = {}  # marker -> wall-clock ms, for end-to-end latency

    def build(self, seq: int) -> bytes:
        body, signature = self.body, self.signature
        if self.vary:
            # A marker in the commit messages lets the orchestrator match each chat message to its webhook.
            marker = f"m{self.run}x{seq}"
            body = push_body(marker)
            signature = sign(body, SECRET)
            self.sent[marker] = time.time() * 1000
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: {self.run}-{seq}\r\n"
            f"X-Hub-Signature-256: {signature}\r\nUser-Agent: GitHub-Hookshot/bench\r\nConnection: keep-alive\r\n\r\n"
        )
        return head.encode() + body


class Results:
    """Latencies of 2xx answers, and counts of everything else."""

    def __init__(self):
        self.latencies: list[float] = []
        self.statuses: dict[str, int] = {}
        self.errors: dict[str, int] = {}

    def record(self, started: float, status: int | None = None, error: str | None = None) -> None:
        if error is not None:
            self.errors[error] = self.errors.get(error, 0) + 1
            return
        self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
        if 200 <= status < 300:
            self.latencies.append(time.perf_counter() - started)
        else:
            self.errors[f"http {status}"] = self.errors.get(f"http {status}", 0) + 1

    def requests(self) -> int:
        """Every request recorded, answered or not."""
        return len(self.latencies) + sum(self.errors.values())

    def summary(self, elapsed: float, connections_opened: int) -> dict:
        ordered = sorted(self.latencies)

        def pct(p: float) -> float | None:
            return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000, 2) if ordered else None

        return {
            "ok": len(ordered),
            "errors": sum(self.errors.values()),
            "requests": self.requests(),
            "elapsed_s": round(elapsed, 3),
            "rps": round(len(ordered) / elapsed, 1) if elapsed else 0.0,
            "p50_ms": pct(50),
            "p95_ms": pct(95),
            "p99_ms": pct(99),
            "max_ms": pct(100),
            "statuses": self.statuses,
            "error_kinds": self.errors,
            "connections_opened": connections_opened,
        }


async def one(conn: Connection, data: bytes, started: float, results: Results, timeout: float) -> bool:
    """Make one request and record it; False when the connection failed (it is reopened next time)."""
    try:
        status = await conn.request(data, timeout)
    except TimeoutError:
        conn.close()
        results.record(started, error="timeout")
        return False
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        conn.close()
        results.record(started, error=type(exc).__name__)
        return False
    results.record(started, status)
    return True


async def closed_loop(reqs: Requests, conns: list[Connection], duration: float, count: int | None, timeout: float, results: Results) -> list[Connection]:
    """Each connection sends its next request as soon as the last is answered, until time or count runs out; those not open yet open STAGGER apart."""
    deadline = time.perf_counter() + duration
    seq = iter(range(count if count is not None else 10**12))

    async def worker(conn: Connection, delay: float) -> None:
        await asyncio.sleep(delay)
        for i in seq:
            if time.perf_counter() >= deadline:
                return
            started = time.perf_counter()
            if not await one(conn, reqs.build(i), started, results, timeout):
                await asyncio.sleep(0.01)  # pacing: do not spin on a refused connection

    opening = itertools.count()
    await asyncio.gather(*(worker(c, 0.0 if c.writer is not None else next(opening) * STAGGER) for c in conns))
    return conns


async def open_loop(reqs: Requests, rate: float, duration: float, count: int | None, timeout: float, results: Results) -> list[Connection]:
    """Start requests on a fixed schedule whatever the answers; latency counts from the scheduled time."""
    total = count if count is not None else int(rate * duration)
    idle: list[Connection] = []
    made: list[Connection] = []
    tasks: set[asyncio.Task] = set()
    start = time.perf_counter()

    async def send(i: int, scheduled: float) -> None:
        conn = idle.pop() if idle else Connection(reqs.host, reqs.port)
        if conn.opened == 0:
            made.append(conn)
        await one(conn, reqs.build(i), scheduled, results, timeout)
        idle.append(conn)

    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)  # the pacing of the open loop
        if len(tasks) >= MAX_IN_FLIGHT:
            results.record(scheduled, error="shed (too many in flight)")
            continue
        task = asyncio.create_task(send(i, scheduled))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks)
    return made


async def run(args) -> dict:
    """Warm up (not recorded), then measure; return the summary."""
    reqs = Requests(args.url, args.vary)
    # The measured closed loop goes on over the warmup's connections, already open rather than opening while measured.
    conns = [Connection(reqs.host, reqs.port) for _ in range(args.connections)]
    warmup = Results()
    if args.warmup:
        # Its own delivery ids: measured requests that repeated the warmup's were cheap duplicates (200, not 202).
        await closed_loop(Requests(args.url, False), conns, args.warmup, None, args.timeout, warmup)
    results = Results()
    started = time.perf_counter()
    if args.rate:
        for conn in conns:  # the open loop opens its own as its schedule needs them
            conn.close()
        conns = await open_loop(reqs, args.rate, args.duration, args.count, args.timeout, results)
    else:
        conns = await closed_loop(reqs, conns, args.duration, args.count, args.timeout, results)
    elapsed = time.perf_counter() - started
    for conn in conns:
        conn.close()
    summary = results.summary(elapsed, sum(c.opened for c in conns))
    mode = {"mode": "open", "rate": args.rate} if args.rate else {"mode": "closed", "connections": args.connections}
    # The server's CPU is read around the whole run, so it is shared out over the warmup's requests too.
    return {**mode, "url": args.url, "body_bytes": len(reqs.body), **summary, "warmup_requests": warmup.requests(), "sent": reqs.sent}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("url", help="http://127.0.0.1:PORT/hooks/ROUTE")
    parser.add_argument("--connections", type=int, default=16, help="closed loop: connections in parallel")
    parser.add_argument("--rate", type=float, default=0, help="open loop: requests per second (0: closed loop)")
    parser.add_argument("--duration", type=float, default=10, help="seconds to send for")
    parser.add_argument("--count", type=int, default=None, help="stop after this many requests")
    parser.add_argument("--warmup", type=float, default=0, help="seconds of unrecorded load first")
    parser.add_argument("--timeout", type=float, default=10, help="seconds before a request counts as failed")
    parser.add_argument("--vary", action="store_true", help="a marked, freshly signed body per request")
    args = parser.parse_args(argv)
    if urlsplit(args.url).hostname not in ("127.0.0.1", "localhost"):
        parser.error("load goes to 127.0.0.1 only")
    json.dump(asyncio.run(run(args)), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
