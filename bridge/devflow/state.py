"""In-memory, thread-safe store of devflow users, flows, messages, threads, requests and faults."""

from __future__ import annotations

import copy
import secrets
import threading
import time
from collections.abc import Callable

from .faults import Faults
from .models import Auth, Flow, Invalid, NotFound, User, iso, now_ms, same_secret

EVERYONE_TAGS = {"@everyone", "@everybody", "@all", "@anyone", "@anybody"}
THREAD_KEYS = ("title", "body", "external_url", "status", "fields", "actions")
# How each chat names its messages, from devflow's counter: a Slack ts, a Mattermost post id, a Discord snowflake...
CHAT_IDS: dict[str, Callable[[int], str | int]] = {
    "slack": lambda n: f"{int(time.time())}.{n:06d}",
    "mattermost": lambda n: f"devflowpost{n:015d}",
    "teams": lambda n: f"teams-{n}",
    "discord": lambda n: str(10**17 + n),
    "matrix": lambda n: f"${n}:devflow",
    "zulip": lambda n: n,
}
COUNTERS = {"activity": "activities", "discussion": "external_comments", "message": "internal_comments", "comment": "internal_comments"}


class DevflowState:
    """Everything devflow knows; every public method takes the lock and returns copies."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.users: list[User] = []
        self.flows: list[Flow] = []
        self._next_id = 1  # never reset, so ids stay unique across /_devflow/reset
        self.faults = Faults()
        self._clear()

    @classmethod
    def with_defaults(cls) -> DevflowState:
        """Return a state with the default user `dev` and flow `acme/main`."""
        state = cls()
        state.add_user("devflow-token", 1, "dev", name="Dev User", email="dev@example.com", password="devflow-password")
        state.add_flow("acme", "main", flow_token="devflow-flow-token", display_name="Main")
        return state

    def _clear(self) -> None:
        self._messages: list[dict] = []
        self._threads: dict[str, dict] = {}
        self._external: dict[tuple, str] = {}
        self._uuids: dict[tuple, dict] = {}
        self._requests: list[dict] = []
        self._arrivals: list[dict] = []
        self._txns: dict[tuple, str] = {}
        self.faults.clear()
        self.duplicates = 0

    def reset(self) -> None:
        """Forget messages, threads, requests, faults and the duplicate count."""
        with self._lock:
            self._clear()

    # -- directory -------------------------------------------------------
    def add_user(self, token: str, user_id: int, nick: str, name: str | None = None, email: str | None = None, password: str | None = None) -> User:
        """Add a user; it joins no flow by itself."""
        user = User(int(user_id), token, nick, name or nick, email, password)
        with self._lock:
            self.users.append(user)
        return user

    def add_flow(
        self, org: str, name: str, flow_token: str | None = None, display_name: str | None = None, org_name: str | None = None, members: list[int] | None = None
    ) -> Flow:
        """Add a flow; members default to every user known now."""
        with self._lock:
            ids = set(members) if members is not None else {u.id for u in self.users}
            flow = Flow(org, name, display_name or name, org_name or org, flow_token, ids)
            self.flows.append(flow)
        return flow

    def find_flow(self, org: str, name: str) -> Flow | None:
        """Return the flow with these parameterized names, if any."""
        with self._lock:
            return next((f for f in self.flows if f.org == org and f.name == name), None)

    def flow_for_token(self, token: object) -> Flow | None:
        """Return the flow a flow token belongs to, if any."""
        if not isinstance(token, str) or not token:
            return None
        with self._lock:
            return next((f for f in self.flows if same_secret(f.flow_token, token)), None)

    def authenticate(self, username: str, password: str) -> Auth:
        """Resolve Basic credentials: a user token as name, or e-mail and password."""
        with self._lock:
            for user in self.users:
                if same_secret(user.token, username):
                    return Auth("token", user, True)
            for user in self.users:
                if user.email and user.email.lower() == username.lower():
                    return Auth("password", user, same_secret(user.password, password))
        return Auth("password" if "@" in username else "token", None, False)

    def user_by_id(self, user_id: int) -> User | None:
        """Return the user with this id, if any."""
        with self._lock:
            return next((u for u in self.users if u.id == user_id), None)

    def normalise_tags(self, tags: list[str]) -> list[str]:
        """Map tags as Flowdock stores them: '#' dropped, @nick to :user:ID, deduplicated."""
        nicks = {f"@{u.nick.lower()}": f":user:{u.id}" for u in self.users}
        out: list[str] = []
        for tag in tags:
            low = tag.lower()
            if low in EVERYONE_TAGS:
                tag = ":user:everyone"
            elif low in nicks:
                tag = nicks[low]
            elif tag.startswith("#"):
                tag = tag[1:]
            if tag and tag.lower() not in {t.lower() for t in out}:
                out.append(tag)
        return out

    # -- messages and threads -------------------------------------------
    def has_external_thread(self, flow: Flow, source: str, external_id: str) -> bool:
        """Tell whether a thread with this external id exists for the source."""
        with self._lock:
            return (flow.id, source, external_id) in self._external

    def has_thread(self, flow: Flow, thread_id: str) -> bool:
        """Tell whether the flow holds a thread with this id."""
        with self._lock:
            thread = self._threads.get(thread_id)
            return thread is not None and thread["flow"] == flow.id

    def post(self, flow: Flow, draft: dict, *, source: str, user_id: str, thread_id: str | None = None, parent_id: int | None = None) -> tuple[dict, bool]:
        """Store a validated message; return (message JSON, was it a uuid duplicate)."""
        with self._lock:
            uuid = draft.get("uuid")
            if uuid is not None and (flow.id, uuid) in self._uuids:
                original = self._uuids[(flow.id, uuid)]
                original["_duplicates"] += 1
                self.duplicates += 1
                return self._render(original), True
            # Check the parent before resolving the thread, which may create one.
            parent_id = parent_id if parent_id is not None else draft.get("parent_id")
            parent = self._parent(flow, parent_id) if parent_id is not None else None
            thread = self._resolve_thread(flow, draft, source, thread_id or draft.get("thread_id"))
            tags = self.normalise_tags(draft.get("tags") or [])
            if parent is not None:
                tags.append(f"influx:{parent['id']}")
            msg = self._store(flow, draft, tags, user_id, thread)
            if uuid is not None:
                self._uuids[(flow.id, uuid)] = msg
            return self._render(msg), False

    def _parent(self, flow: Flow, parent_id: int) -> dict:
        parent = next((m for m in self._messages if m["flow"] == flow.id and m["id"] == parent_id), None)
        if parent is None:
            raise NotFound("Message not found")
        if parent["event"] == "comment":
            raise Invalid({"message": ["can't comment on a comment"]})
        return parent

    def _resolve_thread(self, flow: Flow, draft: dict, source: str, thread_id: str | None) -> dict | None:
        if thread_id is not None:
            if not self.has_thread(flow, thread_id):
                raise NotFound("Thread not found")
            return self._threads[thread_id]
        external_id = draft.get("external_thread_id")
        if external_id is None:
            return None
        key = (flow.id, source, external_id)
        if key in self._external:
            return self._threads[self._external[key]]
        if draft.get("thread") is None:
            raise Invalid({"thread": ["can't be blank"]})
        created = now_ms()
        thread = {
            "id": secrets.token_urlsafe(20),
            "flow": flow.id,
            "external_id": external_id,
            **{key: None for key in THREAD_KEYS},
            "activities": 0,
            "internal_comments": 0,
            "external_comments": 0,
            "message_ids": [],
            "created_at": iso(created),
            "updated_at": iso(created),
        }
        self._threads[thread["id"]] = thread
        self._external[key] = thread["id"]
        return thread

    def _store(self, flow: Flow, draft: dict, tags: list[str], user_id: str, thread: dict | None) -> dict:
        sent = now_ms()
        msg = {
            "id": self._next_id,
            "flow": flow.id,
            "event": draft["event"],
            "content": draft.get("content"),
            "tags": tags,
            "uuid": draft.get("uuid"),
            "user": user_id,
            "sent": sent,
            "created_at": iso(sent),
            "app": "influx" if draft["event"] in ("activity", "discussion") else "chat",
            "attachments": [],
            "thread_id": thread["id"] if thread else None,
            "_duplicates": 0,
            "_sent_thread": copy.deepcopy(draft.get("thread")),
        }
        for key in ("external_thread_id", "title", "body", "author", "external_user_name"):
            if draft.get(key) is not None:
                msg[key] = copy.deepcopy(draft[key])
        self._next_id += 1
        self._messages.append(msg)
        if thread is not None:
            self._update_thread(thread, msg, draft.get("thread"))
        return msg

    @staticmethod
    def _update_thread(thread: dict, msg: dict, new_state: dict | None) -> None:
        # The thread object is the item's full current state, so it replaces rather than merges.
        if new_state is not None:
            thread.update({key: copy.deepcopy(new_state.get(key)) for key in THREAD_KEYS})
        thread["message_ids"].append(msg["id"])
        thread["updated_at"] = msg["created_at"]
        counter = COUNTERS.get(msg["event"])
        if counter:
            thread[counter] += 1

    def _render(self, msg: dict) -> dict:
        out = {k: copy.deepcopy(v) for k, v in msg.items() if not k.startswith("_")}
        if msg["thread_id"] is not None:
            out["thread"] = self._render_thread(self._threads[msg["thread_id"]])
        return out

    @staticmethod
    def _render_thread(thread: dict) -> dict:
        return copy.deepcopy(thread)

    def messages(self, flow: Flow) -> list[dict]:
        """Return the flow's messages, oldest first."""
        with self._lock:
            return [self._render(m) for m in self._messages if m["flow"] == flow.id]

    def threads(self, flow: Flow) -> list[dict]:
        """Return the flow's threads, most recently updated first."""
        with self._lock:
            found = [self._render_thread(t) for t in self._threads.values() if t["flow"] == flow.id]
        return sorted(found, key=lambda t: (t["updated_at"], t["message_ids"][-1:]), reverse=True)

    def thread(self, flow: Flow, thread_id: str) -> dict | None:
        """Return one thread of the flow, if it exists."""
        with self._lock:
            return self._render_thread(self._threads[thread_id]) if self.has_thread(flow, thread_id) else None

    def all_messages(self, since_id: int = 0) -> dict:
        """Return every stored message newer than since_id with its org and flow, plus the duplicate count."""
        with self._lock:
            flows = {f.id: f for f in self.flows}
            out = []
            for msg in self._messages:
                if msg["id"] <= since_id:
                    continue
                item = self._render(msg)
                item.update(
                    org=flows[msg["flow"]].org,
                    flow=flows[msg["flow"]].name,
                    flow_id=msg["flow"],
                    duplicates=msg["_duplicates"],
                    sent_thread=copy.deepcopy(msg["_sent_thread"]),
                )
                out.append(item)
            return {"messages": out, "duplicates": self.duplicates}

    # -- the other chats (chats.py) ------------------------------------------
    def next_chat_id(self, service: str) -> str | int:
        """A new message id in the chat's own form."""
        with self._lock:
            self._next_id += 1
            return CHAT_IDS[service](self._next_id)

    def arrive(self, service: str, where: str, body: dict, message_id: str | int, thread: str | None = None) -> dict:
        """Keep a request that a chat accepted; thread is the root it replies under (or a Zulip topic)."""
        with self._lock:
            arrival = {
                "id": len(self._arrivals) + 1,
                "service": service,
                "where": where,
                "message_id": message_id,
                "thread": thread,
                "json": copy.deepcopy(body),
                "updates": [],
                "at": now_ms(),
            }
            self._arrivals.append(arrival)
            return copy.deepcopy(arrival)

    def find_arrival(self, service: str, message_id: object) -> bool:
        """Tell whether the chat holds a message with this id."""
        with self._lock:
            return any(a["service"] == service and a["message_id"] == message_id for a in self._arrivals)

    def update_arrival(self, service: str, message_id: object, body: dict) -> bool:
        """Record an edit of a message (Slack chat.update, a Mattermost patch); False when there is no such message."""
        with self._lock:
            for arrival in self._arrivals:
                if arrival["service"] == service and arrival["message_id"] == message_id:
                    arrival["updates"].append(copy.deepcopy(body))
                    return True
            return False

    def arrivals(self, since_id: int = 0) -> list[dict]:
        """Every message the other chats accepted, oldest first."""
        with self._lock:
            return [copy.deepcopy(a) for a in self._arrivals if a["id"] > since_id]

    def matrix_txn(self, room: str, txn: str) -> str | None:
        """The event an earlier PUT of this transaction made, if any."""
        with self._lock:
            event_id = self._txns.get((room, txn))
            if event_id is not None:
                self.duplicates += 1
            return event_id

    def remember_matrix_txn(self, room: str, txn: str, event_id: str) -> None:
        """A transaction id names its event for good: a repeated PUT gets the same event."""
        with self._lock:
            self._txns[(room, txn)] = event_id

    # -- request log -----------------------------------------------------
    def record_request(self, entry: dict) -> dict:
        """Append a request-log entry and return it for later completion."""
        with self._lock:
            entry["seq"] = len(self._requests) + 1
            self._requests.append(entry)
            return entry

    def finish_request(self, entry: dict, **fields) -> None:
        """Fill in what became known after answering (status, message id)."""
        with self._lock:
            entry.update(fields)

    def requests(self) -> list[dict]:
        """Return the request log, oldest first."""
        with self._lock:
            return copy.deepcopy(self._requests)
