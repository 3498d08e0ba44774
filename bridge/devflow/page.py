"""The plain web page at /: every flow with its threads and newest messages, shown as Flowdock would, then what the other chats received."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from flask import g, render_template

from .safehtml import body_html, inline_html, is_http_url

PAGE_MESSAGES = 200


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _sender(message: dict, nicks: dict[str, str]) -> str:
    author = message.get("author") or {}
    return message.get("external_user_name") or author.get("name") or nicks.get(message["user"]) or f"user {message['user']}"


def page():
    """GET / - every flow with its threads and its newest messages."""
    state = g.state
    nicks = {str(u.id): u.nick for u in state.users} | {"0": "integration"}
    flows = []
    for flow in state.flows:
        messages = state.messages(flow)[-PAGE_MESSAGES:]
        for message in messages:
            message["when"] = _when(message["sent"])
            message["sender"] = _sender(message, nicks)
        threads = state.threads(flow)
        for thread in threads:
            thread["link"] = thread.get("external_url") if is_http_url(thread.get("external_url")) else None
        flows.append({"org": flow.org, "name": flow.name, "title": flow.display_name, "threads": threads, "messages": list(reversed(messages))})
    arrivals = list(reversed(state.arrivals()))[:PAGE_MESSAGES]
    for arrival in arrivals:
        arrival["when"] = _when(arrival["at"])
        # Written out here, not with Jinja's tojson, which turns "<", "&" and every non-ASCII character into \u escapes:
        # Slack's <url|text> links and the bullets would be unreadable. Autoescape makes it safe in the page.
        arrival["shown"] = json.dumps(arrival["updates"][-1] if arrival["updates"] else arrival["json"], indent=2, ensure_ascii=False)
    # Titles, field values and bodies are HTML in the API: shown sanitised, not escaped a second time.
    return render_template("index.html", flows=flows, arrivals=arrivals, inline_html=inline_html, body_html=body_html)
