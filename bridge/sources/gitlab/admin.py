"""Members, groups and the instance: group hooks' member, project and subgroup events, and system hooks.

These payloads have no object_kind: each is named by its event_name, and none carries a link.
Shown by default, as GitHub's member events are: members added to, changed in or removed from a
group (user_*_group) or a project (user_*_team), access requests (someone waits for an answer),
projects created or deleted, subgroups created or removed.
On request (a route's `events` names them): answered or withdrawn access requests; and the
instance-wide administration only system hooks send: project renames, transfers and updates;
groups created, removed or renamed; users created, removed, renamed or refused at sign-in (a
blocked user); SSH keys added or removed; repository_update (a system hook's summary of a push,
on by default in GitLab, where push events are off); subscription role-promotion approvals.
System hooks' push, tag_push and merge_request events are named like the project hooks' ones and
render the same way (see code.py and the merge request module).
E-mail addresses in these payloads are never shown.
"""

from __future__ import annotations

from collections.abc import Callable

from bridge.sources.common import EventSpec, actions, items, obj, split_ref, text
from bridge.sources.gitlab.project import top_action

Context = Callable[[dict], dict]
# GitLab's access levels, for the subscription approval events that give numbers.
ACCESS_LEVELS = {0: "No access", 5: "Minimal access", 10: "Guest", 15: "Planner", 20: "Reporter", 30: "Developer", 40: "Maintainer", 50: "Owner"}


def member(payload: dict) -> dict:
    """Who the membership is about, where, and with which role until when."""
    group = text(payload.get("group_name")) or text(payload.get("group_path"))
    project = text(payload.get("project_path_with_namespace")) or text(payload.get("project_name"))
    return {
        "who": text(payload.get("user_username")) or text(payload.get("user_name")),
        "name": text(payload.get("user_name")) if payload.get("user_name") != payload.get("user_username") else "",
        # The template names the place ("group x" or "project y"; admin.place): a group's member events carry no project.
        "member_group": group,
        "member_project": "" if group else project,
        "role": text(payload.get("group_access")) or text(payload.get("access_level")),
        "until": text(payload.get("expires_at"))[:10],
    }


def owners(payload: dict) -> dict:
    """A project's owners by name (system hooks also send owner_name)."""
    names = [text(o.get("name")) for o in items(payload.get("owners")) if isinstance(o, dict) and text(o.get("name"))]
    return {"owners": names or [name for name in [text(payload.get("owner_name"))] if name]}


def key(payload: dict) -> dict:
    """An SSH key told by its type and comment, never its body."""
    parts = text(payload.get("key")).split()
    return {"key_type": parts[0] if parts else "", "key_comment": " ".join(parts[2:])}


def pushed(payload: dict) -> dict:
    """repository_update: each ref that moved, as kind, name, before and after."""
    changes = [c for c in items(payload.get("changes")) if isinstance(c, dict)]
    return {
        "changes": [
            dict(zip(("kind", "name"), split_ref(c.get("ref")), strict=True), before=text(c.get("before")), after=text(c.get("after"))) for c in changes
        ]
    }


def promotion(payload: dict) -> dict:
    """The roles of a role promotion waiting for an administrator, by name."""
    attributes = obj(payload, "object_attributes")
    old, new = attributes.get("old_access_level"), attributes.get("new_access_level")
    return {"old_role": ACCESS_LEVELS.get(old, "") if isinstance(old, int) else "", "new_role": ACCESS_LEVELS.get(new, "") if isinstance(new, int) else ""}


def nothing(payload: dict) -> dict:
    """No variables beyond the payload's."""
    return {}


def shown(context: Context = nothing) -> EventSpec:
    """An event without actions that chat hears by default."""
    return EventSpec(context=context)


def on_request(context: Context = nothing) -> EventSpec:
    """An event without actions that chat hears only when a route's `events` names it."""
    return EventSpec(shown=actions(), hidden=actions(""), context=context)


MEMBERS = {
    **{name: shown(member) for name in ("user_add_to_group", "user_update_for_group", "user_remove_from_group", "user_access_request_to_group")},
    **{name: shown(member) for name in ("user_add_to_team", "user_update_for_team", "user_remove_from_team", "user_access_request_to_project")},
    **{
        name: on_request(member)
        for name in ("user_access_request_denied_for_group", "user_access_request_revoked_for_group", "user_access_request_revoked_for_project")
    },
}
STRUCTURE = {
    "project_create": shown(owners),
    "project_destroy": shown(owners),
    "subgroup_create": shown(),
    "subgroup_destroy": shown(),
    **{name: on_request(owners) for name in ("project_rename", "project_transfer", "project_update")},
    **{name: on_request() for name in ("group_create", "group_destroy", "group_rename")},
}
INSTANCE = {
    **{name: on_request() for name in ("user_create", "user_destroy", "user_rename", "user_failed_login")},
    "key_create": on_request(key),
    "key_destroy": on_request(key),
    "repository_update": on_request(pushed),
    "gitlab_subscription_member_approval": EventSpec(shown=actions(), hidden=actions("enqueue"), context=promotion, action=top_action),
    "gitlab_subscription_member_approvals": EventSpec(shown=actions(), hidden=actions("approve", "deny"), action=top_action),
}
EVENTS = {**MEMBERS, **STRUCTURE, **INSTANCE}
