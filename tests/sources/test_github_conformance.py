"""Every @octokit/webhooks-examples payload through the real endpoint, the worker logic and a strict devflow.

Each example is signed and posted to /hooks/<route>, processed, and delivered to devflow,
which validates every message against the Flowdock contract. An example must end as a
delivered message or as an ignore with its reason; never as an error, an empty or over-long
message, or text with template artifacts.
"""

from __future__ import annotations

import gzip
import json

import pytest

from bridge import create_app, pipeline
from bridge.config import parse_config
from bridge.render import MAX_CONTENT
from tests.support import FIXTURES, github_headers

OCTOKIT_EXAMPLES = FIXTURES / "octokit" / "webhooks-examples-7.6.1.json.gz"
EXAMPLES = [(entry["name"], i, example) for entry in json.loads(gzip.decompress(OCTOKIT_EXAMPLES.read_bytes())) for i, example in enumerate(entry["examples"])]
ARTIFACTS = ("{{", "}}", "{%", "Undefined", "None", "[object")
CONFIG = """\
api_url: {url}
targets:
  chat: {{org: acme, flow: main, token: devflow-token, rate_limit: {{per_second: 100000, burst: 100000}}}}
  inbox: {{flow_token: devflow-flow-token, rate_limit: {{per_second: 100000, burst: 100000}}}}
routes:
  everything: {{source: github, secret: "It's a Secret to Everybody", targets: [chat, inbox]}}
"""


@pytest.fixture(scope="module")
def app(chat_server, redis_server):
    return create_app(parse_config(CONFIG.format(url=chat_server.url)), redis_server.url)


def texts(message: dict) -> list[str]:
    """The human-readable strings of a message: content, or title, body and thread text."""
    thread = message.get("thread") or {}
    fields = [f"{f['label']}: {f['value']}" for f in thread.get("fields", [])]
    return [message.get(k) or "" for k in ("content", "title", "body")] + [thread.get("title", ""), thread.get("body") or ""] + fields


def test_the_pinned_package_has_every_event():
    assert len({name for name, _, _ in EXAMPLES}) == 58 and len(EXAMPLES) == 329


@pytest.mark.parametrize("name, index, payload", EXAMPLES, ids=[f"{n}-{i}" for n, i, _ in EXAMPLES])
def test_example_is_delivered_or_ignored_with_a_reason(app, chat, name, index, payload):
    body = json.dumps(payload).encode()
    answer = app.test_client().post("/hooks/everything", data=body, headers=github_headers(name, body, f"{name}-{index}"))
    assert answer.status_code == 202, answer.get_json()
    services = app.extensions["hookdock"]
    event_id = answer.get_json()["event"]

    pending = pipeline.process_event(services, event_id)
    event = services.store.load_event(event_id)
    if event.status == "ignored":
        assert event.reason and pending == []
        return
    assert event.status == "processed" and not event.reason, event.reason
    for delivery_id in pending:
        assert pipeline.attempt(services, delivery_id) is None
        delivery = services.store.load_delivery(delivery_id)
        assert delivery.status == "delivered", delivery.last_error
        message = delivery.message
        assert any(t.strip() for t in texts(message)), f"empty message for {delivery.target}"
        assert len(message.get("content") or "") <= MAX_CONTENT
        for text in texts(message):
            leaked = [a for a in ARTIFACTS if a in text and a not in json.dumps(payload)]
            assert not leaked, f"template artifact {leaked} in {text!r}"
