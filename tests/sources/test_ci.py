"""CI sources (Jenkins, CircleCI, Buildkite, Travis CI): each scheme's refusals, build threads and history (fixtures: test_fixtures.py)."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import quote, urlencode

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from bridge import builds, offline_services
from bridge.config import parse_config
from bridge.config_errors import ConfigError
from bridge.messages import messages_for
from bridge.preview import check_samples
from bridge.sources import SOURCES, Inbound, Rejected, buildkite, circleci, jenkins, travis
from bridge.sources.auth import hmac_hex
from tests.support import fixture_payload, one_route

CI = ("jenkins", "circleci", "buildkite", "travis")
SECRET = "ci-secret-3b9f"
# Generated per test run: no private key is ever committed.
PRIVATE_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC_PEM = PRIVATE_KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
OTHER_PEM = (
    rsa.generate_private_key(public_exponent=65537, key_size=2048)
    .public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


def travis_signature(value: str, key=PRIVATE_KEY) -> str:
    """What Travis sends in Signature: base64 of the RSA-SHA1 (PKCS #1 v1.5) signature of the payload field's value."""
    return base64.b64encode(key.sign(value.encode(), padding.PKCS1v15(), hashes.SHA1())).decode()  # noqa: S303


def travis_body(payload: dict) -> tuple[bytes, str]:
    """A form body as Travis posts it, and the JSON text it signs."""
    value = json.dumps(payload)
    return urlencode({"payload": value}).encode(), value


def config_text(extra: str = "") -> str:
    routes = "".join(
        f'  {s}: {{source: {s}, secret: {SECRET}, targets: [chat, inbox]}}\n  {s}-named: {{source: {s}, secret: {SECRET}, targets: [chat, inbox], events: ["*", "*.*"]}}\n'
        for s in CI[:3]
    )
    return f"""\
targets:
  chat: {{org: acme, flow: main, token: t}}
  inbox: {{flow_token: f}}
routes:
{routes}  travis: {{source: travis, public_key: {json.dumps(PUBLIC_PEM)}, targets: [chat, inbox]}}
{extra}"""


SERVICES = offline_services(parse_config(config_text()))


@pytest.mark.parametrize(
    "path, thread",
    [
        ("jenkins/build__completed_failure", "jenkins:asgard:build:19"),
        ("circleci/workflow-completed__success", "circleci:github/circleci/webhook-service:workflow:fda08377-fe7e-46b1-8992-3a7aaecac9c3"),
        ("buildkite/build.finished__failed", "buildkite:my-great-org/my-pipeline:build:2"),
        ("travis/build__failed", "travis:svenfuchs/minimal:build:3"),
    ],
)
def test_each_source_threads_a_build_under_its_documented_id(path, thread):
    source, name = path.split("/")
    payload = fixture_payload(source, name)
    assert SOURCES[source].classify(name.split("__")[0], payload).thread == thread


@pytest.mark.parametrize(
    "state, chat, color",
    [("queued", False, "yellow"), ("running", False, "yellow"), ("passed", False, "green"), ("failed", True, "red"), ("canceled", False, "grey")],
)
def test_states_follow_the_build_model(state, chat, color):
    build = builds.Build("jenkins", "app", "1", "build", state, name="app", label="#1", branch="main")
    decision = builds.classify(build, "jenkins/build.txt")
    assert decision.chat is chat and decision.thread == "jenkins:app:build:1"
    context = {"build": vars(build) | {"failed": []}, "verdict": builds.Verdict().context(build)}
    rendered = SERVICES.renderers[""].render_json("builds/build.thread.json", context)
    assert rendered["thread"]["status"] == {"value": state, "color": color}


def test_a_recovery_and_a_streak_read_as_such():
    renderer = SERVICES.renderers[""]
    passed = builds.Build("jenkins", "app", "9", "build", "passed", name="app", label="#9", branch="main")
    failed = builds.replace(passed, state="failed")
    recovered = renderer.render("builds/build.txt", {"build": vars(passed), "verdict": builds.Verdict("fail", 3).context(passed)})
    again = renderer.render("builds/build.txt", {"build": vars(failed), "verdict": builds.Verdict("fail", 2).context(failed)})
    assert recovered.splitlines()[0] == "✅ app #9 is back to green on main after 3 failed builds"
    assert again.splitlines()[0] == "❌ app #9 failed again on main (3 in a row)"


@pytest.mark.parametrize(
    "url, thread, first_line",
    [
        # A multibranch pipeline names each branch's job by the branch: two repositories' "main" jobs must not share
        # a thread or a "back to green" history. The plugin's url is Job.getUrl(): job/<folder>/job/<name>/, encoded.
        ("job/acme/job/widgets/job/main/", "jenkins:acme/widgets/main:build:7", "❌ acme/widgets/main #7 failed on main"),
        ("job/acme/job/gadgets/job/main/", "jenkins:acme/gadgets/main:build:7", "❌ acme/gadgets/main #7 failed on main"),
        ("job/acme/job/widgets/job/feature%2Fx/", "jenkins:acme/widgets/feature/x:build:7", "❌ acme/widgets/feature/x #7 failed on main"),
        ("job/main/", "jenkins:main:build:7", "❌ main #7 failed on main"),
        (None, "jenkins:main:build:7", "❌ main #7 failed on main"),
    ],
)
def test_jenkins_jobs_in_folders_are_told_by_their_full_name(url, thread, first_line):
    payload = {"name": "main", "url": url, "build": {"number": 7, "phase": "COMPLETED", "status": "FAILURE"}}
    payload["build"]["scm"] = {"branch": "origin/main"}
    assert jenkins.classify("build", payload).thread == thread
    rendered = SERVICES.renderers[""].render("jenkins/build.txt", jenkins.context("build", payload))
    assert rendered.splitlines()[0] == first_line


# --- Jenkins: a token in the URL or a bearer header -------------------------------------------------


# A wrong token's refusal names where it is read, as every other scheme names its header.
WHERE = "the token in ?token= or Authorization: Bearer does not match"


@pytest.mark.parametrize(
    "headers, query, reason",
    [
        ({}, {}, "missing token"),
        ({}, {"token": "wrong"}, WHERE),
        ({"Authorization": "Bearer wrong"}, {}, WHERE),
        ({"Authorization": f"Basic {SECRET}"}, {}, "missing token"),
        ({"Authorization": f"Bearer {SECRET}"}, {"token": "wrong"}, WHERE),
        ({}, {"token": SECRET[:-1]}, WHERE),
        ({}, {"token": "ü" + SECRET}, WHERE),
    ],
)
def test_jenkins_refusals(headers, query, reason):
    with pytest.raises(Rejected) as caught:
        jenkins.verify(Inbound(headers, b"{}", query), {"secret": SECRET})
    assert caught.value.status == 401 and reason in caught.value.message and SECRET not in caught.value.message


@pytest.mark.parametrize(
    "headers, query", [({}, {"token": SECRET}), ({"Authorization": f"Bearer {SECRET}"}, {}), ({"Authorization": f"bearer {SECRET}"}, {"token": SECRET})]
)
def test_jenkins_accepts_the_secret_either_way(headers, query):
    jenkins.verify(Inbound(headers, b"{}", query), {"secret": SECRET})


def test_every_source_fails_closed_without_its_credential():
    for source in (jenkins, circleci, buildkite):
        with pytest.raises(Rejected, match="this route has no secret"):
            source.verify(Inbound({}, b"{}", {"token": ""}), {})
    with pytest.raises(Rejected, match="no public_key"):
        travis.verify(Inbound({"Signature": "AAAA"}, b"payload=%7B%7D"), {})


# --- CircleCI: circleci-signature v1=<hex> ----------------------------------------------------------

BODY = b'{"id": "3888f21b", "type": "workflow-completed"}'
V1 = "v1=" + hmac_hex(SECRET, BODY)


@pytest.mark.parametrize("header", [V1, f"v0=deadbeef,{V1}", f"{V1},v2=abc", f"v1=0000,{V1}", V1.upper().replace("V1=", "v1=")])
def test_circleci_accepts_a_matching_v1_among_others(header):
    circleci.verify(Inbound({"circleci-signature": header}, BODY), {"secret": SECRET})


@pytest.mark.parametrize(
    "header, body, reason",
    [
        ("", BODY, "missing circleci-signature"),
        ("v2=" + hmac_hex(SECRET, BODY), BODY, "must hold v1="),
        ("v1=", BODY, "must hold v1="),
        ("sha256=" + hmac_hex(SECRET, BODY), BODY, "must hold v1="),
        (V1, BODY + b" ", "does not match"),
        ("v1=" + hmac_hex("another", BODY), BODY, "does not match"),
        ("v1=zz-not-hex", BODY, "does not match"),
    ],
)
def test_circleci_refusals(header, body, reason):
    with pytest.raises(Rejected) as caught:
        circleci.verify(Inbound({"circleci-signature": header} if header else {}, body), {"secret": SECRET})
    assert caught.value.status == 401 and reason in caught.value.message


def test_circleci_dedupes_by_the_body_id():
    assert circleci.delivery_id({}, BODY) == "3888f21b"
    assert circleci.delivery_id({}, b"[1]").startswith("sha256:") and circleci.delivery_id({}, b"{not json").startswith("sha256:")


# --- Buildkite: a timestamped signature (default) or a plain token -----------------------------------

NOW = 1_700_000_000


def buildkite_signature(body: bytes, at: int = NOW, secret: str = SECRET) -> str:
    return f"timestamp={at},signature={hmac_hex(secret, f'{at}.'.encode() + body)}"


def test_buildkite_signature_within_the_window_verifies(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: NOW + 299)
    buildkite.verify(Inbound({"X-Buildkite-Signature": buildkite_signature(BODY)}, BODY), {"secret": SECRET})


@pytest.mark.parametrize(
    "headers, credentials, reason",
    [
        ({}, {"secret": SECRET}, "missing X-Buildkite-Signature"),
        ({"X-Buildkite-Token": SECRET}, {"secret": SECRET}, "missing X-Buildkite-Signature"),
        ({"X-Buildkite-Signature": buildkite_signature(BODY, NOW - 301)}, {"secret": SECRET}, "away from this server's clock"),
        ({"X-Buildkite-Signature": buildkite_signature(BODY, NOW + 400)}, {"secret": SECRET}, "away from this server's clock"),
        ({"X-Buildkite-Signature": buildkite_signature(BODY, secret="other")}, {"secret": SECRET}, "does not match"),
        ({"X-Buildkite-Signature": buildkite_signature(BODY + b"x")}, {"secret": SECRET}, "does not match"),
        ({"X-Buildkite-Signature": f"signature={hmac_hex(SECRET, BODY)}"}, {"secret": SECRET}, "must look like timestamp="),
        ({"X-Buildkite-Signature": "timestamp=soon,signature=abc"}, {"secret": SECRET}, "not a whole number"),
        ({"X-Buildkite-Signature": buildkite_signature(BODY)}, {"secret": SECRET, "auth": "token"}, "missing X-Buildkite-Token"),
        ({"X-Buildkite-Token": "wrong"}, {"secret": SECRET, "auth": "token"}, "does not match"),
    ],
)
def test_buildkite_refusals(monkeypatch, headers, credentials, reason):
    monkeypatch.setattr(time, "time", lambda: NOW)
    with pytest.raises(Rejected) as caught:
        buildkite.verify(Inbound(headers, BODY), credentials)
    assert caught.value.status == 401 and reason in caught.value.message


def test_buildkite_token_mode_accepts_the_token():
    buildkite.verify(Inbound({"X-Buildkite-Token": SECRET}, BODY), {"secret": SECRET, "auth": "token"})


# --- Travis CI: RSA-SHA1 of the payload field, against the route's public key ------------------------


def test_travis_accepts_a_signature_of_the_payload_value():
    body, value = travis_body({"id": 1, "state": "passed"})
    travis.verify(Inbound({"Signature": travis_signature(value)}, body), {"public_key": PUBLIC_PEM})


def test_travis_signs_the_decoded_value_as_documented():
    """Travis' docs: the signature covers the payload parameter's value, not the urlencoded body; '+' and %20 both decode."""
    value = json.dumps({"id": 1, "message": "a b+c é"})
    for body in (("payload=" + quote(value)).encode(), ("payload=" + quote(value).replace("%20", "+")).encode()):
        travis.verify(Inbound({"Signature": travis_signature(value)}, body), {"public_key": PUBLIC_PEM})
    with pytest.raises(Rejected, match="does not match"):
        travis.verify(Inbound({"Signature": travis_signature("payload=" + quote(value))}, ("payload=" + quote(value)).encode()), {"public_key": PUBLIC_PEM})


@pytest.mark.parametrize(
    "signature, body_value, pem, reason",
    [
        (None, "ok", PUBLIC_PEM, "missing Signature"),
        ("not base64!", "ok", PUBLIC_PEM, "not base64"),
        ("sign:ok", "changed", PUBLIC_PEM, "does not match"),
        ("sign:ok", "ok", OTHER_PEM, "does not match"),
        ("AAAA", "ok", PUBLIC_PEM, "does not match"),
        ("sign:ok", None, PUBLIC_PEM, "no payload= form field"),
        ("sign:ok", "ok", "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----", "not an RSA public key"),
    ],
)
def test_travis_refusals(signature, body_value, pem, reason):
    headers = {} if signature is None else {"Signature": travis_signature(signature[5:]) if signature.startswith("sign:") else signature}
    body = urlencode({"payload": body_value}).encode() if body_value is not None else b"other=1"
    with pytest.raises(Rejected) as caught:
        travis.verify(Inbound(headers, body), {"public_key": pem})
    assert caught.value.status == 401 and reason in caught.value.message


# --- Configuration ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "route, message",
    [
        ("{source: jenkins, targets: [chat]}", "Jenkins routes need a secret"),
        ("{source: travis, targets: [chat]}", "Travis CI routes need Travis' public key"),
        ("{source: travis, public_key: not-a-key, targets: [chat]}", "public_key: is not an RSA public key"),
        ("{source: circleci, public_key: k, targets: [chat]}", "circleci routes do not use public_key"),
        ("{source: jenkins, secret: s, auth: token, targets: [chat]}", "jenkins routes do not choose auth 'token'; fix: remove it"),
        ("{source: buildkite, secret: s, auth: hmac, targets: [chat]}", "auth"),
    ],
)
def test_config_names_the_key_and_the_fix(route, message):
    with pytest.raises(ConfigError) as caught:
        parse_config(one_route(route))
    assert message in str(caught.value) and "bridge.yml:" in str(caught.value)


def test_buildkite_routes_choose_token_mode():
    config = parse_config(one_route("{source: buildkite, secret: s, auth: token, targets: [chat]}"))
    assert config.routes["r"].credentials() == {"secret": "s", "auth": "token"}


def test_a_route_that_names_passes_hears_them_in_chat():
    services = offline_services(parse_config(config_text('  passes: {source: jenkins, secret: s, targets: [chat], events: ["build.passed"]}\n')))
    payload = fixture_payload("jenkins", "build__completed_success")
    _, sent, _ = messages_for(services, "passes", "build", payload, "e", ["chat"])
    assert sent["chat"]["content"].startswith("✅ asgard #18 passed on master")
    _, sent, _ = messages_for(services, "jenkins", "build", payload, "e", ["chat"])
    assert sent == {}


@pytest.mark.parametrize(
    "route, dropped",
    [
        ('{source: jenkins, secret: s, targets: [chat], branches: ["main"]}', "routes.r.branches: master matches none of main"),
        ('{source: jenkins, secret: s, targets: [chat], exclude_authors: ["Evgeny*"]}', "routes.r.exclude_authors: Evgeny Goldin, @all is excluded"),
        ('{source: jenkins, secret: s, targets: [chat], events: ["build.passed"]}', "routes.r.events: build.failed matches none of build.passed"),
    ],
)
def test_route_filters_apply_to_builds(route, dropped):
    services = offline_services(parse_config(one_route(route)))
    payload = fixture_payload("jenkins", "build__completed_failure")
    decision, sent, _ = messages_for(services, "r", "build", payload, "e", ["chat"])
    assert sent == {} and decision.reason == dropped


def test_bridge_check_renders_every_ci_sample_cleanly():
    assert check_samples(parse_config(config_text())) == []
