"""Alert and error sources (Alertmanager, Grafana, Sentry): every fixture against its expected texts, each scheme's refusals, filters."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from bridge import alerts, offline_services
from bridge.config import parse_config
from bridge.messages import messages_for
from bridge.preview import check_samples
from bridge.sources import SOURCES, Inbound, Rejected, alertmanager, grafana, sentry
from bridge.sources.auth import hmac_hex
from tests.support import FIXTURES

ALERTING = ("alertmanager", "grafana", "sentry")
SECRET = "alert-secret-7c1d"


def config_text(extra: str = "") -> str:
    routes = "".join(
        f'  {s}: {{source: {s}, secret: {SECRET}, targets: [chat, inbox]}}\n  {s}-named: {{source: {s}, secret: {SECRET}, targets: [chat, inbox], events: ["*", "*.*"]}}\n'
        for s in ALERTING
    )
    return f"targets:\n  chat: {{org: acme, flow: main, token: t}}\n  inbox: {{flow_token: f}}\nroutes:\n{routes}{extra}"


SERVICES = offline_services(parse_config(config_text()))
CASES = sorted(path for source in ALERTING for path in (FIXTURES / source).glob("*__*.json"))


def outcome(path: Path) -> tuple:
    """The default decision and what each target receives (through a route naming every event when hidden)."""
    source, event, payload = path.parent.name, path.stem.split("__")[0], json.loads(path.read_text())
    decision = SOURCES[source].classify(event, payload)
    route = f"{source}-named" if decision.hidden else source
    final, sent, warnings = messages_for(SERVICES, route, event, payload, "fixture", ["chat", "inbox"])
    assert warnings == []
    return decision, final, sent


def test_every_alert_source_has_fixtures_and_their_origins():
    for source in ALERTING:
        assert len(list((FIXTURES / source).glob("*__*.json"))) >= 2, source
        assert (FIXTURES / source / "SOURCES.md").read_text().count("https://") >= 2


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_fixture_chat_message_is_exactly_as_expected(path: Path):
    """Each fixture's chat outcome is written beside it: the full text, or the reason for none."""
    decision, final, sent = outcome(path)
    expected_text, expected_reason = path.with_suffix(".txt"), path.with_suffix(".ignored")
    assert expected_text.exists() or expected_reason.exists(), f"{path.name} needs a .txt or an .ignored"
    if expected_reason.exists():
        assert decision.hidden or final.template is None or not final.chat, "rendered by default: write a .txt instead"
        assert (decision.reason if decision.template else final.reason) == expected_reason.read_text().strip()
    if expected_text.exists():
        assert sent["chat"]["content"] == expected_text.read_text().rstrip("\n")
        assert "None" not in sent["chat"]["content"]
    else:
        assert "chat" not in sent


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_fixture_thread_message_is_exactly_as_expected(path: Path):
    """A .thread file is what a flow-token target receives in the group's or issue's thread."""
    _, _, sent = outcome(path)
    expected = path.with_suffix(".thread")
    if expected.exists():
        wanted = json.loads(expected.read_text())
        assert sent["inbox"]["event"] == "activity"
        assert {key: sent["inbox"][key] for key in wanted} == wanted
    else:
        assert sent.get("inbox", {}).get("event") != "activity"


def test_a_group_keeps_its_thread_from_firing_to_resolved_and_long_keys_stay_short():
    firing, resolved = (json.loads((FIXTURES / "alertmanager" / f"alert__{name}.json").read_text()) for name in ("firing", "resolved"))
    assert alertmanager.classify("alert", firing).thread == alertmanager.classify("alert", resolved).thread
    firing["groupKey"] = "{}:{" + ", ".join(f'label{i}="{"x" * 40}"' for i in range(40)) + "}"
    assert len(alertmanager.classify("alert", firing).thread) < 64


@pytest.mark.parametrize(
    "previous, state, chat",
    [
        ("", "firing", True),
        ("fail", "firing", False),
        ("pass", "firing", True),
        ("fail", "resolved", True),
        ("pass", "resolved", False),
        ("", "resolved", True),
    ],
)
def test_a_group_reaches_chat_when_an_episode_starts_and_ends(previous, state, chat):
    payload = json.loads((FIXTURES / "alertmanager" / f"alert__{state}.json").read_text())
    group = alertmanager.group("alert", payload)
    assert group is not None
    assert alerts.judge(alertmanager.classify("alert", payload), group, alerts.builds.Verdict(previous)).chat is chat


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize("source", [alertmanager, grafana])
@pytest.mark.parametrize("header", [f"Bearer {SECRET}", basic("alertmanager", SECRET), basic("", SECRET)])
def test_alert_sources_accept_the_secret_as_bearer_or_basic_password(source, header):
    source.verify(Inbound({"Authorization": header}, b"{}"), {"secret": SECRET})


@pytest.mark.parametrize(
    "header, reason",
    [
        ("", "missing credentials"),
        ("Bearer", "missing credentials"),
        ("Token " + SECRET, "missing credentials"),
        ("Bearer wrong", "do not match"),
        (basic(SECRET, "wrong"), "do not match"),
        ("Basic %%%", "base64 of user:password"),
        ("Basic " + base64.b64encode(SECRET.encode()).decode(), "base64 of user:password"),
    ],
)
def test_alert_sources_refuse_wrong_or_missing_credentials(header, reason):
    with pytest.raises(Rejected) as refused:
        alertmanager.verify(Inbound({"Authorization": header} if header else {}, b"{}"), {"secret": SECRET})
    assert refused.value.status == 401 and reason in refused.value.message and SECRET not in refused.value.message


BODY = b'{"status": "firing"}'
NOW = 1_800_000_000


@pytest.mark.parametrize(
    "headers, ok",
    [
        ({"X-Grafana-Alerting-Signature": hmac_hex(SECRET, BODY)}, True),
        ({"X-Grafana-Alerting-Signature": hmac_hex(SECRET, f"{NOW}:".encode() + BODY), "X-Grafana-Alerting-Timestamp": str(NOW)}, True),
        ({"X-Grafana-Alerting-Signature": hmac_hex(SECRET, f"{NOW}.".encode() + BODY), "X-Grafana-Alerting-Timestamp": str(NOW)}, False),
        ({"X-Grafana-Alerting-Signature": hmac_hex(SECRET, f"{NOW - 301}:".encode() + BODY), "X-Grafana-Alerting-Timestamp": str(NOW - 301)}, False),
        ({"X-Grafana-Alerting-Signature": hmac_hex(SECRET, BODY), "X-Grafana-Alerting-Timestamp": str(NOW)}, False),
        ({"X-Grafana-Alerting-Signature": hmac_hex("other", BODY)}, False),
        ({"Authorization": f"Bearer {SECRET}"}, False),
    ],
)
def test_grafana_signature_mode_checks_the_hmac_and_its_timestamp(headers, ok):
    check = lambda: grafana.verify(Inbound(headers, BODY), {"secret": SECRET, "auth": "signature"}, now=NOW)  # noqa: E731
    if ok:
        check()
    else:
        with pytest.raises(Rejected):
            check()


@pytest.mark.parametrize(
    "headers, reason",
    [
        ({}, "missing Sentry-Hook-Signature"),
        ({"Sentry-Hook-Signature": "0" * 64}, "does not match"),
        ({"Sentry-Hook-Signature": hmac_hex(SECRET, BODY), "Sentry-Hook-Timestamp": str(NOW - 400)}, "away from this server's clock"),
        ({"Sentry-Hook-Signature": hmac_hex(SECRET, BODY), "Sentry-Hook-Timestamp": "yesterday"}, "not a number"),
        ({"Sentry-Hook-Signature": hmac_hex(SECRET, BODY), "Sentry-Hook-Timestamp": str(NOW)}, ""),
        ({"Sentry-Hook-Signature": hmac_hex(SECRET, BODY).upper()}, ""),
    ],
)
def test_sentry_checks_the_body_signature_and_a_stale_timestamp(headers, reason):
    if not reason:
        sentry.verify(Inbound(headers, BODY), {"secret": SECRET}, now=NOW)
        return
    with pytest.raises(Rejected) as refused:
        sentry.verify(Inbound(headers, BODY), {"secret": SECRET}, now=NOW)
    assert reason in refused.value.message


def test_sentry_dedupes_by_request_id():
    assert sentry.delivery_id({"Request-ID": "abc"}, b"{}") == sentry.delivery_id({"Request-ID": "abc"}, b"[]") != sentry.delivery_id({}, b"{}")


@pytest.mark.parametrize(
    "route, dropped",
    [
        ("{source: alertmanager, secret: s, targets: [chat], labels: [severity=critical]}", False),
        ("{source: alertmanager, secret: s, targets: [chat], labels: [severity=warning]}", True),
        ("{source: alertmanager, secret: s, targets: [chat], labels: ['instance=*.example.org']}", False),
        ("{source: alertmanager, secret: s, targets: [chat], events: [alert.resolved]}", True),
        ("{source: alertmanager, secret: s, targets: [chat], exclude_events: [alert.firing]}", True),
    ],
)
def test_route_filters_apply_to_alert_groups(route, dropped):
    services = offline_services(parse_config(f"targets:\n  chat: {{org: a, flow: b, token: t}}\nroutes:\n  r: {route}\n"))
    payload = json.loads((FIXTURES / "alertmanager" / "alert__firing.json").read_text())
    decision, sent, _ = messages_for(services, "r", "alert", payload, "x", ["chat"])
    assert (decision.template is None) is dropped and bool(sent) is not dropped


@pytest.mark.parametrize(
    "route, message",
    [
        ("{source: alertmanager, targets: [chat]}", "routes.r.secret: Alertmanager routes need a secret"),
        ("{source: sentry, targets: [chat]}", "routes.r.secret: Sentry routes need the integration's client secret"),
        ("{source: alertmanager, secret: s, auth: signature, targets: [chat]}", "routes.r.auth: alertmanager routes do not choose auth 'signature'"),
    ],
)
def test_config_names_the_key_and_the_fix(route, message):
    from bridge.config_errors import ConfigError

    with pytest.raises(ConfigError) as error:
        parse_config(f"targets:\n  chat: {{org: a, flow: b, token: t}}\nroutes:\n  r: {route}\n")
    assert message in str(error.value) and "fix:" in str(error.value)


def test_bridge_check_renders_every_alert_sample_cleanly():
    assert check_samples(parse_config(config_text())) == []
