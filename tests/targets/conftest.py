"""One target of every type, pointed at a devflow (which stands in for each chat) or at a placeholder host."""

from __future__ import annotations

import pytest

from bridge.config import parse_config

# Each type once; threaded Slack and Mattermost (bot token, REST API) beside their webhooks.
TARGETS = """\
  flowdock: {{flow_token: devflow-flow-token}}
  slack: {{type: slack, url: "{url}/services/T0DEV/B0DEV/devflow-slack"}}
  slack-bot: {{type: slack, token: xoxb-devflow, channel: C0DEV, api_url: "{url}/api"}}
  mattermost: {{type: mattermost, url: "{url}/hooks/devflow-mattermost"}}
  mattermost-api: {{type: mattermost, server: "{url}", token: devflow-mattermost-token, channel_id: town-square}}
  teams: {{type: teams, url: "{url}/workflows/w1/triggers/manual/paths/invoke?api-version=1&sig=devflow-teams"}}
  discord: {{type: discord, url: "{url}/api/webhooks/4242/devflow-discord"}}
  matrix: {{type: matrix, homeserver: "{url}", room_id: "!ops:devflow", access_token: devflow-matrix}}
  zulip: {{type: zulip, site: "{url}", email: bot@devflow.example.com, api_key: devflow-zulip, stream: dev}}
"""
NAMES = ["flowdock", "slack", "slack-bot", "mattermost", "mattermost-api", "teams", "discord", "matrix", "zulip"]
OTHERS = NAMES[1:]


def config_for(url: str, extra: str = "", route: str = ""):
    """Every target type, one route to all of them; extra is more top-level YAML, route more keys of the route."""
    return parse_config(
        f"api_url: {url}\n{extra}targets:\n"
        + TARGETS.format(url=url)
        + f"routes:\n  all: {{source: github, secret: s, targets: [{', '.join(NAMES)}]{route}}}\n"
    )


@pytest.fixture(scope="session")
def offline():
    """Targets at a placeholder loopback host: for building requests without sending them."""
    return config_for("http://127.0.0.1:9")
