"""devflow standing in for the other chats hookdock speaks to, at their own paths, with dev credentials.

Each endpoint checks a request as its chat would (auth, then chat_rules.py), stores what
arrived, and answers in that chat's shape. Requests are logged and faults injected by the same
machinery as the Flowdock API (server.py, faults.py); arrivals show on the page and under
GET /_devflow/chats.

| chat | path | credential devflow accepts |
| --- | --- | --- |
| Slack webhook | POST /services/<team>/<bot>/devflow-slack | the path |
| Slack bot | POST /api/chat.postMessage, /api/chat.update | Authorization: Bearer xoxb-devflow |
| Mattermost webhook | POST /hooks/devflow-mattermost | the path |
| Mattermost API | POST /api/v4/posts, PUT /api/v4/posts/<id>/patch | Authorization: Bearer devflow-mattermost-token |
| Teams workflow | POST /workflows/<id>/triggers/manual/paths/invoke?sig=devflow-teams | the sig parameter |
| Discord | POST /api/webhooks/<id>/devflow-discord[?wait=true] | the path |
| Matrix | PUT /_matrix/client/v3/rooms/<room>/send/m.room.message/<txn> | Authorization: Bearer devflow-matrix |
| Zulip | POST /api/v1/messages (form) | Basic bot@devflow.example.com : devflow-zulip |
"""

from __future__ import annotations

import json
import re

from flask import Flask, Response, g, jsonify, request

from . import chat_rules, server
from .models import same_secret

SLACK_HOOK, SLACK_TOKEN = "devflow-slack", "xoxb-devflow"
MATTERMOST_HOOK, MATTERMOST_TOKEN = "devflow-mattermost", "devflow-mattermost-token"
TEAMS_SIG, DISCORD_TOKEN, MATRIX_TOKEN = "devflow-teams", "devflow-discord", "devflow-matrix"
ZULIP_EMAIL, ZULIP_KEY = "bot@devflow.example.com", "devflow-zulip"


def _json_body() -> dict | None:
    try:
        body = json.loads(request.get_data(cache=True) or b"null")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _bearer() -> str:
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _text(status: int, text: str) -> Response:
    return Response(text, status=status, mimetype="text/plain")


def _json(status: int, body: dict) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


def _arrive(service: str, where: str, body: dict, message_id: str | int, thread: str | None = None) -> dict:
    arrival = g.state.arrive(service, where, body, message_id, thread)
    g.state.finish_request(g.log_entry, message_id=arrival["id"])
    return arrival


def slack_webhook(team: str, bot: str, token: str):
    """POST /services/<team>/<bot>/<token>: answers "ok" as text, or the error's name."""
    if not same_secret(SLACK_HOOK, token):
        return _text(403, "invalid_token")
    body = _json_body()
    if body is None:
        return _text(400, "invalid_payload")
    problems = chat_rules.slack(body)
    if problems:
        return _text(400, problems[0].split(":")[0] if problems[0].startswith("no_text") else f"invalid_blocks: {'; '.join(problems)}")
    _arrive("slack", f"{team}/{bot}", body, g.state.next_chat_id("slack"))
    return _text(200, "ok")


def _slack_api():
    if not same_secret(SLACK_TOKEN, _bearer()):
        return None, _json(200, {"ok": False, "error": "invalid_auth" if _bearer() else "not_authed"})
    body = _json_body()
    if body is None or not body.get("channel"):
        return None, _json(200, {"ok": False, "error": "channel_not_found" if body is not None else "invalid_json"})
    problems = chat_rules.slack(body)
    if problems:
        return None, _json(200, {"ok": False, "error": "no_text" if problems[0].startswith("no_text") else "invalid_blocks", "errors": problems})
    return body, None


def slack_post():
    """POST /api/chat.postMessage: a new message, or a reply under thread_ts."""
    body, refused = _slack_api()
    if refused is not None:
        return refused
    thread = body.get("thread_ts")
    if thread is not None and not g.state.find_arrival("slack", thread):
        return _json(200, {"ok": False, "error": "thread_not_found"})
    ts = g.state.next_chat_id("slack")
    _arrive("slack", body["channel"], body, ts, thread)
    return _json(200, {"ok": True, "channel": body["channel"], "ts": ts, "message": {"text": body.get("text", ""), "ts": ts}})


def slack_update():
    """POST /api/chat.update: replace a message's text, blocks and attachments."""
    body, refused = _slack_api()
    if refused is not None:
        return refused
    if not g.state.update_arrival("slack", body.get("ts"), body):
        return _json(200, {"ok": False, "error": "message_not_found"})
    return _json(200, {"ok": True, "channel": body["channel"], "ts": body["ts"], "text": body.get("text", "")})


def _mattermost_error(status: int, message: str) -> Response:
    return _json(status, {"id": "api.devflow.app_error", "message": message, "status_code": status})


def mattermost_webhook(key: str):
    """POST /hooks/<key>: answers "ok" as text."""
    if not same_secret(MATTERMOST_HOOK, key):
        return _mattermost_error(400, "Invalid webhook")
    body = _json_body()
    problems = ["body: not a JSON object"] if body is None else chat_rules.mattermost(body)
    if problems:
        return _mattermost_error(400, "; ".join(problems))
    _arrive("mattermost", "incoming webhook", body or {}, g.state.next_chat_id("mattermost"))
    return _text(200, "ok")


def _mattermost_api() -> tuple[dict | None, Response | None]:
    if not same_secret(MATTERMOST_TOKEN, _bearer()):
        return None, _mattermost_error(401, "Invalid or expired session, please login again.")
    body = _json_body()
    problems = ["body: not a JSON object"] if body is None else chat_rules.mattermost(body)
    return (None, _mattermost_error(400, "; ".join(problems))) if problems else (body, None)


def mattermost_post():
    """POST /api/v4/posts: a post, or a reply under root_id; answers 201 with the post."""
    body, refused = _mattermost_api()
    if refused is not None:
        return refused
    root = body.get("root_id") or None
    if not body.get("channel_id"):
        return _mattermost_error(400, "channel_id is required")
    if root is not None and not g.state.find_arrival("mattermost", root):
        return _mattermost_error(400, "Invalid RootId parameter.")
    post_id = g.state.next_chat_id("mattermost")
    _arrive("mattermost", body["channel_id"], body, post_id, root)
    return _json(
        201, {"id": post_id, "channel_id": body["channel_id"], "root_id": root or "", "message": body.get("message", ""), "props": body.get("props", {})}
    )


def mattermost_patch(post_id: str):
    """PUT /api/v4/posts/<id>/patch: change a post's message and props."""
    body, refused = _mattermost_api()
    if refused is not None:
        return refused
    if not g.state.update_arrival("mattermost", post_id, body):
        return _mattermost_error(404, "Unable to find the existing post.")
    return _json(200, {"id": post_id, **body})


def teams_workflow(workflow: str):
    """POST a workflow's trigger URL: answers 202 with no body, as the workflow runs later."""
    if not same_secret(TEAMS_SIG, request.args.get("sig", "")):
        return _json(401, {"error": {"code": "DirectApiAuthorizationRequired", "message": "The request must be authenticated (sig)."}})
    raw = request.get_data(cache=True)
    body = _json_body()
    if body is None:
        return _json(400, {"error": {"code": "InvalidRequestContent", "message": "The request content is not valid JSON."}})
    problems = chat_rules.teams(body, len(raw))
    if problems:
        status = 413 if problems[0].startswith("body:") else 400
        return _json(status, {"error": {"code": "InvalidRequestContent", "message": "; ".join(problems)}})
    _arrive("teams", workflow, body, g.state.next_chat_id("teams"))
    return Response(status=202)


def discord_webhook(webhook_id: str, token: str):
    """POST /api/webhooks/<id>/<token>: 204, or 200 with the message under ?wait=true."""
    if not same_secret(DISCORD_TOKEN, token):
        return _json(401, {"message": "Invalid Webhook Token", "code": 50027})
    body = _json_body()
    if body is None:
        return _json(400, {"message": "Cannot send an empty message", "code": 50006})
    problems = chat_rules.discord(body)
    if problems:
        code = 50006 if problems[0].startswith("50006") else 50035
        return _json(400, {"message": "Cannot send an empty message" if code == 50006 else "Invalid Form Body", "code": code, "errors": problems})
    message_id = g.state.next_chat_id("discord")
    _arrive("discord", webhook_id, body, message_id)
    if request.args.get("wait", "").lower() != "true":
        return Response(status=204)
    return _json(200, {"id": message_id, "channel_id": webhook_id, "webhook_id": webhook_id, **body})


def _matrix_error(status: int, code: str, error: str) -> Response:
    return _json(status, {"errcode": code, "error": error})


def matrix_send(room: str, txn: str):
    """PUT .../rooms/<room>/send/m.room.message/<txn>: the same txn answers the event it made before."""
    token = _bearer() or request.args.get("access_token", "")
    if not token:
        return _matrix_error(401, "M_MISSING_TOKEN", "Missing access token")
    if not same_secret(MATRIX_TOKEN, token):
        return _matrix_error(401, "M_UNKNOWN_TOKEN", "Unknown access token")
    if not (room.startswith("!") and ":" in room):
        return _matrix_error(403, "M_FORBIDDEN", "Unknown room")
    earlier = g.state.matrix_txn(room, txn)
    if earlier is not None:
        g.state.finish_request(g.log_entry, duplicate=True)
        return _json(200, {"event_id": earlier})
    body = _json_body()
    if body is None:
        return _matrix_error(400, "M_NOT_JSON", "Content not JSON.")
    problems = chat_rules.matrix(body)
    if problems:
        too_large = problems[-1].startswith("M_TOO_LARGE")
        return _matrix_error(413 if too_large else 400, "M_TOO_LARGE" if too_large else "M_BAD_JSON", "; ".join(problems))
    relation = body.get("m.relates_to") or {}
    root = relation.get("event_id") if relation.get("rel_type") == "m.thread" else None
    if root is not None and not g.state.find_arrival("matrix", root):
        return _matrix_error(400, "M_INVALID_PARAM", "Unknown thread root")
    event_id = g.state.next_chat_id("matrix")
    g.state.remember_matrix_txn(room, txn, event_id)
    _arrive("matrix", room, body, event_id, root)
    return _json(200, {"event_id": event_id})


def zulip_send():
    """POST /api/v1/messages (form-encoded), Basic auth of e-mail and API key."""
    creds = server.parse_basic(request.headers.get("Authorization"))
    if creds is None or creds[0] != ZULIP_EMAIL or not same_secret(ZULIP_KEY, creds[1]):
        return _json(401, {"result": "error", "msg": "Invalid API key", "code": "INVALID_API_KEY"})
    form = request.form.to_dict()
    problems = chat_rules.zulip(form)
    if problems:
        return _json(400, {"result": "error", "msg": "; ".join(problems), "code": "BAD_REQUEST"})
    message_id = g.state.next_chat_id("zulip")
    _arrive("zulip", f"{form['to']} > {form['topic']}", form, message_id, form["topic"])
    return _json(200, {"result": "success", "msg": "", "id": message_id})


ROUTES = (
    ("/services/<team>/<bot>/<token>", "POST", slack_webhook),
    ("/api/chat.postMessage", "POST", slack_post),
    ("/api/chat.update", "POST", slack_update),
    ("/hooks/<key>", "POST", mattermost_webhook),
    ("/api/v4/posts", "POST", mattermost_post),
    ("/api/v4/posts/<post_id>/patch", "PUT", mattermost_patch),
    ("/workflows/<workflow>/triggers/manual/paths/invoke", "POST", teams_workflow),
    ("/api/webhooks/<webhook_id>/<token>", "POST", discord_webhook),
    ("/_matrix/client/v3/rooms/<room>/send/m.room.message/<txn>", "PUT", matrix_send),
    ("/api/v1/messages", "POST", zulip_send),
)
# Query parameters of these paths that hold a credential: never shown in the request log.
SECRET_QUERY = ("sig", "access_token")
# Path segments that are a webhook's credential (Slack's and Discord's token, Mattermost's key): never shown either.
SECRET_PATH = re.compile(r"^(/services/[^/]+/[^/]+/|/api/webhooks/[^/]+/|/hooks/)[^/]+")


def public_path(path: str) -> str:
    """A request path as the log and the page show it: a webhook's credential replaced by ***."""
    return SECRET_PATH.sub(lambda m: m.group(1) + server.REDACTED, path)


def is_chat_request() -> bool:
    """True for a request to one of the chats above (they have their own transport rules, not Flowdock's)."""
    return (request.endpoint or "").startswith("chats.")


def register(app: Flask) -> None:
    """Add the chats' routes to the app."""
    for rule, method, view in ROUTES:
        app.add_url_rule(rule, endpoint=f"chats.{view.__name__}", view_func=view, methods=[method])
