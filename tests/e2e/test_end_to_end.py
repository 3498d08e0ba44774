"""End to end with real processes: devflow, gunicorn and a Celery worker, or `python -m bridge serve`."""

from __future__ import annotations

import shlex
import signal

import pytest
import requests

from bridge.targets.flowdock import message_uuid
from tests.e2e.processes import PROJECT, Program, python, start_devflow, start_web, start_worker, wait_for_http
from tests.support import fixture_bytes, free_port, github_headers, wait_until

CONFIG = """\
api_url: {api_url}
targets:
  team-chat: {{org: acme, flow: main, token: "${{E2E_FLOWDOCK_TOKEN}}"}}
routes:
  widgets: {{source: github, secret: "${{E2E_GITHUB_SECRET}}", targets: [team-chat], tags: [widgets]}}
"""
SECRETS = {"E2E_FLOWDOCK_TOKEN": "devflow-token", "E2E_GITHUB_SECRET": "It's a Secret to Everybody"}


@pytest.fixture
def devflow(tmp_path):
    program, url = start_devflow(tmp_path)
    yield url
    assert program.stop() == 0


@pytest.fixture
def stack(tmp_path, devflow, redis_url):
    """gunicorn and a Celery worker on the test Redis, delivering to devflow."""
    config = tmp_path / "bridge.yml"
    config.write_text(CONFIG.format(api_url=devflow))
    (tmp_path / "custom").mkdir()
    env = {"REDIS_URL": redis_url, "HOOKDOCK_CONFIG": str(config), "HOOKDOCK_TEMPLATES": str(tmp_path / "custom"), **SECRETS}
    web, url = start_web(tmp_path, env)
    worker = start_worker(tmp_path, env, concurrency=1)
    yield {"web": url, "devflow": devflow, "custom": tmp_path / "custom"}
    for program in (web, worker):
        program.stop()
        assert "devflow-token" not in program.output(), f"{program.name} logged a secret"


def messages(devflow_url: str) -> list[dict]:
    return requests.get(f"{devflow_url}/_devflow/messages", timeout=5).json()["messages"]


def test_signed_push_becomes_exactly_one_correct_message(stack):
    body = fixture_bytes("github", "push__many_commits")
    answer = requests.post(f"{stack['web']}/hooks/widgets", data=body, headers=github_headers("push", body, "e2e-1"), timeout=5)
    assert answer.status_code == 202, answer.text
    event_id = answer.json()["event"]

    [message] = wait_until(lambda: messages(stack["devflow"]), timeout=30, what="the message in devflow")
    expected = (PROJECT / "tests/fixtures/github/push__many_commits.txt").read_text().rstrip("\n")
    assert message["content"] == expected
    assert message["uuid"] == message_uuid(event_id, "team-chat")
    assert (message["event"], message["tags"], message["user"]) == ("message", ["github", "push", "widgets"], "1")

    posts = [r for r in requests.get(f"{stack['devflow']}/_devflow/requests", timeout=5).json()["requests"] if r["method"] == "POST"]
    assert len(posts) == 1
    [post] = posts
    assert post["path"] == "/flows/acme/main/messages"
    assert (post["auth"]["kind"], post["auth"]["user_id"], post["auth"]["valid"]) == ("token", 1, True)
    assert post["headers"]["Content-Type"] == "application/json" and post["headers"]["Accept"] == "application/json"

    again = requests.post(f"{stack['web']}/hooks/widgets", data=body, headers=github_headers("push", body, "e2e-1"), timeout=5)
    assert again.json() == {"duplicate": True, "event": event_id}


def test_an_override_written_while_running_takes_effect_without_a_restart(stack):
    body = fixture_bytes("github", "push__many_commits")

    def send(delivery):
        return requests.post(f"{stack['web']}/hooks/widgets", data=body, headers=github_headers("push", body, delivery), timeout=5)

    assert send("before").status_code == 202
    wait_until(lambda: messages(stack["devflow"]), timeout=30, what="the first message")
    (stack["custom"] / "github").mkdir()
    (stack["custom"] / "github" / "push.txt").write_text("{{ sender.login }} pushed {{ commits | length }} to {{ ref_name }}")
    assert send("after").status_code == 202
    first, second = wait_until(lambda: len(found := messages(stack["devflow"])) == 2 and found, timeout=30, what="the second message")
    assert first["content"].startswith("Codertocat pushed 7 commits to branch master")
    assert second["content"] == "Codertocat pushed 7 to master"


def readme_curl() -> tuple[str, dict, bytes]:
    """The one curl command of the README, parsed: URL, headers and body."""
    text = (PROJECT / "README.md").read_text()
    block = text.split("<!-- sample-curl -->", 2)[1].split("```")[1]
    words = shlex.split(block.replace("\\\n", " ").removeprefix("sh\n"))
    assert words[0] == "curl"
    headers, body, url = {}, b"", ""
    pairs = iter(words[1:])
    for word in pairs:
        if word == "-H":
            name, _, value = next(pairs).partition(": ")
            headers[name] = value
        elif word == "--data-binary":
            body = next(pairs).encode()
        elif word.startswith("http"):
            url = word
    return url, headers, body


def readme_message() -> str:
    """The message the README says appears on devflow's page."""
    text = (PROJECT / "README.md").read_text()
    return text.split("message appears on devflow's page", 1)[1].split("```")[1].strip("\n")


def test_serve_runs_the_readme_example_on_the_embedded_redis(tmp_path):
    """What `make run` does: embedded Redis, web, worker and devflow from one command."""
    port, devflow_port = free_port(), free_port()
    config = tmp_path / "bridge.yml"
    config.write_text((PROJECT / "bridge.example.yml").read_text())
    env = {"REDIS_URL": "", "HOOKDOCK_CONFIG": str(config), "FLOWDOCK_API_URL": f"http://127.0.0.1:{devflow_port}"}
    serve = Program(
        "serve",
        python("-m", "bridge", "serve", "--port", str(port), "--data-dir", str(tmp_path / "data"), "--with-devflow", "--devflow-port", str(devflow_port)),
        tmp_path,
        env,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/readyz", serve, timeout=60)
        url, headers, body = readme_curl()
        answer = requests.post(url.replace("127.0.0.1:8000", f"127.0.0.1:{port}"), data=body, headers=headers, timeout=5)
        assert answer.status_code == 202, answer.text
        [message] = wait_until(lambda: messages(f"http://127.0.0.1:{devflow_port}"), timeout=30, what="the README's message")
        assert message["content"] == readme_message()
        page = requests.get(f"http://127.0.0.1:{devflow_port}/", timeout=5).text
        assert "Say hello to hookdock" in page
    finally:
        code = serve.stop(signal.SIGTERM, timeout=40)
    assert code == 0, serve.output()[-3000:]
    assert (tmp_path / "data" / "appendonlydir").exists() or (tmp_path / "data" / "appendonly.aof").exists()
