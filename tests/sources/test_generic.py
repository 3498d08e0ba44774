"""The generic source: its configuration, each authentication scheme, event names and ids, threads, check and render, and the guide's example."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path

import pytest

from bridge import create_app, offline_services
from bridge.__main__ import main
from bridge.config import parse_config
from bridge.config_errors import ConfigError
from bridge.messages import messages_for
from bridge.preview import check_samples
from bridge.sources import Inbound, Rejected, source_for, standard_webhooks
from tests.support import process_event

DOCS = Path(__file__).parent.parent.parent / "docs"
EXAMPLE = DOCS / "examples" / "gitea"
GUIDE = (DOCS / "customising.md").read_text()
SECRET = "generic-secret-5e2a"
KEY = "whsec_" + base64.b64encode(b"generic signing key for tests!!").decode()
PAYLOAD = json.loads((EXAMPLE / "push__develop.json").read_text())
BODY = json.dumps(PAYLOAD).encode()
TARGETS = "targets:\n  chat: {org: acme, flow: main, token: t}\n  inbox: {flow_token: f}\n"


def route(generic: str, credentials: str = f"secret: {SECRET}", extra: str = "") -> str:
    return f"{TARGETS}routes:\n  r:\n    source: generic\n    {credentials}\n    targets: [chat, inbox]\n{extra}    generic: {generic}\n"


HMAC = "{template: github/ping.txt, auth: hmac, signature: {header: X-Gitea-Signature}, event: {header: X-Gitea-Event}, id: {header: X-Gitea-Delivery}}"


def source(generic: str = HMAC, credentials: str = f"secret: {SECRET}"):
    config = parse_config(route(generic, credentials))
    return source_for("r", config.routes["r"])


def sign(body: bytes, secret: str = SECRET) -> bytes:
    return hmac.new(secret.encode(), body, hashlib.sha256).digest()


@pytest.mark.parametrize(
    "text, message",
    [
        (f"{TARGETS}routes:\n  r: {{source: generic, secret: s, targets: [chat]}}\n", "routes.r.generic: generic routes need a generic: block; fix:"),
        (
            f"{TARGETS}routes:\n  r: {{source: github, secret: s, targets: [chat], generic: {{template: a.txt, auth: token}}}}\n",
            "routes.r.generic: github routes do not read a generic: block",
        ),
        (route("{template: a.txt}"), "routes.r.generic.auth: is required"),
        (route("{template: a.txt, auth: hmac}"), "auth: hmac needs signature: {header:"),
        (route("{template: a.txt, auth: token, signature: {header: X}}"), "auth: token does not read a signature header"),
        (route("{template: a.txt, auth: standard_webhooks}"), "routes.r.signing_secret: auth: standard_webhooks checks the route's signing_secret"),
        (route("{template: a.txt, auth: token}", f"signing_secret: {KEY}"), "routes.r.secret: auth: token checks the route's secret"),
        (route("{template: a.json, auth: token}"), "is not a template name; fix:"),
        (route("{template: a.txt, auth: token, thread: '{{ payload.x '}"), "routes.r.generic.thread: is not a valid template"),
        (route("{template: a.txt, auth: token, event: {}}"), "give header: <name> or path: <a.b.c>, exactly one"),
    ],
)
def test_config_refuses_what_would_fail_and_names_the_key_and_the_fix(text, message):
    with pytest.raises(ConfigError) as error:
        parse_config(text)
    assert message in str(error.value) and "fix:" in str(error.value), str(error.value)


HEX = sign(BODY).hex()
B64 = base64.b64encode(sign(BODY)).decode()


@pytest.mark.parametrize(
    "signature, header, ok",
    [
        ("{header: X-Gitea-Signature}", HEX, True),
        ("{header: X-Gitea-Signature}", HEX.upper(), True),
        ("{header: X-Hub-Signature-256, prefix: 'sha256='}", "sha256=" + HEX, True),
        ("{header: X-Hub-Signature-256, prefix: 'sha256='}", HEX, False),
        ("{header: X-Signature, encoding: base64}", B64, True),
        ("{header: X-Signature, encoding: base64}", HEX, False),
        ("{header: X-Gitea-Signature}", sign(BODY, "other").hex(), False),
        ("{header: X-Gitea-Signature}", "zz", False),
        ("{header: X-Gitea-Signature}", "", False),
    ],
)
def test_hmac_of_the_body_in_a_named_header(signature, header, ok):
    name = signature.split("header: ")[1].split(",")[0].split("}")[0]
    checked = source(f"{{template: a.txt, auth: hmac, signature: {signature}}}")
    inbound = Inbound({name: header} if header else {}, BODY)
    if ok:
        checked.verify(inbound, {"secret": SECRET})
        return
    with pytest.raises(Rejected) as refused:
        checked.verify(inbound, {"secret": SECRET})
    assert refused.value.status == 401 and name in refused.value.message and SECRET not in refused.value.message


def test_token_and_standard_webhooks_schemes():
    token = source("{template: a.txt, auth: token}")
    token.verify(Inbound({"Authorization": f"Bearer {SECRET}"}, BODY), {"secret": SECRET})
    token.verify(Inbound({}, BODY, {"token": SECRET}), {"secret": SECRET})
    with pytest.raises(Rejected):
        token.verify(Inbound({"X-Gitea-Signature": HEX}, BODY), {"secret": SECRET})
    signed = source("{template: a.txt, auth: standard_webhooks}", f"signing_secret: {KEY}")
    now = int(time.time())
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(now), "webhook-signature": standard_webhooks.sign(KEY, "msg_1", now, BODY)}
    signed.verify(Inbound(headers, BODY), {"signing_secret": KEY})
    with pytest.raises(Rejected):
        signed.verify(Inbound({**headers, "webhook-id": "msg_2"}, BODY), {"signing_secret": KEY})


def test_event_names_and_ids_come_from_headers_or_json_paths():
    by_header = source()
    assert by_header.parse({"Content-Type": "application/json", "X-Gitea-Event": "push"}, BODY)[0] == "push"
    with pytest.raises(Rejected) as refused:
        by_header.parse({"Content-Type": "application/json"}, BODY)
    assert refused.value.status == 400 and "X-Gitea-Event" in refused.value.message
    assert by_header.delivery_id({"X-Gitea-Delivery": "f626"}, BODY) == "generic:f626"
    assert by_header.delivery_id({}, BODY).startswith("sha256:")
    by_path = source("{template: a.txt, auth: token, event: {path: repository.name}, id: {path: commits.0.id}}")
    assert by_path.parse({"Content-Type": "application/json"}, BODY)[0] == "webhooks"
    assert by_path.delivery_id({"Content-Type": "application/json"}, BODY) == "generic:bffeb74224043ba2feb48d137756c8a9331c449a"
    plain = source("{template: a.txt, auth: token, form_field: payload}")
    from urllib.parse import urlencode

    assert plain.parse({"Content-Type": "application/x-www-form-urlencoded"}, urlencode({"payload": BODY.decode()}).encode()) == ("webhook", PAYLOAD)


def test_a_thread_template_names_the_thread_within_the_route():
    threaded = source("{template: a.txt, auth: token, thread: '{{ payload.repository.full_name }}:{{ payload.ref }}'}")
    assert threaded.classify("push", PAYLOAD).thread == "r:gitea/webhooks:refs/heads/develop"
    assert threaded.classify("push", {}).thread == "r::"
    blank = source("{template: a.txt, auth: token, thread: '{{ payload.nothing }}'}")
    assert blank.classify("push", PAYLOAD).thread is None


def test_the_guides_example_checks_renders_and_is_shown_verbatim(capsys):
    for path in (EXAMPLE / "bridge.yml", EXAMPLE / "gitea" / "push.txt"):
        assert path.read_text().rstrip("\n") in GUIDE, path
    assert main(["check", "--config", str(EXAMPLE / "bridge.yml")]) == 0
    assert ": ok (routes: 1" in capsys.readouterr().out
    assert main(["render", "--config", str(EXAMPLE / "bridge.yml"), "--source", "generic", "--event", "push", str(EXAMPLE / "push__develop.json")]) == 0
    sent = json.loads(capsys.readouterr().out)
    expected = "⬆️ gitea pushed 1 commit to develop in gitea/webhooks: Webhooks Yay!\nhttp://localhost:3000/gitea/webhooks/compare/28e1879d029cb852e4844d9c718537df08844e03...bffeb74224043ba2feb48d137756c8a9331c449a"
    assert sent[0]["body"]["content"] == expected
    assert expected in GUIDE


def test_check_reports_a_missing_template_and_a_failing_sample(tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "bad.txt").write_text("{{ payload.x | no_such_filter }}")
    (tmp_path / "push__one.json").write_text("{}")
    config = tmp_path / "bridge.yml"
    config.write_text(route("{template: t/missing.txt, auth: token}", extra=f"    templates_dir: {tmp_path}\n"))
    # Named by file, line, key and fix, like every other configuration error.
    assert check_samples(parse_config(config.read_text(), str(config)))[0].startswith(f"{config}:10: routes.r.generic.template: no template t/missing.txt")
    config.write_text(route("{template: t/bad.txt, auth: token, samples: [push__one.json, gone.json]}", extra=f"    templates_dir: {tmp_path}\n"))
    errors = check_samples(parse_config(config.read_text(), str(config)))
    assert (
        len(errors) == 2
        and any("gone.json" in e and f"{config}:10: routes.r.generic.samples" in e for e in errors)
        and any("no_such_filter" in e for e in errors)
    )


def test_payload_text_never_pings_and_filters_apply(tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "say.txt").write_text("{{ payload.text }}")
    text = route("{template: t/say.txt, auth: token, event: {path: kind}}", extra=f"    templates_dir: {tmp_path}\n    exclude_events: [noise]\n")
    services = offline_services(parse_config(text, str(tmp_path / "bridge.yml")))
    _, sent, _ = messages_for(services, "r", "alert", {"text": "cc @all #ops"}, "x", ["chat"])
    assert sent["chat"]["content"] == "cc @\u200ball #\u200bops"
    dropped, sent, _ = messages_for(services, "r", "noise", {"text": "hi"}, "x", ["chat"])
    assert dropped.template is None and sent == {}


@pytest.mark.parametrize(
    "headers, status",
    [
        ({"X-Gitea-Event": "push", "X-Gitea-Signature": HEX}, 202),
        ({"X-Gitea-Event": "push", "X-Gitea-Signature": "0" * 64}, 401),
        ({"X-Gitea-Event": "push"}, 401),
        ({"X-Gitea-Signature": HEX}, 400),
    ],
)
def test_the_endpoint_verifies_and_the_worker_renders(redis_url, headers, status):
    config = parse_config(route(HMAC.replace("github/ping.txt", "gitea/push.txt"), extra=f"    templates_dir: {EXAMPLE}\n"))
    app = create_app(config, redis_url)
    answer = app.test_client().post("/hooks/r", data=BODY, headers={"Content-Type": "application/json", "X-Gitea-Delivery": "d-1", **headers})
    assert answer.status_code == status, answer.get_json()
    if status == 202:
        services = app.extensions["hookdock"]
        sent = [services.store.load_delivery(d).message for d in process_event(services, answer.get_json()["event"])]
        assert sent[0]["content"].startswith("⬆️ gitea pushed 1 commit to develop in gitea/webhooks")
