"""python -m bench.console: how fast the console's pages answer with 10,000 stored events (not part of make test).

Starts a private Redis and the web (gunicorn, gunicorn.conf.py, 2 workers), stores EVENTS events the way the
worker leaves them (delivered, ignored, dead letters), signs in, and times each page: the server's answer over
requests (ROUNDS times) and a full page load in headless Chromium (navigation timing). Writes bench/results/console.json.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import redis
import requests

from bench.stack import PROJECT, dump, free_port, gunicorn
from bridge.embedded import EmbeddedRedis
from bridge.store import Delivery, Event, Store

RESULTS = PROJECT / "bench" / "results" / "console.json"
TOKEN = "bench-admin-token"
CONFIG = """\
api_url: http://127.0.0.1:9
admin_token: {token}
targets:
  team-chat: {{org: acme, flow: main, token: bench-token}}
routes:
  widgets: {{source: github, secret: bench-secret, targets: [team-chat]}}
  gadgets: {{source: github, secret: bench-secret, targets: [team-chat]}}
  quiet: {{source: github, secret: bench-secret, targets: [team-chat]}}
"""
BODY = (PROJECT / "tests/fixtures/github/push__many_commits.json").read_bytes()
ROUNDS = 20


def arrival(i: int, count: int, now: float) -> float:
    """When the i-th of count events arrived: spread evenly over the day before now."""
    return now - 86400 + i * 86400 / count


def fill(client: redis.Redis, count: int, now: float) -> None:
    """count pushes over the last day: 94 % delivered, 4 % ignored (all on widgets), 2 % dead letters; 'quiet' gets one, and one is a 'member' event."""
    store = Store(client, 7 * 86400)
    for i in range(count):
        at = arrival(i, count, now)
        route = "quiet" if i == 0 else ("widgets", "gadgets")[i % 2]
        kind = "ignored" if i % 50 in (0, 2) else "failed" if i % 50 == 5 else "delivered"
        name = "member" if i == 1 else "push"
        event = Event(f"bench{i:06d}", route, "github", name, f"d-{i}", {"X-GitHub-Event": name, "Content-Type": "application/json"}, BODY, at)
        store.save_event(event)
        # As the worker records what became of it.
        store.mark_event(event.id, *(("ignored", "routes.widgets.branches: feature matches none of main") if kind == "ignored" else ("processed", "")))
        if kind != "ignored":
            attempt = {"at": at + 0.05, "status": 200 if kind == "delivered" else 400, "duration_ms": 12.0, "error": "" if kind == "delivered" else "bad"}
            status = "delivered" if kind == "delivered" else "failed"
            store.save_delivery(
                Delivery(f"{event.id}.team-chat", event.id, route, "team-chat", {"event": "message", "content": "x"}, status, attempts=[attempt])
            )


def signed_in(url: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{url}/console/sign-in", timeout=10).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    session.post(f"{url}/console/sign-in", data={"token": TOKEN, "csrf": csrf}, timeout=10).raise_for_status()
    return session


def timed(session: requests.Session, url: str) -> dict:
    """p50 and max of ROUNDS answers, in ms, after one warm-up."""
    session.get(url, timeout=30).raise_for_status()
    took = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        session.get(url, timeout=30).raise_for_status()
        took.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": round(statistics.median(took), 1), "max_ms": round(max(took), 1)}


def browser_load(url: str, pages: dict[str, str]) -> dict:
    """Navigation timing of each page in headless Chromium, signed in: when the answer ended and the load event did, in ms (medians of 5)."""
    from playwright.sync_api import sync_playwright

    found = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page(base_url=url)
        page.goto("/console/sign-in")
        page.get_by_label("Admin token").fill(TOKEN)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/console/events")
        for name, path in pages.items():
            timings = []
            for _ in range(5):
                page.goto(path)
                timings.append(page.evaluate("(e => [e.responseEnd, e.loadEventEnd])(performance.getEntriesByType('navigation')[0])"))
            found[name] = {"response_end_ms": round(statistics.median(t[0] for t in timings), 1), "load_ms": round(statistics.median(t[1] for t in timings), 1)}
        browser.close()
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="hookdock-bench-console-"))
    server = EmbeddedRedis(work / "redis", port=free_port())
    redis_url = server.start()
    web = None
    try:
        client = redis.Redis.from_url(redis_url)
        started = time.perf_counter()
        now = time.time()
        fill(client, args.events, now)
        print(f"stored {args.events} events in {time.perf_counter() - started:.1f} s", flush=True)
        config = work / "bridge.yml"
        config.write_text(CONFIG.format(token=TOKEN))
        web, url = gunicorn("web", "app:app", work, {"REDIS_URL": redis_url, "HOOKDOCK_CONFIG": str(config)})
        session = signed_in(url)
        pages = {
            "events, first page": "/console/events",
            # Page 100 at 50 a page: the cursor a reader reaches by clicking "Older" 99 times.
            "events, page 100 (older)": f"/console/events?before={arrival(args.events - 99 * 50, args.events, now)!r}",
            "events of a route with 1 event": "/console/events?route=quiet",
            "events named member (1 event)": "/console/events?event=member",
            "gadgets, ignored (none of 5,000 pass)": "/console/events?route=gadgets&outcome=ignored",
            "events, failed": "/console/events?outcome=failed",
            "events, last hour": "/console/events?since=1h",
            "event page": f"/console/events/bench{args.events // 2:06d}",
            "health": "/console/health",
            "landing page": "/",
        }
        rows = {name: timed(session, url + path) for name, path in pages.items()}
        loads = browser_load(url, {name: path for name, path in pages.items() if name in ("events, first page", "event page", "health")})
    finally:
        if web:
            web.stop()
        server.stop()
    width = max(map(len, rows))
    print(f"{'page':<{width}}  server p50 / max (ms)  browser: answer / loaded (ms)")
    for name, row in rows.items():
        load = loads.get(name)
        print(f"{name:<{width}}  {row['p50_ms']:>8} / {row['max_ms']:<8}     " + (f"{load['response_end_ms']} / {load['load_ms']}" if load else ""))
    RESULTS.parent.mkdir(exist_ok=True)
    dump(RESULTS, {"events": args.events, "rounds": ROUNDS, "server": rows, "browser_load_ms": loads})
    print(f"wrote {RESULTS.relative_to(PROJECT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
