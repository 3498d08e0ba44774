"""Each target's answer table: delivered, retry (with the wait the chat asked for) or permanent, and the message id kept."""

from __future__ import annotations

import json

import pytest
import requests

from bridge.targets import discord, matrix, mattermost, slack, teams, zulip


def response(status: int, body: object = "", headers: dict | None = None) -> requests.Response:
    """An HTTP answer as requests hands it over."""
    answer = requests.Response()
    answer.status_code = status
    answer._content = (body if isinstance(body, str) else json.dumps(body)).encode()
    answer.headers.update(headers or {})
    return answer


CASES = [
    # Slack: a webhook's text answers, the Web API's {"ok": false} inside a 200, and 429 with Retry-After.
    (slack, response(200, "ok"), ("delivered", None, None)),
    (slack, response(200, {"ok": True, "ts": "1700000000.000100"}), ("delivered", None, "1700000000.000100")),
    (slack, response(200, {"ok": False, "error": "invalid_blocks"}), ("permanent", None, None)),
    (slack, response(200, {"ok": False, "error": "ratelimited"}, {"Retry-After": "3"}), ("retry", 3.0, None)),
    (slack, response(429, "rate_limited", {"Retry-After": "30"}), ("retry", 30.0, None)),
    (slack, response(404, "channel_not_found"), ("permanent", None, None)),
    (slack, response(410, "channel_is_archived"), ("permanent", None, None)),
    (slack, response(503, "service unavailable"), ("retry", None, None)),
    # Mattermost: a webhook's "ok", the API's 201 with the post.
    (mattermost, response(200, "ok"), ("delivered", None, None)),
    (mattermost, response(201, {"id": "p1"}), ("delivered", None, "p1")),
    (mattermost, response(429, {"message": "too many"}, {"Retry-After": "2"}), ("retry", 2.0, None)),
    (mattermost, response(400, {"message": "bad"}), ("permanent", None, None)),
    # Teams: 202 and no id; 413 when the card is too big; 429 with Retry-After.
    (teams, response(202), ("delivered", None, None)),
    (teams, response(413, {"error": {"code": "MessageSizeTooBig"}}), ("permanent", None, None)),
    (teams, response(429, "", {"Retry-After": "5"}), ("retry", 5.0, None)),
    (teams, response(401), ("permanent", None, None)),
    # Discord: the message under ?wait=true; 429's retry_after in seconds with fractions, before the header.
    (discord, response(200, {"id": "1234567890123456789"}), ("delivered", None, "1234567890123456789")),
    (discord, response(429, {"message": "You are being rate limited.", "retry_after": 0.75, "global": False}, {"Retry-After": "1"}), ("retry", 0.75, None)),
    (discord, response(429, {"message": "rate limited"}, {"Retry-After": "2"}), ("retry", 2.0, None)),
    (discord, response(401, {"message": "Invalid Webhook Token", "code": 50027}), ("permanent", None, None)),
    (discord, response(400, {"message": "Invalid Form Body", "code": 50035}), ("permanent", None, None)),
    # Matrix: the event id; M_LIMIT_EXCEEDED's retry_after_ms; 413 M_TOO_LARGE is ours to fix.
    (matrix, response(200, {"event_id": "$abc:example.org"}), ("delivered", None, "$abc:example.org")),
    (matrix, response(429, {"errcode": "M_LIMIT_EXCEEDED", "retry_after_ms": 2500}), ("retry", 2.5, None)),
    (matrix, response(413, {"errcode": "M_TOO_LARGE"}), ("permanent", None, None)),
    (matrix, response(401, {"errcode": "M_UNKNOWN_TOKEN"}), ("permanent", None, None)),
    (matrix, response(502, "bad gateway"), ("retry", None, None)),
    # Zulip: the message id; errors in 4xx; 429 with Retry-After.
    (zulip, response(200, {"result": "success", "msg": "", "id": 42}), ("delivered", None, 42)),
    (zulip, response(400, {"result": "error", "msg": "Channel 'x' does not exist", "code": "STREAM_DOES_NOT_EXIST"}), ("permanent", None, None)),
    (zulip, response(429, {"result": "error", "code": "RATE_LIMIT_HIT", "retry-after": 1.5}, {"Retry-After": "1.5"}), ("retry", 1.5, None)),
    (zulip, response(401, {"result": "error", "code": "INVALID_API_KEY"}), ("permanent", None, None)),
]


@pytest.mark.parametrize("module, answer, expected", CASES, ids=[f"{m.__name__.rsplit('.', 1)[1]}-{i}" for i, (m, _, _) in enumerate(CASES)])
def test_answer_table(module, answer, expected):
    outcome = module.answer(answer, 1.0, [])
    assert (outcome.kind, outcome.retry_after, outcome.message_id) == expected
    assert outcome.status == answer.status_code


def test_what_the_server_said_is_kept_without_secrets():
    outcome = discord.answer(response(401, {"message": "Invalid Webhook Token for /api/webhooks/1/s3cr3t"}), 1.0, ["/api/webhooks/1/s3cr3t"])
    assert "Invalid Webhook Token" in outcome.error and "s3cr3t" not in outcome.error
