"""Configuration: interpolation, validation, and errors that name file, line, key and fix."""

from __future__ import annotations

import pytest

from bridge.config import ConfigError, find_path, load_config, parse_config

GOOD = """\
api_url: https://api.flowdock.com
targets:
  team-chat: {org: acme, flow: main, token: "${FLOWDOCK_TOKEN}"}
  team-inbox: {flow_token: "${FLOWDOCK_FLOW_TOKEN:-ft}"}
routes:
  widgets:
    source: github
    secret: "${GITHUB_WEBHOOK_SECRET}"
    targets: [team-chat]
"""


@pytest.fixture(autouse=True)
def env(monkeypatch):
    monkeypatch.setenv("FLOWDOCK_TOKEN", "tok-123")
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "s3cret")
    monkeypatch.delenv("FLOWDOCK_FLOW_TOKEN", raising=False)
    monkeypatch.delenv("HOOKDOCK_CONFIG", raising=False)


def test_good_config_interpolates_environment_and_defaults():
    config = parse_config(GOOD, "bridge.yml")
    assert config.targets["team-chat"].token.get_secret_value() == "tok-123"
    assert config.targets["team-inbox"].flow_token.get_secret_value() == "ft"
    assert config.targets["team-inbox"].uses_flow_token
    assert config.routes["widgets"].secret.get_secret_value() == "s3cret"
    assert config.delivery.max_attempts == 8 and config.max_body_bytes == 25 * 1024 * 1024


def test_secrets_are_hidden_in_repr():
    assert "tok-123" not in repr(parse_config(GOOD))


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            ("${FLOWDOCK_TOKEN}", "${NOT_SET_ANYWHERE}"),
            "bridge.yml:3: targets.team-chat.token: environment variable NOT_SET_ANYWHERE is not set; fix: export NOT_SET_ANYWHERE=",
        ),
        (("    targets: [team-chat]\n", "    targets: [team-chat]\n    colour: red\n"), "bridge.yml:10: routes.widgets.colour: unknown key; fix: remove it"),
        (
            ("targets: [team-chat]", "targets: [team-chat, nowhere]"),
            "bridge.yml:9: routes.widgets.targets.1: unknown target 'nowhere'; fix: define it under targets:",
        ),
        (("source: github", "source: gitlub"), "bridge.yml:7: routes.widgets.source: unknown source 'gitlub'; fix: use one of: github, gitlab"),
        (
            ("    targets: [team-chat]\n", "    signing_secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n    targets: [team-chat]\n"),
            "bridge.yml:9: routes.widgets.signing_secret: github routes do not use signing_secret; fix: remove it, or use secret",
        ),
        (
            ('    source: github\n    secret: "${GITHUB_WEBHOOK_SECRET}"\n', "    source: gitlab\n"),
            "bridge.yml:6: routes.widgets.secret: GitLab routes need the webhook's secret token, its signing token, or both; fix: add secret:",
        ),
        (
            ("source: github", "source: gitlab\n    signing_secret: not-a-key"),
            "bridge.yml:8: routes.widgets.signing_secret: not a whsec_<base64> key; fix: copy the signing token whole",
        ),
        (('    secret: "${GITHUB_WEBHOOK_SECRET}"\n', ""), "bridge.yml:6: routes.widgets.secret: GitHub routes need the webhook secret; fix: add secret:"),
        (("https://api.flowdock.com", "http://chat.example.com"), "bridge.yml:1: api_url: plain http is only allowed to loopback hosts; fix: use https://"),
        (("{org: acme, flow: main, token", "{org: acme, token"), "bridge.yml:3: targets.team-chat: give org and flow"),
        (("targets: [team-chat]", "targets: []"), "bridge.yml:9: routes.widgets.targets: List should have at least 1 item"),
        (("widgets:", "widgets: [oops"), "bridge.yml:7: not valid YAML"),
        (("  widgets:", "  ci/main:"), "bridge.yml:6: routes.ci/main: route name 'ci/main' cannot be part of /hooks/<name>; fix: use letters"),
    ],
)
def test_errors_name_file_line_key_and_fix(change, expected):
    old, new = change
    assert old in GOOD
    with pytest.raises(ConfigError) as caught:
        parse_config(GOOD.replace(old, new), "bridge.yml")
    assert str(caught.value).startswith(expected)


def test_plain_http_allowed_to_loopback_and_by_opt_in():
    assert parse_config(GOOD.replace("https://api.flowdock.com", "http://127.0.0.1:5050")).api_url
    opted = GOOD.replace("https://api.flowdock.com", "http://chat.internal") + "allow_insecure_http: true\n"
    assert parse_config(opted).allow_insecure_http


def test_path_precedence(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert str(find_path()) == "bridge.yml"
    monkeypatch.setenv("HOOKDOCK_CONFIG", "from-env.yml")
    assert str(find_path()) == "from-env.yml"
    assert str(find_path("explicit.yml")) == "explicit.yml"


def test_missing_file_says_how_to_fix(tmp_path):
    with pytest.raises(ConfigError, match=r"no such configuration file; fix: copy bridge.example.yml"):
        load_config(str(tmp_path / "absent.yml"))


def test_example_config_is_valid(monkeypatch):
    from pathlib import Path

    example = Path(__file__).parent.parent / "bridge.example.yml"
    config = parse_config(example.read_text(), str(example))
    assert config.routes["widgets"].targets == ["team-chat"]


@pytest.mark.parametrize("value", ["", " ", "\t "], ids=["empty", "space", "blank"])
@pytest.mark.parametrize("variable, where", [("FLOWDOCK_TOKEN", "3: targets.team-chat.token"), ("GITHUB_WEBHOOK_SECRET", "8: routes.widgets.secret")])
def test_an_empty_secret_stops_start_up_naming_its_variable(monkeypatch, variable, where, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        parse_config(GOOD, "bridge.yml")
    assert str(caught.value) == f"bridge.yml:{where}: is empty ({variable} set to an empty or blank string); fix: export {variable}=<the secret>"


def test_an_empty_default_does_not_make_a_secret():
    with pytest.raises(ConfigError) as caught:
        parse_config(GOOD.replace("${GITHUB_WEBHOOK_SECRET}", "${HOOK_SECRET:-}"), "bridge.yml")
    assert (
        str(caught.value) == "bridge.yml:8: routes.widgets.secret: is empty (HOOK_SECRET set to an empty or blank string); fix: export HOOK_SECRET=<the secret>"
    )


def test_a_secret_written_empty_says_how_to_give_one():
    with pytest.raises(ConfigError) as caught:
        parse_config(GOOD.replace('"${GITHUB_WEBHOOK_SECRET}"', "''"), "bridge.yml")
    assert str(caught.value) == "bridge.yml:8: routes.widgets.secret: is empty; fix: write the secret as ${VARIABLE} and export VARIABLE=<the secret>"


def test_an_unset_secret_variable_is_not_told_to_take_a_default(monkeypatch):
    monkeypatch.delenv("GITHUB_WEBHOOK_SECRET")
    with pytest.raises(ConfigError) as caught:
        parse_config(GOOD, "bridge.yml")
    assert (
        str(caught.value)
        == "bridge.yml:8: routes.widgets.secret: environment variable GITHUB_WEBHOOK_SECRET is not set; fix: export GITHUB_WEBHOOK_SECRET=<the secret>"
    )


@pytest.mark.parametrize("value", [None, ""], ids=["unset", "empty"])
def test_the_example_has_no_default_webhook_secret(monkeypatch, value):
    from pathlib import Path

    example = Path(__file__).parent.parent / "bridge.example.yml"
    if value is None:
        monkeypatch.delenv("GITHUB_WEBHOOK_SECRET")
    else:
        monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", value)
    with pytest.raises(ConfigError, match=r"routes\.widgets\.secret: .*GITHUB_WEBHOOK_SECRET"):
        parse_config(example.read_text(), str(example))


def test_a_default_applies_when_the_variable_is_empty_as_in_the_shell(monkeypatch):
    monkeypatch.setenv("FLOWDOCK_FLOW_TOKEN", "")
    assert parse_config(GOOD).targets["team-inbox"].flow_token.get_secret_value() == "ft"


def test_template_folders_are_relative_to_the_file_and_must_exist(tmp_path):
    (tmp_path / "mine").mkdir()
    text = GOOD + "templates_dir: mine\n"
    config = parse_config(text, str(tmp_path / "bridge.yml"))
    assert config.templates_dir == str(tmp_path / "mine")
    with pytest.raises(ConfigError, match=r"bridge.yml:10: templates_dir: folder .*/absent does not exist; fix: create it"):
        parse_config(GOOD + "templates_dir: absent\n", str(tmp_path / "bridge.yml"))
