"""Alert and error sources (Alertmanager, Grafana, Sentry): each scheme's refusals, groups, filters (fixtures: test_fixtures.py)."""

from __future__ import annotations

import base64

import pytest

from bridge import alerts, offline_services
from bridge.config import parse_config
from bridge.messages import messages_for
from bridge.preview import check_samples
from bridge.sources import Inbound, Rejected, alertmanager, grafana, sentry
from bridge.sources.auth import hmac_hex
from tests.support import fixture_payload, one_route

ALERTING = ("alertmanager", "grafana", "sentry")
SECRET = "alert-secret-7c1d"


def config_text(extra: str = "") -> str:
    routes = "".join(
        f'  {s}: {{source: {s}, secret: {SECRET}, targets: [chat, inbox]}}\n  {s}-named: {{source: {s}, secret: {SECRET}, targets: [chat, inbox], events: ["*", "*.*"]}}\n'
        for s in ALERTING
    )
    return f"targets:\n  chat: {{org: acme, flow: main, token: t}}\n  inbox: {{flow_token: f}}\nroutes:\n{routes}{extra}"


def test_a_group_keeps_its_thread_from_firing_to_resolved_and_long_keys_stay_short():
    firing, resolved = (fixture_payload("alertmanager", f"alert__{name}") for name in ("firing", "resolved"))
    assert alertmanager.classify("alert", firing).thread == alertmanager.classify("alert", resolved).thread
    firing["groupKey"] = "{}:{" + ", ".join(f'label{i}="{"x" * 40}"' for i in range(40)) + "}"
    assert len(alertmanager.classify("alert", firing).thread) < 64


def test_grafana_links_stay_with_their_alert_when_the_list_holds_a_non_object():
    """A stray null in alerts must not shift one alert's silence link and values onto another."""
    payload = fixture_payload("grafana", "alert__firing")
    raw = payload["alerts"]
    payload["alerts"] = [None, *raw]
    group = grafana.group("alert", payload)
    assert group is not None
    assert [a.silence_url for a in group.alerts] == [a["silenceURL"] for a in raw]
    assert all(a.values for a in group.alerts)


def test_two_alertmanagers_with_the_same_group_key_keep_two_threads():
    """Staging and production configured alike send the same groupKey; in one flow their groups must not share a card."""
    production = fixture_payload("alertmanager", "alert__firing")
    staging = {**production, "externalURL": "http://alertmanager.staging.example.org:9093"}
    assert alertmanager.classify("alert", production).thread != alertmanager.classify("alert", staging).thread
    assert alertmanager.classify("alert", staging).thread == alertmanager.classify("alert", {**staging, "status": "resolved"}).thread


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
    payload = fixture_payload("alertmanager", f"alert__{state}")
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
        ({"X-Grafana-Alert-Signature": hmac_hex(SECRET, BODY)}, True),  # what Grafana's code sends with the Header field empty
        ({"X-Grafana-Alert-Signature": hmac_hex("other", BODY)}, False),
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
        # float() reads these, but they are no time: a replayed capture must not slip past the clock check, nor crash it.
        ({"Sentry-Hook-Signature": hmac_hex(SECRET, BODY), "Sentry-Hook-Timestamp": "nan"}, "not a number"),
        ({"Sentry-Hook-Signature": hmac_hex(SECRET, BODY), "Sentry-Hook-Timestamp": "inf"}, "not a number"),
        ({"Sentry-Hook-Signature": hmac_hex(SECRET, BODY), "Sentry-Hook-Timestamp": "1e400"}, "not a number"),
        ({"Sentry-Hook-Signature": hmac_hex(SECRET, BODY), "Sentry-Hook-Timestamp": f"{NOW}.25"}, ""),
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
    services = offline_services(parse_config(one_route(route)))
    payload = fixture_payload("alertmanager", "alert__firing")
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
        parse_config(one_route(route))
    assert message in str(error.value) and "fix:" in str(error.value)


def test_bridge_check_renders_every_alert_sample_cleanly():
    assert check_samples(parse_config(config_text())) == []


def test_a_sentry_issue_payload_without_its_issue_is_ignored_with_its_reason():
    decision = sentry.classify("issue", {"action": "created", "data": {}})
    assert (decision.template, decision.reason) == (None, "the payload's data has no issue to tell")
