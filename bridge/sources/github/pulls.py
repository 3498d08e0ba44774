"""Pull requests, their reviews, review comments and review threads.

Shown by default: pull requests opened, reopened, closed or merged, marked ready for review,
converted to a draft, and reviews requested (someone is asked to act); reviews submitted
(approved, changes requested, commented with text); review comments created.
Hidden (a route names them, e.g. "pull_request.labeled"): pull requests renamed (edited with a
title change), assigned, labeled, synchronized (new commits), auto-merge enabled or disabled;
reviews dismissed; review threads resolved or unresolved.
Ignored: every other action (unassigned, unlabeled, locked, review requests removed, edits of
reviews and comments, deletions, merge-queue moves), edits that leave the title alone, and the
empty "commented" review GitHub sends alongside each batch of review comments.
Every event about a pull request goes to its thread, github:<owner>/<repo>:pull:<number>.
"""

from __future__ import annotations

from bridge.sources.common import EventSpec, actions, dig, items, obj, text, text_at
from bridge.sources.github.common import thread_of, title_unchanged

PULL_THREAD = thread_of("pull", dig("pull_request", "number"))
BASE_BRANCH = text_at("pull_request", "base", "ref")


def with_merged(pr: dict) -> dict:
    """The pull request with `merged` set: review payloads carry only merged_at."""
    return {**pr, "merged": bool(pr.get("merged") or pr.get("merged_at"))}


def pull_request_context(payload: dict) -> dict:
    """The pull request, and its state with "merged" told apart from "closed"."""
    pr = obj(payload, "pull_request")
    merged = payload.get("action") == "closed" and bool(pr.get("merged"))
    return {"pull_request": pr, "merged": merged, "state": "merged" if merged else payload.get("action")}


def review_context(payload: dict) -> dict:
    """The pull request (merged told apart), the review, and its verdict in lower case."""
    review = obj(payload, "review")
    return {"pull_request": with_merged(obj(payload, "pull_request")), "review": review, "verdict": text(review.get("state")).lower()}


def review_comment_context(payload: dict) -> dict:
    """The pull request (merged told apart) and the comment."""
    return {"pull_request": with_merged(obj(payload, "pull_request")), "comment": obj(payload, "comment")}


def review_thread_context(payload: dict) -> dict:
    """The pull request (merged told apart), the review thread and its first comment."""
    thread = obj(payload, "thread")
    return {
        "pull_request": with_merged(obj(payload, "pull_request")),
        "review_thread": thread,
        "comment": next((c for c in items(thread.get("comments")) if isinstance(c, dict)), {}),
    }


def empty_review(payload: dict) -> str | None:
    """GitHub wraps every batch of review comments in a "commented" review with no text; the comments are shown."""
    review = obj(payload, "review")
    wrapper = payload.get("action") == "submitted" and text(review.get("state")).lower() == "commented"
    if wrapper and not text(review.get("body")).strip():
        return "a commented review with no text only wraps review comments, which are shown on their own"
    return None


EVENTS = {
    "pull_request": EventSpec(
        shown=actions("opened", "reopened", "closed", "ready_for_review", "converted_to_draft", "review_requested"),
        hidden=actions("edited", "assigned", "labeled", "synchronize", "auto_merge_enabled", "auto_merge_disabled"),
        thread=PULL_THREAD,
        context=pull_request_context,
        skip=title_unchanged("pull_request"),
        branch=BASE_BRANCH,
    ),
    "pull_request_review": EventSpec(
        shown=actions("submitted"), hidden=actions("dismissed"), thread=PULL_THREAD, context=review_context, skip=empty_review, branch=BASE_BRANCH
    ),
    "pull_request_review_comment": EventSpec(shown=actions("created"), thread=PULL_THREAD, context=review_comment_context, branch=BASE_BRANCH),
    "pull_request_review_thread": EventSpec(
        shown=frozenset(), hidden=actions("resolved", "unresolved"), thread=PULL_THREAD, context=review_thread_context, branch=BASE_BRANCH
    ),
}
