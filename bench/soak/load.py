"""The soak's sender, run as its own process: N signed pushes at a bounded rate, each retried until accepted.

python -m bench.soak.load URL --events 10000 --rate 100 --run 1a2b3c4d > answers.json

Each push carries a unique marker (soak-<run>-<seq>) in its commit messages, so the chat message
it becomes can be counted, and its own X-GitHub-Delivery, so a retry after a lost answer is
recognised as the same event. A refusal a sender should retry (503, a dropped connection, a
timeout) is retried a bounded number of times, as GitHub's redelivery would be.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import requests

from bench.payload import SECRET, push_body, sign

TRIES = 12
# Doubling pauses between tries, at most this long: the whole retry span stays under a minute.
LONGEST_PAUSE = 5.0
SENDERS = 16
REQUEST_TIMEOUT = 10.0


def marker(run: str, seq: int) -> str:
    """The text that identifies one soak event in the message it becomes."""
    return f"soak-{run}-{seq}"


_local = threading.local()


def _session() -> requests.Session:
    if not hasattr(_local, "session"):
        _local.session = requests.Session()
    return _local.session


def send(url: str, run: str, seq: int) -> dict:
    """Post one event until it is accepted, refused for good, or out of tries; say how it ended."""
    body = push_body(marker(run, seq))
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": f"{run}-{seq}",
        "X-Hub-Signature-256": sign(body, SECRET),
        "User-Agent": "GitHub-Hookshot/soak",
    }
    outcome: int | str = "not sent"
    for tries in range(1, TRIES + 1):
        try:
            response = _session().post(url, data=body, headers=headers, timeout=REQUEST_TIMEOUT)
        except requests.RequestException as exc:
            outcome = type(exc).__name__
        else:
            outcome = response.status_code
            if response.status_code in (200, 202):  # 200: a duplicate, so an earlier try was accepted
                return {"seq": seq, "status": outcome, "event": response.json().get("event"), "tries": tries}
            if response.status_code < 500:
                break  # a 4xx will not change on a retry
        time.sleep(min(LONGEST_PAUSE, 0.1 * 2 ** (tries - 1)))
    return {"seq": seq, "status": outcome, "event": None, "tries": tries}


def run(url: str, run_id: str, events: int, rate: float) -> dict:
    """Start one event every 1/rate seconds on a pool of senders; gather every outcome."""
    started = time.time()
    with ThreadPoolExecutor(SENDERS) as pool:
        futures = []
        for seq in range(events):
            # Pacing of an open loop: a stalled web makes the pool queue, not the rate rise.
            time.sleep(max(0.0, started + seq / rate - time.time()))
            futures.append(pool.submit(send, url, run_id, seq))
        results = [f.result() for f in futures]
    return {"run": run_id, "events": events, "rate": rate, "started_at": started, "finished_at": time.time(), "results": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak.load", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", help="http://127.0.0.1:PORT/hooks/ROUTE")
    parser.add_argument("--events", type=int, required=True, help="how many distinct events to send")
    parser.add_argument("--rate", type=float, required=True, help="events started per second")
    parser.add_argument("--run", required=True, help="the run id in every marker and delivery id")
    args = parser.parse_args(argv)
    if urlsplit(args.url).hostname not in ("127.0.0.1", "localhost"):
        parser.error("the soak sends to 127.0.0.1 only")
    json.dump(run(args.url, args.run, args.events, args.rate), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
