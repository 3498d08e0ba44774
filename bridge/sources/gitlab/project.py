"""Project life beyond code: releases, milestones, wiki pages, feature flags and emoji reactions.

- release: create and delete are shown; update is on request (`release.update`). GitLab says no
  one's name in release events. Thread: gitlab:<path>:release:<tag>.
- milestone: every action (create, close, reopen) is shown; the payload names no one either.
- wiki_page: create, update and delete are shown, as GitHub's wiki pages are.
- feature_flag: turning a flag on or off is shown (it changes what users get).
- emoji: award and revoke are on request (`emoji.award`): reactions are chatter.
Release and milestone events carry their action at the top level, not in object_attributes.
"""

from __future__ import annotations

from bridge.sources.common import EventSpec, actions, dig, items, obj, text
from bridge.sources.gitlab.common import action_of, thread_of

# What an emoji was given to, by awardable_type: the payload key holding it.
AWARDABLES = {"Note": "note", "Issue": "issue", "MergeRequest": "merge_request", "Snippet": "snippet"}


def top_action(payload: dict) -> str | None:
    """The action of events that say it at the top level rather than in object_attributes."""
    return text(payload.get("action")) or None


def release_context(payload: dict) -> dict:
    """The release is the payload itself; its assets' links as a list."""
    return {"release": payload, "links": [link for link in items(dig("assets", "links")(payload)) if isinstance(link, dict)]}


def milestone_context(payload: dict) -> dict:
    """The milestone, with the link GitLab leaves out (project milestones only)."""
    milestone, web_url = obj(payload, "object_attributes"), text(obj(payload, "project").get("web_url"))
    iid = milestone.get("iid")
    return {"milestone": milestone, "url": f"{web_url}/-/milestones/{iid}" if web_url and isinstance(iid, int) else ""}


def emoji_action(payload: dict) -> str | None:
    """award or revoke: GitLab's documentation puts it in object_attributes.action, gitlab.com sends it as event_type."""
    return action_of(payload) or text(payload.get("event_type")) or None


def emoji_context(payload: dict) -> dict:
    """The reaction and what it was given to: a comment (with the item it is on), an issue, a merge request or a snippet."""
    award = obj(payload, "object_attributes")
    key = AWARDABLES.get(text(award.get("awardable_type")), "")
    note = obj(payload, "note")
    on = text(note.get("noteable_type")) if key == "note" else text(award.get("awardable_type"))
    # gitlab.com names a project's snippet project_snippet.
    item = next((obj(payload, k) for k in ("issue", "merge_request", "snippet", "project_snippet") if obj(payload, k)), {})
    target = (obj(payload, key) or (item if key == "snippet" else {})) if key else {}
    # A comment on a design names the design only by its image's path.
    design = text(dig("position", "new_path")(note)).rpartition("/")[2]
    return {"award": award, "target": target, "kind": key, "on": on, "item": item, "commit_id": text(note.get("commit_id")), "design": design}


EVENTS = {
    "release": EventSpec(
        shown=actions("create", "delete"),
        hidden=actions("update"),
        thread=thread_of("release", dig("tag")),
        context=release_context,
        action=top_action,
    ),
    "milestone": EventSpec(context=milestone_context, action=top_action),
    "wiki_page": EventSpec(shown=actions("create", "update", "delete"), context=lambda payload: {"page": obj(payload, "object_attributes")}),
    "feature_flag": EventSpec(context=lambda payload: {"flag": obj(payload, "object_attributes")}),
    "emoji": EventSpec(shown=actions(), hidden=actions("award", "revoke"), context=emoji_context, action=emoji_action),
}
