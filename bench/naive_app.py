"""The naive bridge: verify the signature and post to the chat API inside the request, then answer."""

import hashlib
import hmac
import json
import os
import uuid

import requests
from flask import Flask, request

from bench.payload import SECRET

CHAT_URL = os.environ.get("BENCH_CHAT_URL", "http://127.0.0.1:5050")
TOKEN = os.environ.get("BENCH_CHAT_TOKEN", "devflow-token")
app = Flask(__name__)
session = requests.Session()


@app.post("/hooks/<route_name>")
def receive(route_name: str):
    """Check, format a one-line message, post it and wait for the chat API: no queue, no records."""
    raw = request.get_data(cache=False)
    expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("X-Hub-Signature-256", "")):
        return {"error": "bad signature"}, 401
    push = json.loads(raw)
    lines = [f"{push['sender']['login']} pushed {len(push['commits'])} commits to {push['repository']['full_name']}"]
    lines += [f"- {c['id'][:7]} {c['message'].splitlines()[0]}" for c in push["commits"][:5]]
    message = {"event": "message", "content": "\n".join(lines), "tags": ["github", "push"], "uuid": str(uuid.uuid4())}
    answer = session.post(f"{CHAT_URL}/flows/acme/main/messages", json=message, auth=(TOKEN, ""), headers={"Accept": "application/json"}, timeout=10)
    return ({"posted": True}, 200) if answer.ok else ({"error": f"chat answered {answer.status_code}"}, 502)


@app.get("/healthz")
def healthz():
    """Readiness for the orchestrator."""
    return {"ok": True}
