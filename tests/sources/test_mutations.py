"""No payload field, null, empty or of another type, makes a message print None, Undefined or a Python repr.

Every fixture's fields are mutated in turn and rendered through the production path (messages_for,
to a chat target and a thread target). The fields mutated are those whose every key is a name some
template or source module reads (a static scan of templates/ and bridge/sources/), so a field
no code reads is not mutated; list items after the third are skipped. Each (event, field) pair is
mutated once, in the fixture a hash of its name picks, so the whole file runs in well under a minute
while every action's fixture gets its share. Mutations: null, "", another type (a string becomes a
number and an object, a number a string, a list an object or a number, an object a list or a
number). Each message must also be one the strict devflow would accept, as Flowdock would.
Every source's fixtures are mutated: GitHub's, GitLab's, and the alert sources' (Alertmanager, Grafana, Sentry).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest

from bridge import offline_services
from bridge.config import parse_config
from bridge.devflow.validation import validate_message
from bridge.messages import messages_for
from tests.support import EVERY_SOURCE_CONFIG as CONFIG
from tests.support import EVERY_SOURCE_ROUTES as ROUTES
from tests.support import FIXTURES, fields, fixture_payload

ROOT = Path(__file__).resolve().parents[2]
SERVICES = offline_services(parse_config(CONFIG))
FORBIDDEN = re.compile(r"None|Undefined|\{'|\[\{'|<bridge\.|<built-in|<function| object at 0x")
CODE = "".join(p.read_text() for p in [*(ROOT / "templates").rglob("*.*"), *(ROOT / "bridge" / "sources").rglob("*.py")])
READ_NAMES = set(re.findall(r"\.(\w+)", CODE)) | set(re.findall(r"[\"'](\w+)[\"']", CODE))


def read_by_code(path: tuple) -> bool:
    return all(isinstance(key, int) or key in READ_NAMES for key in path)


def mutations(value) -> list:
    """null, empty, and another type."""
    others = {str: [12345, {"k": "v"}], list: [{"k": "v"}, 7], dict: [["item"], 7], bool: ["text"], int: ["text"], float: ["text"]}
    return [None, "", *others.get(type(value), ["text"])]


def chosen() -> dict[str, list[tuple[Path, tuple]]]:
    """For each event, the (fixture, field) pairs to mutate: each field once, in the fixture its hash picks."""
    picked: dict[tuple, tuple] = {}
    for fixture in sorted(p for source in ROUTES for p in (FIXTURES / source).glob("*__*.json")):
        event = f"{fixture.parent.name}/{fixture.stem.split('__')[0]}"
        for path in filter(read_by_code, fields(json.loads(fixture.read_text()))):
            key = (event, tuple(0 if isinstance(k, int) else k for k in path))
            rank = hashlib.sha256(f"{fixture.stem}{key}".encode()).hexdigest()
            if key not in picked or rank < picked[key][0]:
                picked[key] = (rank, fixture, path)
    by_event = defaultdict(list)
    for (event, _), (_, fixture, path) in sorted(picked.items(), key=str):
        by_event[event].append((fixture, path))
    return by_event


CHOSEN = chosen()


def problems(message: dict) -> list[str]:
    """What is wrong with one composed message."""
    text = json.dumps(message, ensure_ascii=False, allow_nan=False)
    found = [f"prints {m.group(0)!r}: …{text[max(0, m.start() - 50) : m.end() + 20]}…" for m in FORBIDDEN.finditer(text)][:1]
    _, refused = validate_message({**message, "flow_token": "t"} if message["event"] == "activity" else message)
    if refused:
        found.append(f"Flowdock would refuse it: {dict(refused)}")
    return found


@pytest.mark.parametrize("event", sorted(CHOSEN))
def test_no_field_of_any_event_prints_none_undefined_or_a_repr(event):
    failures = []
    source, name = event.split("/")
    for fixture, path in CHOSEN[event]:
        payload = json.loads(fixture.read_text())
        *parents, last = path
        holder = payload
        for key in parents:
            holder = holder[key]
        original = holder[last]
        for value in mutations(original):
            holder[last] = value
            where = f"{fixture.stem}: {'.'.join(map(str, path))} = {value!r}"
            try:
                _, messages, _ = messages_for(SERVICES, ROUTES[source], name, payload, "e", ["chat", "inbox"])
            except Exception as exc:  # noqa: BLE001 - any exception is the finding
                failures.append(f"{where}: {type(exc).__name__}: {exc}")
                continue
            failures += [f"{where}: {target}: {problem}" for target, message in messages.items() for problem in problems(message)]
        holder[last] = original
    assert failures == [], f"{len(failures)} mutations misbehave, e.g.:\n" + "\n".join(failures[:15])


def test_a_null_repository_name_prints_no_none_and_makes_no_none_thread():
    payload = fixture_payload("github", "push__many_commits")
    payload["repository"]["full_name"] = None
    _, messages, _ = messages_for(SERVICES, "hooks", "push", payload, "e", ["chat", "inbox"])
    assert "None" not in json.dumps(messages)
    assert messages["chat"]["content"].splitlines()[0].rstrip().endswith(" in")
    # Without a repository there is no stable thread id: the thread target gets the chat message.
    assert "external_thread_id" not in messages["inbox"]


def test_a_thread_whose_title_came_out_blank_gets_one(tmp_path):
    (tmp_path / "github").mkdir()
    (tmp_path / "github" / "issues.thread.json").write_text(
        '{"title": "opened", "author": {"name": "a"}, "thread": {"title": {{ issue.title | tojson }}, "status": {"value": "open", "color": "green"}}}'
    )
    services = offline_services(parse_config(f"templates_dir: {tmp_path}\n" + CONFIG))
    payload = fixture_payload("github", "issues__opened")
    payload["issue"]["title"] = None
    _, messages, _ = messages_for(services, "hooks", "issues", payload, "e", ["chat", "inbox"])
    assert messages["inbox"]["thread"]["title"] == "issues in Codertocat/Hello-World"
