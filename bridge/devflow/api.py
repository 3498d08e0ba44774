"""The Flowdock REST endpoints devflow serves: posting, flows, message listing and threads."""

from __future__ import annotations

from flask import Flask, g, jsonify, request

from .models import Flow, Invalid, NotFound, User
from .server import REALM, ApiError, validation_error
from .state import DevflowState
from .validation import BLANK, listing_params, validate_message

FLOW_TOKEN_REALM = 'FlowToken realm="devflow"'
NO_WAIT = {"", "0", "false", "no", "off"}


def _user() -> User:
    auth = g.auth
    if auth.valid and auth.user is not None:
        return auth.user
    message = "Authentication required" if auth.kind in (None, "flow_token") else "Invalid credentials"
    raise ApiError(401, message, headers={"WWW-Authenticate": REALM})


def _flow(org: str, name: str) -> tuple[Flow, User]:
    user = _user()
    flow = g.state.find_flow(org, name)
    # Hide flows the user cannot see, as a 403 would confirm that they exist.
    if flow is None or user.id not in flow.members:
        raise ApiError(404, "Flow not found")
    return flow, user


def _base_url() -> str:
    return request.host_url.rstrip("/")


def _wants_message() -> bool:
    value = request.headers.get("X-flowdock-wait-for-message")
    return value is not None and value.strip().lower() not in NO_WAIT


def _accepted(flow: Flow, message: dict):
    if not _wants_message():
        return jsonify({}), 202
    response = jsonify(message)
    link = f"{_base_url()}/flows/{flow.org}/{flow.name}/messages/{message['id']}/comments"
    response.headers["Link"] = f'<{link}>; rel="comments"'
    return response


def _missing_thread(state: DevflowState, flow: Flow, source: str, draft: dict, in_thread: bool) -> bool:
    # A new external thread needs its state; report it with the other problems at once.
    external_id = draft.get("external_thread_id")
    return (
        not in_thread
        and external_id is not None
        and draft.get("thread_id") is None
        and "thread" not in g.body
        and not state.has_external_thread(flow, source, external_id)
    )


def _post(flow: Flow, *, source: str, user_id: str, thread_id: str | None = None, parent_id: int | None = None):
    state: DevflowState = g.state
    draft, errors = validate_message(g.body, in_thread=thread_id is not None, comment_path=parent_id is not None)
    if errors and _missing_thread(state, flow, source, draft, thread_id is not None):
        errors.add("thread", BLANK)
    if errors:
        raise validation_error(errors)
    try:
        message, duplicate = state.post(flow, draft, source=source, user_id=user_id, thread_id=thread_id, parent_id=parent_id)
    except NotFound as error:
        raise ApiError(404, str(error)) from None
    except Invalid as error:
        raise validation_error(error.errors) from None
    state.finish_request(g.log_entry, message_id=message["id"], duplicate=duplicate)
    return _accepted(flow, message)


def post_flow_message(org: str, flow: str):
    """POST /flows/:org/:flow/messages"""
    target, user = _flow(org, flow)
    return _post(target, source=f"user:{user.id}", user_id=str(user.id))


def post_thread_message(org: str, flow: str, thread_id: str):
    """POST /flows/:org/:flow/threads/:thread_id/messages"""
    target, user = _flow(org, flow)
    if not g.state.has_thread(target, thread_id):
        raise ApiError(404, "Thread not found")
    return _post(target, source=f"user:{user.id}", user_id=str(user.id), thread_id=thread_id)


def post_comment(org: str, flow: str, message_id: int):
    """POST /flows/:org/:flow/messages/:message_id/comments"""
    target, user = _flow(org, flow)
    if not any(m["id"] == message_id for m in g.state.messages(target)):
        raise ApiError(404, "Message not found")
    return _post(target, source=f"user:{user.id}", user_id=str(user.id), parent_id=message_id)


def post_with_flow_token():
    """POST /messages with a flow token in the body or the query."""
    token = g.body.get("flow_token") or request.args.get("flow_token")
    flow = g.state.flow_for_token(token)
    if flow is None:
        message = "flow_token is required" if token is None else "Unknown flow_token"
        raise ApiError(401, message, headers={"WWW-Authenticate": FLOW_TOKEN_REALM})
    # A flow token is a source, not a user: its messages carry user "0", as in Flowdock.
    return _post(flow, source=f"source:{flow.id}", user_id="0")


def flow_json(flow: Flow, state: DevflowState) -> dict:
    """Return a flow as GET /flows/:org/:flow shows it."""
    base = _base_url()
    users = [u.public() for u in state.users if u.id in flow.members]
    return {
        "id": flow.id,
        "name": flow.display_name,
        "parameterized_name": flow.name,
        "organization": {"name": flow.org_name, "parameterized_name": flow.org, "url": f"{base}/organizations/{flow.org}"},
        "open": True,
        "joined": True,
        "access_mode": "invitation",
        "unread_mentions": 0,
        "url": f"{base}/flows/{flow.org}/{flow.name}",
        "web_url": f"{base}/#{flow.org}/{flow.name}",
        "users": users,
    }


def get_flow(org: str, flow: str):
    """GET /flows/:org/:flow"""
    target, _ = _flow(org, flow)
    return jsonify(flow_json(target, g.state))


def _matches(message: dict, params: dict, tags: list[str]) -> bool:
    if params["events"] and message["event"] not in params["events"]:
        return False
    if params["since_id"] is not None and message["id"] <= params["since_id"]:
        return False
    if params["until_id"] is not None and message["id"] >= params["until_id"]:
        return False
    have = {t.lower() for t in message["tags"]}
    wanted = [t.lower() in have for t in tags]
    if tags and not (all(wanted) if params["tag_mode"] == "and" else any(wanted)):
        return False
    text = " ".join(str(message.get(k) or "") for k in ("content", "title", "body")).lower()
    return all(word in text for word in params["search"])


def _listing(messages: list[dict]):
    params, errors = listing_params(request.args)
    if errors:
        raise validation_error(errors)
    tags = g.state.normalise_tags(params["tags"])
    chosen = [m for m in messages if _matches(m, params, tags)]
    # sort picks the newest or the oldest matches; the answer is always in ascending id order.
    chosen = chosen[-params["limit"] :] if params["sort"] == "desc" else chosen[: params["limit"]]
    return jsonify(chosen)


def list_messages(org: str, flow: str):
    """GET /flows/:org/:flow/messages"""
    target, _ = _flow(org, flow)
    return _listing(g.state.messages(target))


def show_message(org: str, flow: str, message_id: int):
    """GET /flows/:org/:flow/messages/:id"""
    target, _ = _flow(org, flow)
    found = next((m for m in g.state.messages(target) if m["id"] == message_id), None)
    if found is None:
        raise ApiError(404, "Message not found")
    return jsonify(found)


def _thread(org: str, flow: str, thread_id: str) -> tuple[Flow, dict]:
    target, _ = _flow(org, flow)
    thread = g.state.thread(target, thread_id)
    if thread is None:
        raise ApiError(404, "Thread not found")
    return target, thread


def list_threads(org: str, flow: str):
    """GET /flows/:org/:flow/threads"""
    target, _ = _flow(org, flow)
    return jsonify(g.state.threads(target))


def show_thread(org: str, flow: str, thread_id: str):
    """GET /flows/:org/:flow/threads/:id"""
    return jsonify(_thread(org, flow, thread_id)[1])


def list_thread_messages(org: str, flow: str, thread_id: str):
    """GET /flows/:org/:flow/threads/:id/messages"""
    target, thread = _thread(org, flow, thread_id)
    return _listing([m for m in g.state.messages(target) if m["thread_id"] == thread["id"]])


ROUTES = (
    ("/messages", "POST", post_with_flow_token),
    ("/flows/<org>/<flow>", "GET", get_flow),
    ("/flows/<org>/<flow>/messages", "POST", post_flow_message),
    ("/flows/<org>/<flow>/messages", "GET", list_messages),
    ("/flows/<org>/<flow>/messages/<int:message_id>", "GET", show_message),
    ("/flows/<org>/<flow>/messages/<int:message_id>/comments", "POST", post_comment),
    ("/flows/<org>/<flow>/threads", "GET", list_threads),
    ("/flows/<org>/<flow>/threads/<thread_id>", "GET", show_thread),
    ("/flows/<org>/<flow>/threads/<thread_id>/messages", "POST", post_thread_message),
    ("/flows/<org>/<flow>/threads/<thread_id>/messages", "GET", list_thread_messages),
)


def register(app: Flask) -> None:
    """Add the API routes to the app."""
    for rule, method, view in ROUTES:
        app.add_url_rule(rule, endpoint=f"api.{view.__name__}", view_func=view, methods=[method])
