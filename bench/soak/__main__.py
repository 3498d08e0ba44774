"""python -m bench.soak: send signed events while devflow, the worker and Redis misbehave; count what arrived.

Exits 0 when every event was accepted and every accepted event is shown exactly once, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.soak import tally
from bench.soak.chaos import SoakStack
from bench.stack import PROJECT, python
from bridge.store import Store

RESULTS = PROJECT / "bench" / "results" / "soak.json"
POLL = 1.0


def schedule(send_s: float, kills: int, redis_restarts: int) -> list[tuple[float, str]]:
    """When each harm strikes, spread evenly over the sending; a Redis restart in the middle of the kills."""
    actions = ["kill"] * kills
    for _ in range(redis_restarts):
        actions.insert(len(actions) // 2, "redis")
    return [(send_s * (i + 1) / (len(actions) + 1), action) for i, action in enumerate(actions)]


def send_and_harm(stack: SoakStack, args, run: str) -> dict:
    """Run the sender process; meanwhile kill the worker and restart Redis on schedule; its answers."""
    argv = python("-m", "bench.soak.load", stack.hook_url, "--events", str(args.events), "--rate", str(args.rate), "--run", run)
    out, err = (stack.work / "load.json").open("wb"), (stack.work / "load.log").open("wb")
    sender = subprocess.Popen(argv, cwd=PROJECT, stdout=out, stderr=err, start_new_session=True)
    send_s = args.events / args.rate
    began = time.monotonic()
    stack.note(f"sending {args.events} events at {args.rate:g}/s")
    harm = {"kill": stack.kill_worker, "redis": stack.restart_redis}
    try:
        for at, action in schedule(send_s, args.kills, args.redis_restarts):
            time.sleep(max(0.0, began + at - time.monotonic()))
            harm[action]()
        # The sender retries each event for under a minute; anything longer is a hang.
        sender.wait(timeout=send_s * 3 + 120)
    finally:
        if sender.poll() is None:
            sender.kill()
            sender.wait()
        out.close()
        err.close()
    if sender.returncode != 0:
        raise RuntimeError(f"the sender failed ({sender.returncode}); see {stack.work / 'load.log'}")
    load = json.loads((stack.work / "load.json").read_text())
    stack.note("the last event answered", load["finished_at"])
    return load


def drain_seconds(load: dict, shown: tally.Shown, settled_at: float, dead: dict) -> float:
    """From the sender's last answer until the last message was shown (or, with dead letters, all settled)."""
    end = max(shown.last_sent_ms / 1000, settled_at if dead else 0.0)
    return round(max(0.0, end - load["finished_at"]), 1)


def drain(stack: SoakStack, load: dict, shown: tally.Shown, store: Store, timeout: float) -> dict[int, str]:
    """Wait until every accepted event is shown or a dead letter, or the deadline passes; the dead letters."""
    deadline = time.monotonic() + timeout
    while True:
        shown.refresh()
        dead = tally.dead_letters(store, shown.run)
        if not tally.unsettled(load, shown, dead):
            stack.note("every accepted event settled")
            return dead
        if time.monotonic() > deadline:
            stack.note(f"drain deadline ({timeout:g} s) passed")
            return dead
        time.sleep(POLL)


def report_rate(shown: tally.Shown) -> float:
    """Messages shown per second, from the first to the last."""
    span = (shown.last_sent_ms - shown.first_sent_ms) / 1000
    return sum(shown.counts.values()) / span if span > 0 else 0.0


def settle_broker(stack: SoakStack, timeout: float) -> bool:
    """Wait (bounded) until no task is queued or held, so a late repeat would have been seen."""
    deadline = time.monotonic() + timeout
    while not stack.broker_quiet():
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL)
    return True


def soak(args, work: Path) -> dict:
    """One whole soak: start, send and harm, drain, count; every process stopped at the end."""
    run = uuid.uuid4().hex[:8]
    faults = {"seed": args.seed, "error": args.error, "throttle": args.throttle, "timeout": args.timeout, "timeout_delay": 3, "retry_after": "1"}
    stack = SoakStack(work)
    try:
        stack.start({**faults, "path": "/flows/", "method": "POST"})
        load = send_and_harm(stack, args, run)
        shown = tally.Shown(stack.devflow_url, run)
        store = Store(stack.client, 86400)
        dead = drain(stack, load, shown, store, args.drain_timeout)
        settled_at = time.time()
        quiet = settle_broker(stack, 60)
        shown.refresh()
        report = {
            "run": run,
            **tally.figures(load, shown, tally.dead_letters(store, run)),
            "send_s": round(load["finished_at"] - load["started_at"], 1),
            "drain_s": drain_seconds(load, shown, settled_at, dead),
            "delivery_rate_per_s": round(report_rate(shown), 1),
            "tasks_received": stack.tasks_received(),
            "broker_quiet_at_end": quiet,
            "worker_kills": args.kills,
            "redis_restarts": args.redis_restarts,
            "random_faults": stack.random_faults_drawn(),
            "timeline": sorted(stack.timeline, key=lambda e: e["at_s"]),
        }
    finally:
        stack.close()
    return report


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--events", type=int, default=10000, help="distinct signed events to send (default 10000)")
    parser.add_argument("--rate", type=float, default=100, help="events started per second (default 100)")
    parser.add_argument("--kills", type=int, default=4, help="times the worker's process group is SIGKILLed and restarted (default 4)")
    parser.add_argument("--redis-restarts", type=int, default=1, choices=(0, 1, 2), help="Redis restarts on the same append-only file (default 1)")
    parser.add_argument("--error", type=float, default=0.05, help="chance devflow answers a 5xx (default 0.05)")
    parser.add_argument("--throttle", type=float, default=0.03, help="chance of a 429 with Retry-After: 1 (default 0.03)")
    parser.add_argument("--timeout", type=float, default=0.01, help="chance devflow sleeps 3 s, past the bridge's 2 s timeout (default 0.01)")
    parser.add_argument("--seed", type=int, default=1, help="seed of devflow's random faults (default 1)")
    parser.add_argument("--drain-timeout", type=float, default=900, help="longest wait for the last event, in seconds (default 900)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"where the JSON goes (default {RESULTS.relative_to(PROJECT)})")
    args = parser.parse_args(argv)
    if args.events < 1 or args.rate <= 0 or args.kills < 0:
        parser.error("--events must be at least 1, --rate above 0, --kills not negative")
    return args


def summary(report: dict) -> str:
    """The figures a person reads first."""
    lines = [
        f"sent {report['sent']}, accepted {report['accepted']}, delivered {report['delivered']}",
        f"lost {report['lost']}, doubled {report['doubled']}, dead letters {report['dead_letters']}",
        f"sending took {report['send_s']} s; the drain after it {report['drain_s']} s; {report['delivery_rate_per_s']} messages/s",
        f"tasks the workers took: {report['tasks_received']}",
        f"{report['worker_kills']} worker kill(s), {report['redis_restarts']} Redis restart(s); devflow faults drawn: {report['random_faults']['drawn']}",
        f"repeat posts dropped by uuid {report['repeat_posts_dropped_by_uuid']}; refused {report['refused'] or 'none'}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    work = Path(tempfile.mkdtemp(prefix="hookdock-soak-"))
    # make's SIGTERM must still run the finally blocks that stop every child.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        report = soak(args, work)
    except BaseException:
        print(f"soak: failed; process logs are in {work}", file=sys.stderr)
        raise
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(summary(report))
    failed = report["lost"] or report["doubled"] or report["refused"]
    if failed:
        print(f"soak: FAILED; figures in {args.out}; process logs in {work}")
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print(f"soak: passed; figures in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
