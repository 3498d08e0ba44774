"""The worker's log, from a real Celery worker: no secret in it, whatever events carry, and each line once."""

from __future__ import annotations

import json
import re

import pytest
import requests

from tests.e2e.processes import start_web, start_worker
from tests.support import github_headers, wait_until

ADMIN = "admin-7c1e0d5e"
ROUTE_SECRET = "route-3b9f2a41"
TARGET_TOKEN = "devflow-token"  # devflow's own user: the push below is really delivered with it
CONFIG = f"""\
api_url: {{api_url}}
admin_token: {ADMIN}
targets:
  team-chat: {{{{org: acme, flow: main, token: {TARGET_TOKEN}}}}}
routes:
  widgets: {{{{source: github, secret: {ROUTE_SECRET}, targets: [team-chat]}}}}
"""
SECRETS = (ADMIN, ROUTE_SECRET, TARGET_TOKEN)
# What a sender controls and the worker quotes: the event name, an action, a commit message.
EVENTS = [
    ("name", f"ping{ADMIN}", {"zen": "hi", "hook_id": 1}),
    ("action", "issues", {"action": ROUTE_SECRET, "issue": {"number": 1, "title": "t"}, "repository": {"full_name": "acme/widgets"}}),
    ("both", f"star{TARGET_TOKEN}", {"action": f"{ADMIN}{ROUTE_SECRET}"}),
    (
        "text",
        "push",
        {
            "ref": "refs/heads/main",
            "repository": {"full_name": "acme/widgets", "html_url": "https://github.com/acme/widgets"},
            "sender": {"login": "octocat"},
            "commits": [{"id": "a" * 40, "message": f"leak {TARGET_TOKEN} {ADMIN}", "author": {"username": "octocat"}}],
        },
    ),
]


@pytest.fixture
def worker_log(tmp_path, redis_url, chat):
    """A real web and worker (two pool processes) on a configuration holding all three kinds of secret; the worker's output once every event was handled."""
    config = tmp_path / "bridge.yml"
    config.write_text(CONFIG.format(api_url=chat.url))
    env = {"REDIS_URL": redis_url, "HOOKDOCK_CONFIG": str(config)}
    web, url = start_web(tmp_path, env)
    worker = start_worker(tmp_path, env)
    try:
        ids = {}
        for label, event, payload in EVENTS:
            body = json.dumps(payload).encode()
            answer = requests.post(f"{url}/hooks/widgets", data=body, headers=github_headers(event, body, f"d-{label}", ROUTE_SECRET), timeout=10)
            assert answer.status_code == 202, answer.text
            ids[label] = answer.json()["event"]
        wait_until(lambda: all(outcome_lines(worker.output(), i) for i in ids.values()), 60, what="a log line for every event's outcome")
        yield worker.output(), ids
    finally:
        worker.stop()
        web.stop()


def outcome_lines(output: str, event_id: str) -> list[str]:
    """The lines saying what became of an event: ignored with why, or its delivery's result."""
    return [line for line in output.splitlines() if f"event {event_id} " in line or f"delivery {event_id}.team-chat " in line]


def test_no_secret_reaches_the_worker_log_whatever_the_event_carries(worker_log):
    output, ids = worker_log
    for secret in SECRETS:
        assert secret not in output
    assert f"event {ids['name']} (ping[hidden]) ignored: GitHub event 'ping[hidden]' is not rendered" in output
    assert "[hidden]" in outcome_lines(output, ids["action"])[0]
    assert f"delivery {ids['text']}.team-chat delivered" in output


def test_every_worker_line_appears_once_at_its_level(worker_log):
    output, ids = worker_log
    for event_id in ids.values():
        lines = outcome_lines(output, event_id)
        assert len(lines) == 1, lines
        assert re.search(r"\bINFO/(MainProcess|ForkPoolWorker-\d+)\]", lines[0]), lines[0]
    assert "WARNING/ForkPoolWorker" not in output and "WARNING/MainProcess" not in output
    # One line per outcome: Celery's "succeeded in" line for each finished task is left out, its "received" line kept.
    assert " succeeded in " not in output and re.search(r"Task hookdock\.process_event\[[^\]]+\] received", output)
