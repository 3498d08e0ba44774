"""Target configuration: a type per target (flowdock by default), errors naming file, line, key and fix, secrets masked."""

from __future__ import annotations

import pytest

from bridge import logsafe, offline_services
from bridge.config import ConfigError, parse_config
from bridge.preview import preview
from tests.support import fixture_payload

BASE = """\
targets:
  chat: {org: acme, flow: main, token: t}
  other: %s
routes:
  widgets: {source: github, secret: s, targets: [chat, other]}
"""


@pytest.mark.parametrize(
    "target, expected",
    [
        (
            "{type: slak, url: https://hooks.slack.com/x}",
            "bridge.yml:3: targets.other.type: unknown target type; fix: use one of: flowdock, slack, mattermost, teams",
        ),
        ("{type: slack}", "bridge.yml:3: targets.other: give url (an incoming webhook) or token with channel (a bot), not both or neither"),
        ("{type: slack, token: xoxb-1}", "bridge.yml:3: targets.other: a token needs channel"),
        (
            "{type: slack, url: http://hooks.example.com/services/T/B/secret-x}",
            "bridge.yml:3: targets.other.url: plain http is only allowed to loopback hosts; fix: use https://",
        ),
        ("{type: slack, url: not-a-url-secret-x}", "bridge.yml:3: targets.other.url: the value is not an http(s) URL; fix: use for example the webhook URL"),
        ("{type: mattermost, url: https://mm.example.com/hooks/k, token: t}", "bridge.yml:3: targets.other: give url (an incoming webhook) or server"),
        ("{type: mattermost, token: t}", "bridge.yml:3: targets.other: a token needs server"),
        ("{type: teams, url: ''}", "bridge.yml:3: targets.other.url: is empty; fix: write the secret as ${VARIABLE}"),
        ("{type: discord}", "bridge.yml:3: targets.other.url: is required; fix: add it"),
        ("{type: matrix, homeserver: https://m.org, room_id: '!r:m.org'}", "bridge.yml:3: targets.other.access_token: is required"),
        (
            "{type: matrix, homeserver: ftp://m.org, room_id: '!r:m.org', access_token: a}",
            "bridge.yml:3: targets.other.homeserver: the value is not an http(s) URL; fix: use for example https://matrix.example.org",
        ),
        (
            "{type: zulip, site: https://z.example.com, email: b@z, api_key: k, stream: dev, colour: red}",
            "bridge.yml:3: targets.other.colour: unknown key; fix: remove it",
        ),
        ("{type: discord, url: https://discord.com/api/webhooks/1/t, org: acme}", "bridge.yml:3: targets.other.org: unknown key"),
    ],
)
def test_target_errors_name_file_line_key_and_fix(target, expected):
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE % target, "bridge.yml")
    assert str(caught.value).startswith(expected), str(caught.value)
    assert "secret-x" not in str(caught.value)


def test_a_target_without_a_type_is_flowdock_and_each_type_reads_its_own_settings():
    config = parse_config(BASE % "{type: zulip, site: https://z.example.com, email: bot@z, api_key: k, stream: dev}")
    assert (config.targets["chat"].type, config.targets["other"].type, config.targets["other"].topic) == ("flowdock", "zulip", "hookdock")


URLS = """\
targets:
  slack: {type: slack, url: "https://hooks.slack.com/services/T000/B000/XXXXsecretXXXX"}
  teams: {type: teams, url: "https://prod.logic.azure.com/workflows/1/triggers/manual/paths/invoke?api-version=1&sig=SIGsecret"}
  matrix: {type: matrix, homeserver: https://m.org, room_id: "!r:m.org", access_token: syt_token_secret}
  zulip: {type: zulip, site: https://z.example.com, email: bot@z, api_key: zulip-key-secret, stream: dev}
routes:
  widgets: {source: github, secret: s, targets: [slack, teams, matrix, zulip]}
"""


def test_webhook_urls_and_tokens_are_kept_out_of_logs_even_when_quoted_without_their_host(monkeypatch):
    monkeypatch.setattr(logsafe, "SECRETS", set())
    config = parse_config(URLS)
    logsafe.keep_out_of_logs(config)
    assert "XXXXsecretXXXX" not in repr(config) and "SIGsecret" not in repr(config)
    line = "ConnectionError: HTTPSConnectionPool(host='hooks.slack.com'): Max retries exceeded with url: /services/T000/B000/XXXXsecretXXXX (Caused by ...)"
    assert "XXXXsecretXXXX" not in logsafe.scrub(line)
    for secret in ("syt_token_secret", "zulip-key-secret", "sig=SIGsecret"):
        assert secret not in logsafe.scrub(f"failed with {secret} in it")


def test_a_preview_shows_each_chats_request_with_its_secrets_masked():
    services = offline_services(parse_config(URLS))
    shown = preview(services, "widgets", "pull_request", fixture_payload("github", "pull_request__opened"))
    paths = {request["target"]: (request["method"], request["path"]) for request in shown["requests"]}
    assert paths["slack"] == ("POST", "***") and paths["matrix"][0] == "PUT"
    assert paths["zulip"] == ("POST", "/api/v1/messages")
    assert "secret" not in str(shown).lower()
