"""What every GitLab event family shares: the project, the acting user, thread ids and the action."""

from __future__ import annotations

import re
from collections.abc import Callable

from bridge.sources.common import Getter, dig, id_part, items, obj, text

# GitLab's visibility_level for public projects (0 private, 10 internal, 20 public).
PUBLIC_LEVEL = 20
ZERO_SHA = "0" * 40
PROJECT_PAGE = re.compile(r"https?://[^/?#]+/(?P<path>[^?#]+?)/-/")


def project_of(payload: dict) -> dict:
    """The event's project: `project` in project and group hooks; system hooks name it at the top level."""
    return obj(payload, "project")


def project_path(payload: dict) -> str:
    """namespace/project of the event (path_with_namespace), or '' for events about no project.

    System hooks' project member events name it project_path_with_namespace; vulnerability events
    carry no project at all, only the vulnerability's URL, https://<host>/<path>/-/security/...
    """
    found = text(project_of(payload).get("path_with_namespace")) or text(payload.get("path_with_namespace"))
    return found or text(payload.get("project_path_with_namespace")) or path_in_url(dig("object_attributes", "url")(payload))


def path_in_url(url: object) -> str:
    """The project path of a project page's URL (the part before /-/), or '' for any other URL, groups' included."""
    found = PROJECT_PAGE.match(text(url))
    return found["path"] if found and not found["path"].startswith("groups/") else ""


def is_public(payload: dict) -> bool:
    """True only when the payload says the project is public; a project whose visibility is not told counts as private."""
    project = project_of(payload)
    level, name = project.get("visibility_level"), project.get("visibility") or payload.get("project_visibility")
    return (level == PUBLIC_LEVEL and not isinstance(level, bool)) or name == "public"


def user_of(payload: dict) -> dict:
    """Who acted: `user` in most hooks; push and tag push hooks spread it over user_* fields."""
    user = obj(payload, "user")
    if user:
        return user
    flat = {"username": payload.get("user_username"), "name": payload.get("user_name"), "avatar_url": payload.get("user_avatar")}
    return {key: value for key, value in flat.items() if isinstance(value, str) and value}


def action_of(payload: dict) -> str | None:
    """What happened, where GitLab says it for merge requests, issues, notes and work items: object_attributes.action."""
    return text(dig("object_attributes", "action")(payload)) or None


def label_titles(payload: dict) -> list[str] | None:
    """The titles of the item's labels (a comment's: its merge request's or issue's), or None for events about nothing labelled."""
    for labels in (
        payload.get("labels"),
        dig("object_attributes", "labels")(payload),
        dig("merge_request", "labels")(payload),
        dig("issue", "labels")(payload),
    ):
        if isinstance(labels, list):
            return [text(label.get("title")) for label in labels if isinstance(label, dict) and text(label.get("title"))]
    return None


def thread_of(kind: str, key: Getter) -> Callable[[dict], str | None]:
    """A stable external_thread_id: gitlab:<namespace>/<project>:<kind>:<key>, or None without a project or a key."""

    def thread(payload: dict) -> str | None:
        path, value = id_part(project_path(payload)), id_part(key(payload))
        return f"gitlab:{path}:{kind}:{value}" if path and value else None

    return thread


def is_zero(sha: object) -> bool:
    """GitLab's before/after of a created or deleted ref: forty zeros."""
    return text(sha) == ZERO_SHA


def names(people: object, key: str = "username") -> list[str]:
    """The usernames (or another key) of a list of users, leaving out entries without one."""
    return [text(person.get(key)) for person in items(people) if isinstance(person, dict) and text(person.get(key))]


def with_url(item: dict, payload: dict, kind: str) -> dict:
    """The item with its web page in url: notes carry their merge request or issue without one."""
    if text(item.get("url")):
        return item
    web_url, iid = text(project_of(payload).get("web_url")), id_part(item.get("iid"))
    return {**item, "url": f"{web_url}/-/{kind}/{iid}"} if web_url and iid else item


def changed(payload: dict, key: str) -> dict:
    """changes.<key> as {previous, current}, or {} when the event did not change it."""
    change = obj(payload, "changes", key)
    return change if "current" in change else {}


def people(payload: dict, item: dict | None = None) -> dict:
    """Usernames for thread fields: the item's author when the payload names them, assignees and reviewers."""
    return {"author": author_of(item or {}, payload), "assignees": names(payload.get("assignees")), "reviewers": names(payload.get("reviewers"))}


def author_of(item: dict, payload: dict) -> str:
    """The item's author: whoever opened it, or later the user whose id is its author_id (GitLab sends only the id).

    The author is known when the actor, an assignee or a reviewer has that id; otherwise "" and the field is left out.
    """
    if item.get("action") == "open":
        return text(obj(payload, "user").get("username"))
    author = id_part(item.get("author_id"))
    users = [obj(payload, "user"), *items(payload.get("assignees")), *items(payload.get("reviewers"))]
    return next((text(user.get("username")) for user in users if isinstance(user, dict) and author and id_part(user.get("id")) == author), "")


def label_change(payload: dict) -> dict:
    """The label titles before and after an update (changes.labels), for "changed the labels" messages."""
    change = changed(payload, "labels")
    titles = {
        side: [text(label.get("title")) for label in items(change.get(side)) if isinstance(label, dict) and text(label.get("title"))]
        for side in ("previous", "current")
    }
    return {"labels_before": titles["previous"], "labels_after": titles["current"]}
