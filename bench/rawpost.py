"""The delivery baseline, run as its own process: post message bodies with plain requests.Session loops.

python -m bench.rawpost CHAT_URL BODIES.json --processes 2
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time

import requests

TOKEN = "devflow-token"


def post_all(url: str, bodies: list[dict]) -> int:
    """Post each body in turn on one keep-alive session; return how many were accepted."""
    session = requests.Session()
    ok = 0
    for body in bodies:
        answer = session.post(url, json=body, auth=(TOKEN, ""), timeout=10, headers={"Accept": "application/json", "User-Agent": "bench-rawpost"})
        ok += answer.ok
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rawpost", description=__doc__)
    parser.add_argument("chat_url")
    parser.add_argument("bodies", help="a JSON list of message bodies")
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args(argv)
    bodies = json.load(open(args.bodies))
    url = f"{args.chat_url}/flows/acme/main/messages"
    # Processes, not threads: hookdock's worker is that many solo Celery processes.
    shares = [bodies[i :: args.processes] for i in range(args.processes)]
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(args.processes) as pool:
        ok = sum(pool.starmap(post_all, [(url, share) for share in shares]))
    json.dump({"posted": len(bodies), "ok": ok, "elapsed_s": round(time.perf_counter() - started, 3)}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
