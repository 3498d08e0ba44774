"""The command line, called in-process: exit codes and the messages people act on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bridge.__main__ import main

EXAMPLE = Path(__file__).parent.parent / "bridge.example.yml"


@pytest.fixture(autouse=True)
def webhook_secret(monkeypatch):
    """The example reads the webhook secret from the environment, as a deployment does."""
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "a-deployments-own-secret")


@pytest.mark.parametrize("argv", [["templates"], ["render", "--source", "github", "--event", "ping", "tests/fixtures/github/ping__repository.json"]])
def test_commands_that_verify_no_signature_work_after_make_run_without_the_secret(monkeypatch, capsys, argv):
    monkeypatch.delenv("GITHUB_WEBHOOK_SECRET")
    monkeypatch.chdir(Path(__file__).parent.parent)
    assert main([*argv, "--config", str(EXAMPLE)]) == 0, capsys.readouterr().err
    assert "GITHUB_WEBHOOK_SECRET" not in os.environ  # supplied only while the command ran


def test_check_insists_on_the_secret_as_start_up_does(monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_WEBHOOK_SECRET")
    assert main(["check", "--config", str(EXAMPLE)]) == 1
    assert (
        "routes.widgets.secret: environment variable GITHUB_WEBHOOK_SECRET is not set; fix: export GITHUB_WEBHOOK_SECRET=<the secret>"
        in capsys.readouterr().err
    )


def test_check_passes_on_the_example(capsys):
    assert main(["check", "--config", str(EXAMPLE)]) == 0
    assert "bridge.example.yml: ok" in capsys.readouterr().out


def test_check_fails_with_the_config_error(tmp_path, capsys):
    broken = tmp_path / "bridge.yml"
    broken.write_text(EXAMPLE.read_text().replace("    targets: [team-chat]", "    targets: [team-chat]\n    colour: red"))
    assert main(["check", "--config", str(broken)]) == 1
    assert f"{broken}:" in capsys.readouterr().err


@pytest.mark.parametrize(
    "template, says",
    [("fine\n{% for %}\n", ":2:"), ("{% if false %}never{% endif %}\n", ": rendered empty content")],
    ids=["broken", "empty"],
)
def test_check_fails_on_a_broken_or_empty_override_naming_the_file(tmp_path, capsys, monkeypatch, template, says):
    (tmp_path / "github").mkdir()
    (tmp_path / "github" / "push.txt").write_text(template)
    monkeypatch.setenv("HOOKDOCK_TEMPLATES", str(tmp_path))
    assert main(["check", "--config", str(EXAMPLE)]) == 1
    assert f"{tmp_path / 'github' / 'push.txt'}{says}" in capsys.readouterr().err


def test_commands_that_need_redis_say_how_to_get_one(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["deliveries", "--config", str(EXAMPLE)]) == 1
    assert "REDIS_URL is not set and no embedded Redis is running" in capsys.readouterr().err


def test_replay_needs_an_id_or_failed(capsys):
    assert main(["replay", "--config", str(EXAMPLE)]) == 2
    assert "give an event or delivery id, or --failed" in capsys.readouterr().err


def test_replay_of_an_unknown_id_is_an_error(redis_url, capsys, monkeypatch):
    monkeypatch.setenv("REDIS_URL", redis_url)
    assert main(["replay", "nope", "--config", str(EXAMPLE)]) == 1
    assert "no event 'nope'" in capsys.readouterr().err


def test_deliveries_lists_as_text_and_json(redis_url, capsys, monkeypatch):
    from bridge import build_services
    from bridge.config import load_config
    from bridge.store import Delivery

    monkeypatch.setenv("REDIS_URL", redis_url)
    store = build_services(load_config(str(EXAMPLE)), redis_url).store
    store.save_delivery(
        Delivery("e1.team-chat", "e1", "widgets", "team-chat", {}, status="failed", last_status=401, last_error="team-chat: HTTP 401 is permanent")
    )
    assert main(["deliveries", "--failed", "--config", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "e1.team-chat  failed" in out and "HTTP 401" in out
    assert main(["deliveries", "--json", "--config", str(EXAMPLE)]) == 0
    assert '"id": "e1.team-chat"' in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--help"], ["serve", "--help"], ["devflow", "--help"]])
def test_help_exits_cleanly(argv):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 0


def test_templates_lists_names_and_origins(tmp_path, capsys, monkeypatch):
    (tmp_path / "github").mkdir()
    (tmp_path / "github" / "ping.txt").write_text("pong")
    monkeypatch.setenv("HOOKDOCK_TEMPLATES", str(tmp_path))
    assert main(["templates", "--config", str(EXAMPLE)]) == 0
    lines = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()}
    assert lines["github/ping.txt"] == ["override", str(tmp_path / "github" / "ping.txt")]
    assert lines["github/push.txt"][0] == "built-in"


def test_templates_context_prints_the_variables(capsys):
    assert main(["templates", "--context", "github", "issues"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:2] == ["event", "string"] and "\nissue " in out


def test_render_prints_the_requests_as_json_and_sends_nothing(capsys):
    import json

    payload = str(Path(__file__).parent / "fixtures" / "github" / "issues__opened.json")
    assert main(["render", "--config", str(EXAMPLE), "--source", "github", "--event", "issues", payload]) == 0
    [request] = json.loads(capsys.readouterr().out)
    assert (request["method"], request["path"]) == ("POST", "/flows/acme/main/messages")
    assert request["body"]["content"].startswith("Codertocat opened issue #1")


def test_render_explains_missing_arguments(capsys):
    assert main(["render", "--config", str(EXAMPLE), "--source", "github"]) == 2
    assert "give --source, --event and a PAYLOAD.json" in capsys.readouterr().err


def test_render_a_stored_event_by_id(redis_url, capsys, monkeypatch):
    import json

    from bridge import build_services
    from bridge.config import load_config
    from bridge.store import Event
    from tests.support import fixture_bytes

    monkeypatch.setenv("REDIS_URL", redis_url)
    store = build_services(load_config(str(EXAMPLE)), redis_url).store
    store.save_event(
        Event(
            "e7",
            "widgets",
            "github",
            "issues",
            "d-7",
            {"Content-Type": "application/json", "X-GitHub-Event": "issues"},
            fixture_bytes("github", "issues__closed"),
        )
    )
    assert main(["render", "--config", str(EXAMPLE), "--event-id", "e7"]) == 0
    [request] = json.loads(capsys.readouterr().out)
    assert request["body"]["content"].startswith("Codertocat closed issue #1")
    assert main(["render", "--config", str(EXAMPLE), "--event-id", "missing"]) == 1


def test_replay_of_a_delivered_event_says_nothing_was_queued(redis_url, capsys, monkeypatch):
    from bridge import build_services
    from bridge.config import load_config
    from bridge.store import Delivery, Event

    monkeypatch.setenv("REDIS_URL", redis_url)
    store = build_services(load_config(str(EXAMPLE)), redis_url).store
    store.save_event(Event("e1", "widgets", "github", "ping", "d-1", {"X-GitHub-Event": "ping"}, b"{}", status="processed"))
    store.save_delivery(Delivery("e1.team-chat", "e1", "widgets", "team-chat", {}, status="delivered"))
    assert main(["replay", "e1", "--config", str(EXAMPLE)]) == 1
    captured = capsys.readouterr()
    assert "e1: nothing to replay: already delivered to team-chat" in captured.err and "queued" not in captured.out


@pytest.mark.parametrize("argv", [["events", "--failed"], ["events"], ["deliveries", "--failed"]])
def test_listing_commands_work_after_make_run_without_the_secret(redis_url, monkeypatch, capsys, argv):
    monkeypatch.delenv("GITHUB_WEBHOOK_SECRET")
    monkeypatch.setenv("REDIS_URL", redis_url)
    assert main([*argv, "--config", str(EXAMPLE)]) == 0, capsys.readouterr().err
    assert "GITHUB_WEBHOOK_SECRET" not in os.environ  # supplied only while the command ran


@pytest.mark.parametrize("argv", [["templates"], ["events", "--json"]])
def test_a_reader_that_goes_away_ends_the_command_quietly(redis_url, argv):
    import subprocess
    import sys

    from bridge import build_services
    from bridge.config import load_config
    from bridge.store import Event

    store = build_services(load_config(str(EXAMPLE)), redis_url).store
    for n in range(50):
        store.save_event(Event(f"e{n}", "widgets", "github", "ping", f"d-{n}", {"X-GitHub-Event": "ping"}, b"{}", status="processed"))
    env = {**os.environ, "REDIS_URL": redis_url}
    command = subprocess.Popen(
        [sys.executable, "-m", "bridge", *argv, "--config", str(EXAMPLE)],
        cwd=EXAMPLE.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    command.stdout.close()  # as `| head -1` does once it has its line: every write now fails with EPIPE
    _, err = command.communicate(timeout=60)
    assert err.decode() == "" and command.returncode == 141
