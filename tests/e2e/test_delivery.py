"""Delivery guarantees with real processes: devflow misbehaving, Redis restarting, workers dying."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import pytest
import redis
import requests

from bridge import sequence
from bridge.embedded import EmbeddedRedis
from tests.e2e.processes import PROJECT, Program, Workers, python, start_devflow, start_web, start_worker
from tests.support import free_port, github_headers, wait_until

CONFIG = """\
api_url: {api_url}
delivery: {{max_attempts: 5, backoff_base: 0.5, backoff_cap: 8, timeout: 2, visibility_timeout: 12}}
targets:
  team-chat: {{org: acme, flow: main, token: "{token}", rate_limit: {{per_second: 500, burst: 100}}}}
routes:
  widgets: {{source: github, secret: "It's a Secret to Everybody", targets: [team-chat]}}
"""


def push(i: int, ref: str = "refs/heads/main") -> bytes:
    """A small signed-push body whose message names its number, so each arrival can be checked."""
    return json.dumps(
        {
            "ref": ref,
            "compare": f"https://github.com/acme/widgets/compare/{i}",
            "repository": {"full_name": "acme/widgets", "html_url": "https://github.com/acme/widgets"},
            "sender": {"login": "octocat"},
            "commits": [{"id": f"{i:040x}", "message": f"change number {i}", "author": {"username": "octocat"}}],
        }
    ).encode()


class Bridge:
    """A private Redis, devflow, and the web and workers started on demand, all stopped at the end."""

    def __init__(self, tmp_path, token="devflow-token", config_text=CONFIG):
        self.tmp = tmp_path
        self.redis = EmbeddedRedis(tmp_path / "redis", port=free_port())
        self.redis.start()
        self.devflow, self.chat = start_devflow(tmp_path)
        config = tmp_path / "bridge.yml"
        config.write_text(config_text.format(api_url=self.chat, token=token))
        self.env = {"REDIS_URL": self.redis.url, "HOOKDOCK_CONFIG": str(config)}
        self.programs: list[Program | Workers] = [self.devflow]
        self.webs: list[str] = []

    def web(self, name="web") -> str:
        program, url = start_web(self.tmp, self.env, name)
        self.programs.append(program)
        self.webs.append(url)
        return url

    def worker(self, name="worker", concurrency=2) -> Workers:
        program = start_worker(self.tmp, self.env, name, concurrency)
        self.programs.append(program)
        return program

    def send(self, i: int, web: str | None = None, ref: str = "refs/heads/main") -> requests.Response:
        body = push(i, ref)
        response = requests.post(f"{web or self.webs[0]}/hooks/widgets", data=body, headers=github_headers("push", body, delivery=f"delivery-{i}"), timeout=10)
        assert response.status_code == 202, response.text
        return response

    def fault(self, **spec) -> None:
        requests.post(f"{self.chat}/_devflow/faults", json=spec, timeout=5).raise_for_status()

    def stored(self) -> dict:
        return requests.get(f"{self.chat}/_devflow/messages", timeout=5).json()

    def posts(self) -> list[dict]:
        return [r for r in requests.get(f"{self.chat}/_devflow/requests", timeout=5).json()["requests"] if r["method"] == "POST"]

    def wait_for_messages(self, count: int, timeout: float = 60) -> list[dict]:
        return wait_until(lambda: len(m := self.stored()["messages"]) >= count and m, timeout, 0.2, f"{count} messages")

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(python("-m", "bridge", *args), cwd=PROJECT, env={**os.environ, **self.env}, capture_output=True, text=True, timeout=60)

    def close(self) -> None:
        for program in reversed(self.programs):
            program.stop()
        self.redis.stop()


@pytest.fixture
def bridge(tmp_path):
    stack = Bridge(tmp_path)
    yield stack
    stack.close()


def assert_each_once(messages: list[dict], count: int) -> None:
    """Every event arrived, as exactly one message."""
    assert len(messages) == count
    assert len({m["uuid"] for m in messages}) == count
    assert sorted(int(m["content"].split("change number ")[1].split()[0]) for m in messages) == list(range(count))


def test_503_three_times_then_200_gives_one_message(bridge):
    bridge.web()
    bridge.worker()
    bridge.fault(status=503, times=3)
    event_id = bridge.send(0).json()["event"]
    [message] = bridge.wait_for_messages(1)
    assert "change number 0" in message["content"]
    assert [p["status"] for p in bridge.posts()] == [503, 503, 503, 202]
    delivery = json.loads(bridge.cli("deliveries", "--json").stdout)[0]
    assert (delivery["id"], delivery["status"], [a["status"] for a in delivery["attempts"]]) == (f"{event_id}.team-chat", "delivered", [503, 503, 503, 202])


def test_429_with_retry_after_is_retried_no_sooner(bridge):
    bridge.web()
    bridge.worker()
    bridge.fault(status=429, times=1, retry_after="4")
    bridge.send(0)
    bridge.wait_for_messages(1, timeout=30)
    first, second = bridge.posts()
    assert (first["status"], second["status"]) == (429, 202)
    assert second["at"] - first["at"] >= 4000  # devflow stamps requests in milliseconds


def test_401_is_dead_lettered_after_one_attempt_and_listed(tmp_path):
    stack = Bridge(tmp_path, token="not-a-valid-token")
    try:
        stack.web()
        stack.worker()
        event_id = stack.send(0).json()["event"]
        listed = wait_until(lambda: event_id in (out := stack.cli("deliveries", "--failed").stdout) and out, 30, 0.3, "the dead letter")
        assert "failed" in listed and "HTTP 401" in listed and "1 attempt(s)" in listed
        assert "not-a-valid-token" not in listed
        assert len(stack.posts()) == 1
        for program in stack.programs:
            assert "not-a-valid-token" not in program.output(), f"{program.name} logged the token"
    finally:
        stack.close()


def burst_under_way(bridge) -> Workers:
    """A web and a worker, and 200 events being delivered: 40 or more shown, none of the last yet."""
    bridge.web()
    workers = bridge.worker()
    bridge.fault(delay=0.02, times=200)  # slow the chat a little so a kill lands mid-stream
    for i in range(200):
        bridge.send(i)
    wait_until(lambda: len(bridge.stored()["messages"]) >= 40, 60, 0.1, "the burst to be under way")
    return workers


def assert_burst_delivered_each_once(bridge) -> None:
    """All 200 shown; once no task is queued or in a worker's hands (a dead worker's come back and run again), none twice."""
    bridge.wait_for_messages(200, timeout=120)
    broker = redis.Redis.from_url(bridge.redis.url)
    wait_until(lambda: sequence.idle(broker, "celery"), 60, 0.2, "every task done with")
    assert_each_once(bridge.stored()["messages"], 200)


def test_worker_killed_mid_burst_loses_nothing_and_posts_nothing_twice(bridge):
    worker = burst_under_way(bridge)
    worker.kill()
    assert len(bridge.stored()["messages"]) < 200
    bridge.worker("worker2")
    # Tasks the dead worker held come back by the sweep.
    assert_burst_delivered_each_once(bridge)


def test_one_of_two_worker_processes_sigkilled_mid_burst_the_other_finishes_everything_once(bridge):
    workers = burst_under_way(bridge)
    workers.programs[0].kill()  # its heartbeat stops: the survivor's sweep brings back what it held
    assert len(bridge.stored()["messages"]) < 200
    assert_burst_delivered_each_once(bridge)


def test_sigterm_lets_a_worker_finish_the_delivery_in_hand(bridge):
    bridge.web()
    workers = bridge.worker(concurrency=1)
    bridge.fault(delay=1.2, times=1)  # under the 2 s timeout: the post is in flight when the signal comes
    event_id = bridge.send(0).json()["event"]
    wait_until(lambda: bridge.posts(), 30, 0.05, "the post to reach the chat")
    assert workers.stop(signal.SIGTERM) == 0
    [message] = bridge.stored()["messages"]
    assert "change number 0" in message["content"]
    broker = redis.Redis.from_url(bridge.redis.url)
    assert sequence.idle(broker, "celery")
    delivery = json.loads(bridge.cli("deliveries", "--json").stdout)[0]
    assert (delivery["id"], delivery["status"], [a["status"] for a in delivery["attempts"]]) == (f"{event_id}.team-chat", "delivered", [202])


def test_redis_restart_with_100_events_queued_loses_none(bridge):
    bridge.web()
    for i in range(100):
        bridge.send(i)
    bridge.redis.stop()
    bridge.redis.start()
    bridge.worker()
    assert_each_once(bridge.wait_for_messages(100), 100)


def test_two_webs_and_two_workers_deliver_300_events_each_once(bridge):
    webs = [bridge.web("web1"), bridge.web("web2")]
    bridge.worker("worker1", concurrency=1)
    bridge.worker("worker2", concurrency=1)
    for i in range(300):
        bridge.send(i, webs[i % 2])
    assert_each_once(bridge.wait_for_messages(300, timeout=120), 300)
    assert bridge.stored()["duplicates"] == 0


def test_the_web_keeps_accepting_while_the_worker_is_down(bridge):
    bridge.web()
    for i in range(30):
        bridge.send(i)
    assert bridge.stored()["messages"] == []
    bridge.worker()
    assert_each_once(bridge.wait_for_messages(30), 30)


# The shipped delivery and recovery settings (visibility timeout 900 s, backoff 2 s doubling up to
# 300 s); only the pace is raised so the test spends its time on recovery, not on rate limiting.
SHIPPED_DEFAULTS = """\
api_url: {api_url}
targets:
  team-chat: {{org: acme, flow: main, token: "{token}", rate_limit: {{per_second: 500, burst: 100}}}}
routes:
  widgets: {{source: github, secret: "It's a Secret to Everybody", targets: [team-chat]}}
"""


def test_work_held_by_a_sigkilled_worker_is_delivered_within_a_minute_of_a_new_worker(tmp_path):
    stack = Bridge(tmp_path, config_text=SHIPPED_DEFAULTS)
    try:
        stack.web()
        worker = stack.worker()
        stack.fault(status=503, times=70)  # every first try fails, so each event waits in the worker for its retry
        for i in range(39):
            stack.send(i)
        stack.send(39, ref="refs/heads/\ud800")  # a lone surrogate once made its event stay queued for ever
        broker = redis.Redis.from_url(stack.redis.url)
        wait_until(lambda: len(stack.posts()) >= 40 and broker.hlen("hookdock:held:deliveries") > 0, 60, 0.1, "every event tried once, retries held")
        worker.kill()
        assert len(stack.stored()["messages"]) < 40
        stack.worker("worker2")
        # Deadline, not a timing assertion: without the sweep the held retries would never come back.
        messages = stack.wait_for_messages(40, timeout=60)
        assert_each_once(messages, 40)
        assert stack.stored()["duplicates"] == 0
        assert len([p for p in stack.posts() if 200 <= p["status"] < 300]) == 40
    finally:
        stack.close()


def test_a_retry_waiting_in_a_worker_through_a_redis_restart_comes_back_at_once(tmp_path):
    stack = Bridge(tmp_path, config_text=SHIPPED_DEFAULTS)
    try:
        stack.web()
        stack.worker(concurrency=1)
        stack.fault(status=429, times=1, retry_after="8")  # the retry waits 8 s in the worker's memory
        stack.send(0)
        broker = redis.Redis.from_url(stack.redis.url)
        wait_until(lambda: stack.posts() and broker.hlen("hookdock:held:deliveries") == 1, 30, 0.1, "the first try refused, its retry held")
        stack.redis.stop()
        stack.redis.start()
        # Celery drops a worker's waiting retries when its broker connection is lost. Deadline, not a timing
        # assertion: left to the sweep, a live worker's hold would wait out its horizon (over 20 minutes here).
        assert_each_once(stack.wait_for_messages(1, timeout=60), 1)
        assert stack.stored()["duplicates"] == 0
    finally:
        stack.close()
