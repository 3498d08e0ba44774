"""Secrets never reach a log: what scrubbing hides, and what it leaves for people to read."""

from __future__ import annotations

import logging

import pytest

from bridge import create_app, logsafe
from bridge.config import parse_config

CONFIG = """\
api_url: http://127.0.0.1:9
admin_token: admin-0a9b8c7d
targets:
  chat: {org: acme, flow: main, token: user-token-1f2e}
  login: {org: acme, flow: main, email: a@example.com, password: pass-word-3d4c}
  inbox: {flow_token: flow-token-5b6a}
routes:
  widgets: {source: github, secret: hook-secret-7f8e, targets: [chat, login, inbox]}
"""


@pytest.fixture
def known(monkeypatch):
    """The secrets of CONFIG registered, as create_app registers them; forgotten after the test."""
    monkeypatch.setattr(logsafe, "SECRETS", set())
    logsafe.keep_out_of_logs(parse_config(CONFIG))
    return logsafe.SECRETS


def test_every_secret_of_the_configuration_is_known(known):
    assert known == {"admin-0a9b8c7d", "user-token-1f2e", "pass-word-3d4c", "flow-token-5b6a", "hook-secret-7f8e"}


@pytest.mark.parametrize(
    "line, scrubbed",
    [
        ('"GET /api/deliveries/admin-0a9b8c7d HTTP/1.1" 401', '"GET /api/deliveries/[hidden] HTTP/1.1" 401'),
        ("user agent user-token-1f2e and pass-word-3d4c", "user agent [hidden] and [hidden]"),
        ("Invalid HTTP request line: 'GET /api/deliveries?token=anything&x=1'", "Invalid HTTP request line: 'GET /api/deliveries?[hidden]'"),
        ("https://example.com/x?sig=abc more", "https://example.com/x?[hidden] more"),
        ("Authorization: Bearer not-known-but-hidden", "Authorization: Bearer [hidden]"),
        ("authorization: basic dXNlcjpwYXNz", "authorization: basic [hidden]"),
        ("Error connecting to redis://:redis-pw@cache:6379/0", "Error connecting to redis://:[hidden]@cache:6379/0"),
        (
            '"POST /hooks/widgets HTTP/1.1" 202 45 3ms "GitHub-Hookshot/abc" ping d-1',
            '"POST /hooks/widgets HTTP/1.1" 202 45 3ms "GitHub-Hookshot/abc" ping d-1',
        ),
        ("why? because", "why? because"),
    ],
)
def test_scrub_hides_secrets_and_keeps_the_rest(known, line, scrubbed):
    assert logsafe.scrub(line) == scrubbed


def test_a_record_is_scrubbed_with_its_arguments_and_traceback(known):
    try:
        raise ValueError("bad header Bearer admin-0a9b8c7d")
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "refused %s", ("/api?token=x",), exc_info=True)
        import sys

        record.exc_info = sys.exc_info()
    assert logsafe.scrub_record(record) is True
    text = logging.Formatter().format(record)
    assert text.startswith("refused /api?[hidden]\nTraceback") and "admin-0a9b8c7d" not in text and "ValueError: bad header Bearer [hidden]" in text


def test_flask_logs_an_unhandled_error_without_secrets(redis_url, caplog, monkeypatch):
    monkeypatch.setattr(logsafe, "SECRETS", set())
    app = create_app(parse_config(CONFIG), redis_url)

    @app.get("/boom")
    def boom():
        raise RuntimeError("the token was admin-0a9b8c7d")

    with caplog.at_level(logging.ERROR):
        assert app.test_client().get("/boom?token=admin-0a9b8c7d").status_code == 500
    assert "admin-0a9b8c7d" not in caplog.text and "the token was [hidden]" in caplog.text
