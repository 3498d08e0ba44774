"""Celery task messages as kombu's Redis transport queues them, built without importing Celery or kombu.

The web queues each accepted event inside the Lua call that stores it (bridge/store.py ACCEPT), so
accepting and queueing are one atomic round trip and the web never loads Celery. That call pushes
what `send_task` would push: Celery's protocol-2 envelope (celery/app/amqp.py as_task_v2) wrapped
as kombu's virtual channel (kombu/transport/virtual/base.py basic_publish) and Redis transport
(kombu/transport/redis.py _put) wrap it. tests/test_broker.py compares the two on every run and
fails, naming what to re-check, when an upgrade changes either.
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import uuid
from functools import cache
from typing import NamedTuple

import redis

PROCESS_EVENT = "hookdock.process_event"
DELIVER = "hookdock.deliver"
# The versions this envelope was read from; tests/test_broker.py fails once the installed ones differ.
WRITTEN_FOR = {"celery": "5.7.0", "kombu": "5.7.0"}
# Celery's default queue; make_celery (bridge/tasks.py) names it as the app's, so both sides agree.
QUEUE = "celery"
# A message pushed with priority 0 goes to the queue's own list (kombu's _q_for_pri), with the anonymous exchange.
PRIORITY = 0
EXCHANGE = ""
# kombu's persistent delivery mode, as Producer.publish sets it.
PERSISTENT = 2
# Stands in for the sequence number while the message is serialised; Lua writes the number in its place.
_SPLICE = "\x00hookdock-seq\x00"


class Message(NamedTuple):
    """A queued task's JSON text in two parts: the Lua script writes the sequence number between them."""

    queue: str
    head: str
    tail: str


@cache
def _reply_to() -> str:
    """One id per process, as Celery's app.thread_oid: with results ignored nothing is ever sent to it."""
    return str(uuid.uuid4())


@cache
def _hostname() -> str:
    return socket.gethostname()


def task_message(task: str, args: list, header: str, kwargs: dict | None = None) -> Message:
    """The task message `send_task(task, args, kwargs, headers={header: seq})` would queue, seq left to Lua."""
    kwargs = kwargs or {}
    body = json.dumps([args, kwargs, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}])
    values = {
        "id": str(uuid.uuid4()),
        "tag": str(uuid.uuid4()),
        "argsrepr": json.dumps(repr(args))[1:-1],
        "body": base64.b64encode(body.encode()).decode(),
    }
    # The process id is part of the key: a process forked after the first message names itself, not its parent.
    head, tail = _envelope(task, header, repr(kwargs), os.getpid())
    return Message(QUEUE, _filled(head, values), _filled(tail, values))


def _filled(pieces: list[str], values: dict[str, str]) -> str:
    """Envelope text with each hole (an odd item) replaced by its value."""
    return "".join([piece if i % 2 == 0 else values[piece] for i, piece in enumerate(pieces)])


def publish(client: redis.Redis, message: Message, seq: int) -> None:
    """Queue a message numbered seq, as kombu's Redis transport would (an LPUSH onto the queue's list)."""
    client.lpush(message.queue, f"{message.head}{seq}{message.tail}")


def _hole(name: str) -> str:
    return f"\x00hookdock-{name}\x00"


# Where a message's own values go in the envelope's JSON text: a hole as json.dumps writes it.
_HOLES = re.compile(r"\\u0000hookdock-(id|tag|argsrepr|body)\\u0000")


@cache
def _envelope(task: str, header: str, kwargsrepr: str, pid: int) -> tuple[list[str], list[str]]:
    """A task's message before and after the sequence number, each split at its holes (odd items name one).

    Every message of a task differs only in its ids, arguments and body: serialising the rest once per
    process rather than per webhook saves most of the message's cost.
    """
    task_id = _hole("id")
    headers: dict[str, object] = {
        "lang": "py",
        "task": task,
        "id": task_id,
        "shadow": None,
        "eta": None,
        "expires": None,
        "group": None,
        "group_index": None,
        "retries": 0,
        "timelimit": [None, None],
        "root_id": task_id,
        "parent_id": None,
        "argsrepr": _hole("argsrepr"),
        "kwargsrepr": kwargsrepr,
        # Celery's anon_nodename(): who sent it, for the worker's log.
        "origin": f"gen{pid}@{_hostname()}",
        "ignore_result": None,
        "replaced_task_nesting": 0,
        "stamped_headers": None,
        "stamps": {},
        header: _SPLICE,
    }
    properties = {
        "correlation_id": task_id,
        "reply_to": _reply_to(),
        "delivery_mode": PERSISTENT,
        "delivery_info": {"exchange": EXCHANGE, "routing_key": QUEUE},
        "priority": PRIORITY,
        "body_encoding": "base64",
        # The tag the worker acknowledges the message by (kombu's copy of unacknowledged messages is off: bridge/tasks.py).
        "delivery_tag": _hole("tag"),
    }
    message = {
        "body": _hole("body"),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": headers,
        "properties": properties,
    }
    head, _, tail = json.dumps(message).partition(json.dumps(_SPLICE))
    return _HOLES.split(head), _HOLES.split(tail)
