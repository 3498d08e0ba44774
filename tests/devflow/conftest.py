"""Fixtures for devflow tests: a real devflow server on a free port, and a small HTTP client."""

from __future__ import annotations

import pytest
import requests

from bridge.devflow.cli import BackgroundServer
from bridge.devflow.state import DevflowState

TOKEN = "devflow-token"
FLOW_TOKEN = "devflow-flow-token"
OPS_TOKEN = "ops-flow-token"
JANE_EMAIL = "jane.doe+ci@example.com"
# Non-ASCII, and a colon: Basic splits user from password at the first colon only.
JANE_PASSWORD = "sälaisuus:密码"
OUTSIDER_TOKEN = "outsider-token"
JSON_ACCEPT = {"Accept": "application/json"}


def seeded_state() -> DevflowState:
    """Defaults plus a password user, a user outside every flow, and a second flow."""
    state = DevflowState.with_defaults()
    state.add_user("jane-token", 2, "jane", name="Jane Doe", email=JANE_EMAIL, password=JANE_PASSWORD)
    state.flows[0].members.add(2)
    state.add_flow("acme", "ops", flow_token=OPS_TOKEN, display_name="Ops", members=[1])
    state.add_user(OUTSIDER_TOKEN, 3, "outsider")
    return state


class Client:
    """requests against one devflow, with the contract's headers and the default token."""

    def __init__(self, server: BackgroundServer):
        self.url = server.url
        self.state = server.state
        self.http = requests.Session()

    def request(self, method: str, path: str, *, auth=(TOKEN, ""), headers=None, **kwargs) -> requests.Response:
        """Send one request; headers given as None are removed."""
        return self.http.request(method, self.url + path, auth=auth, headers={**JSON_ACCEPT, **(headers or {})}, timeout=10, **kwargs)

    def post(self, path: str, body=None, **kwargs) -> requests.Response:
        """POST a JSON body."""
        return self.request("POST", path, json=body, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        """GET with the default token."""
        return self.request("GET", path, **kwargs)

    def say(self, content: str, **fields) -> dict:
        """Post a chat message to acme/main and return the stored message."""
        r = self.post("/flows/acme/main/messages", {"event": "message", "content": content, **fields}, headers={"X-flowdock-wait-for-message": "true"})
        assert r.status_code == 200, r.text
        return r.json()

    def control(self, method: str, path: str, **kwargs) -> requests.Response:
        """Call a /_devflow control endpoint (no auth)."""
        return self.http.request(method, f"{self.url}/_devflow{path}", timeout=10, **kwargs)

    def stored(self) -> dict:
        """Return /_devflow/messages."""
        return self.control("GET", "/messages").json()

    def log(self) -> list[dict]:
        """Return the request log."""
        return self.control("GET", "/requests").json()["requests"]


@pytest.fixture
def devflow():
    """A fresh devflow serving seeded_state() from a background thread."""
    server = BackgroundServer(seeded_state()).start()
    client = Client(server)
    yield client
    client.http.close()
    server.stop()


def activity(external_id: str, status: str = "open", color: str = "green", **extra) -> dict:
    """Return an activity body with a full thread state."""
    body = {
        "event": "activity",
        "title": f"{status} pull request",
        "author": {"name": "octocat"},
        "external_thread_id": external_id,
        "thread": {
            "title": "Fix the flux capacitor",
            "body": "<p>details</p>",
            "external_url": "https://example.com/pull/42",
            "status": {"value": status, "color": color},
            "fields": [{"label": "branch", "value": "fix-flux"}],
        },
    }
    body.update(extra)
    return body
