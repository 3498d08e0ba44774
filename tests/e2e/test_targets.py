"""Every target type end to end: one devflow, gunicorn and Celery worker (started once) deliver a signed pull request to each chat."""

from __future__ import annotations

import pytest
import redis
import requests

from tests.e2e.processes import start_devflow, start_web, start_worker
from tests.support import SECRET, fixture_bytes, github_headers, wait_until
from tests.targets.conftest import NAMES, TARGETS

# Where each target's arrival shows in devflow: the chat and its channel, room or stream.
ARRIVES = {
    "slack": ("slack", "T0DEV/B0DEV"),
    "slack-bot": ("slack", "C0DEV"),
    "mattermost": ("mattermost", "incoming webhook"),
    "mattermost-api": ("mattermost", "town-square"),
    "teams": ("teams", "w1"),
    "discord": ("discord", "4242"),
    "matrix": ("matrix", "!ops:devflow"),
    "zulip": ("zulip", "dev > #2 Update the README with new information."),
}
CREDENTIALS = ("devflow-slack", "xoxb-devflow", "devflow-mattermost", "devflow-teams", "devflow-discord", "devflow-matrix", "devflow-zulip")


@pytest.fixture(scope="module")
def stack(tmp_path_factory, redis_server):
    """devflow, gunicorn and one worker, with a route per target; started once for every target type."""
    tmp = tmp_path_factory.mktemp("targets")
    redis.Redis.from_url(redis_server.url).flushall()
    devflow, url = start_devflow(tmp)
    routes = "".join(f'  to-{name}: {{source: github, secret: "{SECRET}", targets: [{name}]}}\n' for name in NAMES)
    config = tmp / "bridge.yml"
    config.write_text(f"api_url: {url}\ntargets:\n{TARGETS.format(url=url)}routes:\n{routes}")
    env = {"REDIS_URL": redis_server.url, "HOOKDOCK_CONFIG": str(config)}
    web, web_url = start_web(tmp, env)
    worker = start_worker(tmp, env, concurrency=1)
    yield {"web": web_url, "devflow": url}
    for program in (web, worker):
        program.stop()
        leaked = [secret for secret in CREDENTIALS if secret in program.output()]
        assert not leaked, f"{program.name} logged {leaked}"
    assert devflow.stop() == 0
    # devflow's access log stands in for the chats' own, but serve --with-devflow prints it beside hookdock's.
    assert not [secret for secret in CREDENTIALS if secret in devflow.output()], "devflow logged a credential"


def arrived(devflow: str, target: str) -> list[dict]:
    """What devflow received for one target."""
    if target == "flowdock":
        return requests.get(f"{devflow}/_devflow/messages", timeout=5).json()["messages"]
    service, where = ARRIVES[target]
    found = requests.get(f"{devflow}/_devflow/chats", timeout=5).json()["arrivals"]
    return [a for a in found if (a["service"], a["where"]) == (service, where)]


@pytest.mark.parametrize("target", NAMES)
def test_a_signed_pull_request_reaches_each_chat_once(stack, target):
    body = fixture_bytes("github", "pull_request__opened")
    answer = requests.post(f"{stack['web']}/hooks/to-{target}", data=body, headers=github_headers("pull_request", body, f"e2e-{target}", SECRET), timeout=5)
    assert answer.status_code == 202, answer.text
    [message] = wait_until(lambda: arrived(stack["devflow"], target), timeout=30, what=f"the {target} message in devflow")
    assert "Update the README with new information." in str(message)
    page = requests.get(f"{stack['devflow']}/", timeout=5).text
    assert "Update the README with new information." in page
