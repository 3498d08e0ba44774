"""A real Celery worker takes the task the accept script queued (bridge/broker.py) as one Celery itself queued.

Guards bridge/broker.py's copy of Celery's message across upgrades (see tests/test_broker.py): the
worker must run the task, read its sequence number (bridge/sequence.py) and acknowledge it.
"""

from __future__ import annotations

import pytest
import redis
import requests

from bridge import broker, create_app, sequence
from bridge.config import parse_config
from tests.e2e.processes import start_worker
from tests.support import github_headers, wait_until

CONFIG = """\
api_url: {url}
targets:
  team-chat: {{flow_token: devflow-flow-token}}
routes:
  widgets: {{source: github, secret: s, targets: [team-chat]}}
"""
PING = b'{"zen": "Approachable is better than simple.", "hook_id": 3}'


@pytest.fixture
def worker(tmp_path, chat, redis_url):
    config = tmp_path / "bridge.yml"
    config.write_text(CONFIG.format(url=chat.url))
    program = start_worker(tmp_path, {"REDIS_URL": redis_url, "HOOKDOCK_CONFIG": str(config)}, concurrency=1)
    yield program
    program.stop()


def test_a_worker_runs_acknowledges_and_numbers_the_task_the_accept_script_queued(worker, chat, redis_url, tmp_path):
    app = create_app(parse_config(CONFIG.format(url=chat.url)), redis_url)
    answer = app.test_client().post("/hooks/widgets", data=PING, headers=github_headers("ping", PING, "b-1", secret="s"))
    assert answer.status_code == 202, answer.get_data()
    event_id = answer.get_json()["event"]
    r = redis.Redis.from_url(redis_url)
    store = app.extensions["hookdock"].store

    def settled():
        event = store.load_event(event_id)
        return event is not None and event.status != "queued" and event

    event = wait_until(settled, 30, what=f"the worker to process {event_id}")
    assert event.status == "processed", (event.status, event.reason, worker.output()[-2000:])
    # Processed means rendered, with its delivery created in the same write; the post follows it.
    [message] = wait_until(lambda: requests.get(f"{chat.url}/_devflow/messages", timeout=5).json()["messages"], 10, what="the message in devflow")
    assert "Approachable is better than simple." in message["content"]
    # The worker read the number the script wrote in: the recovery machinery sees the task received.
    assert int(r.get(sequence.RECEIVED) or 0) >= 1 and r.zcard(sequence.waiting_key("events")) == 0
    assert r.llen(broker.QUEUE) == 0
    # Settled: nothing of it is queued, waiting to be received or held.
    wait_until(lambda: sequence.idle(r, broker.QUEUE), 10, what="the task to be done with")
    assert "Received unregistered task" not in worker.output() and "Traceback" not in worker.output()
