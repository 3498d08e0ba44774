"""Every target type through the worker's logic (store, retries, thread roots) to devflow standing in for its chat."""

from __future__ import annotations

import pytest
import requests

from bridge import build_services, pipeline
from bridge.config import parse_config
from bridge.store import Event
from tests.support import fixture_bytes, process_event, wait_until
from tests.targets.conftest import OTHERS, config_for

FAST = "delivery: {max_attempts: 3, backoff_base: 0.1, backoff_cap: 1, timeout: 0.5}\n"


@pytest.fixture
def services(chat, redis_url):
    return build_services(config_for(chat.url, extra=FAST), redis_url)


def arrivals(chat) -> list[dict]:
    return requests.get(f"{chat.url}/_devflow/chats", timeout=5).json()["arrivals"]


def deliver(services, fixture: str, event: str, event_id: str, target: str) -> str:
    """Store an event, process it for one target and make one attempt; the delivery's id."""
    headers = {"Content-Type": "application/json", "X-GitHub-Event": event}
    services.store.save_event(Event(event_id, "all", "github", event, "d-" + event_id, headers, fixture_bytes("github", fixture)))
    [delivery_id] = process_event(services, event_id, only_target=target)
    pipeline.attempt(services, delivery_id)
    return delivery_id


@pytest.mark.parametrize("target", OTHERS)
def test_a_pull_request_arrives_once_with_its_id_recorded_and_no_secret_in_the_record(services, chat, target):
    delivery = services.store.load_delivery(deliver(services, "pull_request__opened", "pull_request", "e1", target))
    assert delivery.status == "delivered", delivery.last_error
    [arrival] = arrivals(chat)
    assert arrival["service"] == target.split("-")[0]
    # A Teams workflow and the Slack and Mattermost webhooks answer with no id; every other chat's id is kept.
    assert delivery.message_id == (None if target in ("slack", "mattermost", "teams") else arrival["message_id"])
    assert "devflow-" not in str(delivery) and "xoxb" not in str(delivery)


@pytest.mark.parametrize(
    "target, reply_under",
    [
        ("slack-bot", lambda first, second: second["json"]["thread_ts"] == first["message_id"] and second["thread"] == first["message_id"]),
        ("mattermost-api", lambda first, second: second["json"]["root_id"] == first["message_id"]),
        (
            "matrix",
            lambda first, second: second["json"]["m.relates_to"] == {**second["json"]["m.relates_to"], "rel_type": "m.thread", "event_id": first["message_id"]},
        ),
        ("zulip", lambda first, second: second["json"]["topic"] == first["json"]["topic"] == "#2 Update the README with new information."),
        ("discord", lambda first, second: second["thread"] is None and second["json"]["embeds"][0]["footer"]["text"] == "merged"),
    ],
)
def test_a_second_change_to_an_item_goes_where_the_chat_keeps_threads(services, chat, target, reply_under):
    deliver(services, "pull_request__opened", "pull_request", "e1", target)
    deliver(services, "pull_request__merged", "pull_request", "e2", target)
    first, second = arrivals(chat)
    assert reply_under(first, second), second


@pytest.mark.parametrize("target", ["slack-bot", "mattermost-api"])
def test_the_root_is_redrawn_with_the_items_newest_status(services, chat, target):
    deliver(services, "pull_request__opened", "pull_request", "e1", target)
    deliver(services, "pull_request__merged", "pull_request", "e2", target)
    root = arrivals(chat)[0]
    [update] = root["updates"]
    assert "#8250df" in str(update)  # merged is purple; the root was posted green


def test_a_matrix_retry_after_a_timeout_reuses_the_transaction_and_posts_once(services, chat):
    # The homeserver is slow: the client gives up, the event is stored anyway, and the retry must not post it twice.
    requests.post(f"{chat.url}/_devflow/faults", json={"delay": 1.0, "path": "/_matrix/"}, timeout=5).raise_for_status()
    delivery_id = deliver(services, "pull_request__opened", "pull_request", "e1", "matrix")
    assert services.store.load_delivery(delivery_id).status == "retrying"
    [slow] = wait_until(
        lambda: [r for r in requests.get(f"{chat.url}/_devflow/requests", timeout=5).json()["requests"] if r["status"] == 200], what="the slow PUT"
    )
    assert pipeline.attempt(services, delivery_id) is None
    delivery = services.store.load_delivery(delivery_id)
    [arrival] = arrivals(chat)
    assert (delivery.status, delivery.message_id) == ("delivered", arrival["message_id"])
    retried = requests.get(f"{chat.url}/_devflow/requests", timeout=5).json()["requests"][-1]
    assert (retried["path"], retried["duplicate"]) == (slow["path"], True)


def test_a_throttled_discord_post_waits_as_long_as_discord_asks(services, chat):
    fault = {"status": 429, "path": "/api/webhooks/", "body": {"message": "You are being rate limited.", "retry_after": 0.9, "global": False}}
    requests.post(f"{chat.url}/_devflow/faults", json=fault, timeout=5).raise_for_status()
    headers = {"Content-Type": "application/json", "X-GitHub-Event": "pull_request"}
    services.store.save_event(Event("e1", "all", "github", "pull_request", "d-e1", headers, fixture_bytes("github", "pull_request__opened")))
    [delivery_id] = process_event(services, "e1", only_target="discord")
    assert pipeline.attempt(services, delivery_id) >= 0.9
    assert pipeline.attempt(services, delivery_id) is None
    assert len(arrivals(chat)) == 1


@pytest.mark.parametrize(
    "target, right, wrong",
    [
        ("slack", "/devflow-slack", "/nope-slack"),
        ("discord", "/devflow-discord", "/nope-discord"),
        ("teams", "sig=devflow-teams", "sig=nope-teams"),
    ],
)
def test_wrong_credentials_dead_letter_at_once_without_showing_them(chat, redis_url, target, right, wrong):
    url = config_for(chat.url).targets[target].url.get_secret_value().replace(right, wrong)
    config = f'api_url: {chat.url}\n{FAST}targets:\n  {target}: {{type: {target}, url: "{url}"}}\nroutes:\n  all: {{source: github, secret: s, targets: [{target}]}}\n'
    services = build_services(parse_config(config), redis_url)
    delivery = services.store.load_delivery(deliver(services, "pull_request__opened", "pull_request", "e1", target))
    assert (delivery.status, delivery.last_status, len(delivery.attempts)) == ("failed", 401 if target != "slack" else 403, 1)
    assert "nope" not in delivery.last_error
