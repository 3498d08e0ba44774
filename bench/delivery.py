"""Delivery: queued events posted to devflow by hookdock's worker, against a raw requests loop; latency; scaling."""

from __future__ import annotations

import resource

from bench.ingest import ROUNDS, best, light_latency, say
from bench.payload import ROUTE
from bench.stack import dump, redis_usage, tree_cpu, used_memory, wait_until
from bridge import sequence

EVENTS = 1000
# hookdock's store indexes deliveries by creation time; the first one marks when the worker began.
DELIVERIES_INDEX = "hookdock:deliveries"
LABELS = {"c2": "hookdock worker, 2 solo processes", "raw": "raw requests loop in 2 processes", "c1": "hookdock worker, 1 solo process"}


def enqueue(stack, web_url: str) -> dict:
    """Accept EVENTS webhooks with no worker running; Redis memory before and after."""
    stack.clear()
    stack.devflow.reset()
    before = used_memory(stack.client)
    answers = stack.loadgen(f"{web_url}/hooks/{ROUTE}", count=EVENTS, duration=120)
    if answers["ok"] != EVENTS:
        raise RuntimeError(f"only {answers['ok']} of {EVENTS} events were accepted: {answers['error_kinds']}")
    return {"answers": answers, "used_memory_before": before, "used_memory_stored": used_memory(stack.client)}


def stored_times(stack, count: int, timeout: float = 180) -> list[int]:
    """Wait for count messages in devflow; their stored times (ms), in order."""
    found: list[dict] = []

    def arrived() -> bool:
        # Only what is new: reading all thousand messages every poll cost devflow and the bench a few per cent of the
        # CPU the run being timed shares with them, the more the longer that run lasted.
        found.extend(stack.devflow.messages(found[-1]["id"] if found else 0))
        return len(found) >= count

    wait_until(arrived, timeout, f"{count} messages", 0.5)
    return sorted(m["sent"] for m in found)


def drained(stack) -> bool:
    """Every task done with, so Redis holds only what is retained."""
    return sequence.idle(stack.client, "celery")


def cpu_per_message(before: dict, after: dict, count: int) -> dict:
    """Milliseconds of CPU per message by each part, and Redis commands per message."""
    # On a shared machine these swing far less than rates do. devflow's share includes answering the
    # bench's own polls (every 0.5 s until all messages are in, each reading only the new ones).
    return {k: round((after[k] - before[k]) / count * (1 if k == "redis_commands" else 1000), 2) for k in before}


def usage(stack, sender: float) -> dict:
    """CPU used so far by the sender (a process tree's or waited children's), Redis and devflow; Redis's command count."""
    redis_cpu, commands = redis_usage(stack.client)
    return {"sender": sender, "redis": redis_cpu, "devflow": tree_cpu(stack.devflow_pid), "redis_commands": commands}


def waited_children_cpu() -> float:
    """CPU seconds of this process's children that have ended and been waited for (the raw loop's processes)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def hookdock_run(stack, web_url: str, concurrency: int, latency: bool = False) -> dict:
    """Queue EVENTS, start a worker of concurrency solo processes, time it from the first event rendered to the last message stored."""
    out = enqueue(stack, web_url)
    worker = stack.worker(f"worker{concurrency}", concurrency)
    try:
        # From ready to drained: the start-up's CPU is not the messages'.
        before = usage(stack, tree_cpu(*worker.pids))
        times = stored_times(stack, EVENTS)
        # The queue is FIFO: every event is rendered before the first post, so the
        # first message stored would start the clock too late; the first delivery record does not.
        first = stack.client.zrange(DELIVERIES_INDEX, 0, 0, withscores=True)
        if not first:
            raise RuntimeError(f"{DELIVERIES_INDEX} is empty; has the store's layout changed?")
        began_ms = first[0][1] * 1000
        out.update(
            concurrency=concurrency,
            messages=len(times),
            began_ms=began_ms,
            first_ms=times[0],
            last_ms=times[-1],
            span_s=(times[-1] - began_ms) / 1000,
            rate=round(EVENTS / ((times[-1] - began_ms) / 1000), 1),
        )
        wait_until(lambda: drained(stack), 30, "the queue to drain", 0.2)
        out["per_message"] = cpu_per_message(before, usage(stack, tree_cpu(*worker.pids)), EVENTS)
        out["used_memory_retained"] = used_memory(stack.client)
        out["bodies"] = stack.devflow.posted_bodies()[:EVENTS]
        if latency:
            say("latency: hookdock, light load")
            out["light"] = light_latency(stack, f"{web_url}/hooks/{ROUTE}")
    finally:
        stack.stop(worker)
    return out


def raw_run(stack, bodies: list[dict], processes: int) -> dict:
    """The same bodies posted by plain requests loops in as many processes; first to last message stored."""
    stack.devflow.reset()
    path = dump(stack.work / "bodies.json", bodies)
    before = usage(stack, waited_children_cpu())
    client = stack.run_json("rawpost", ["-m", "bench.rawpost", stack.devflow.url, str(path), "--processes", str(processes)], timeout=300, watch=True)
    times = stored_times(stack, len(bodies))
    span = (times[-1] - times[0]) / 1000
    return {
        "per_message": cpu_per_message(before, usage(stack, waited_children_cpu()), len(bodies)),
        "client": client,
        "processes": processes,
        "messages": len(times),
        "first_ms": times[0],
        "last_ms": times[-1],
        "span_s": span,
        "rate": round(len(bodies) / span, 1),
    }


def run(stack, web_url: str) -> dict:
    """hookdock with two worker processes, the raw loop with two, hookdock with one; then in reverse order."""
    runs: dict[str, list] = {"c2": [], "raw": [], "c1": []}
    bodies: list[dict] = []
    order = ["c2", "raw", "c1"]
    for turn in range(ROUNDS):
        for name in order if turn % 2 == 0 else order[::-1]:
            say(f"delivery: {EVENTS} messages, {LABELS[name]} ({turn + 1} of {ROUNDS})")
            if name == "raw":
                runs[name].append(raw_run(stack, bodies, 2))
            else:
                # Latency at light load needs a running worker: measure it once, on the first run.
                done = hookdock_run(stack, web_url, int(name[1]), latency=name == "c2" and not runs["c2"])
                bodies = bodies or done["bodies"]
                done.pop("bodies")
                runs[name].append(done)
    stack.clear()
    two = next(r for r in runs["c2"] if "light" in r)
    stored, retained = two["used_memory_stored"] - two["used_memory_before"], two["used_memory_retained"] - two["used_memory_before"]
    return {
        "events": EVENTS,
        "light": two["light"],
        **{f"{k}_all_rates": [r["rate"] for r in v] for k, v in runs.items()},
        "hookdock_c2": best(runs["c2"], "rate"),
        "raw_c2": best(runs["raw"], "rate"),
        "hookdock_c1": best(runs["c1"], "rate"),
        "redis_bytes_per_event_queued": round(stored / EVENTS),
        "redis_bytes_per_event_retained": round(retained / EVENTS),
        "body_bytes": two["answers"]["body_bytes"],
    }
