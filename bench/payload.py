"""A realistic ~7 KB GitHub push payload, its HMAC signature, and the bench's shared secret."""

from __future__ import annotations

import hashlib
import hmac
import json

SECRET = "bench-secret: it's a secret to everybody"
ROUTE = "bench"
REPO = "acme/widgets"
# GitHub sends ~40 API URLs per repository object; they make up most of a push's bytes.
REPO_URLS = (
    "forks keys{/key_id} collaborators{/collaborator} teams hooks issues/events{/number} events "
    "assignees{/user} branches{/branch} tags git/blobs{/sha} git/tags{/sha} git/refs{/sha} "
    "git/trees{/sha} statuses/{sha} languages stargazers contributors subscribers subscription "
    "commits{/sha} git/commits{/sha} comments{/number} issues/comments{/number} contents/{+path} "
    "compare/{base}...{head} merges archive/{archive_format}{/ref} downloads issues{/number} "
    "pulls{/number} milestones{/number} notifications{?since,all,participating} labels{/name} "
    "releases{/id} deployments"
).split()


def _user(login: str, uid: int) -> dict:
    base = f"https://api.github.com/users/{login}"
    return {
        "login": login,
        "id": uid,
        "node_id": f"MDQ6VXNlcj{uid}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
        "url": base,
        "html_url": f"https://github.com/{login}",
        "repos_url": f"{base}/repos",
        "events_url": base + "/events{/privacy}",
        "type": "User",
        "site_admin": False,
    }


def _commit(n: int, marker: str) -> dict:
    sha = hashlib.sha1(f"{marker}{n}".encode()).hexdigest()
    return {
        "id": sha,
        "tree_id": hashlib.sha1(sha.encode()).hexdigest(),
        "distinct": True,
        "message": f"{marker} change {n}: tidy the widget pipeline\n\nSplit the parser and add tests.",
        "timestamp": f"2024-05-02T10:1{n}:00+02:00",
        "url": f"https://github.com/{REPO}/commit/{sha}",
        "author": {"name": "The Octocat", "email": "octocat@example.com", "username": "octocat"},
        "committer": {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"},
        "added": [f"widgets/new_{n}.py"],
        "removed": [],
        "modified": [f"widgets/parser_{n}.py", "widgets/__init__.py", f"tests/test_parser_{n}.py"],
    }


def push_payload(marker: str = "bench") -> dict:
    """A push of four commits to main, shaped like GitHub's (repository, pusher, sender, commits)."""
    api = f"https://api.github.com/repos/{REPO}"
    repository = {
        "id": 186853002,
        "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=",
        "name": "widgets",
        "full_name": REPO,
        "private": False,
        "owner": _user("acme", 21031067),
        "html_url": f"https://github.com/{REPO}",
        "description": "Widgets, made to order",
        "fork": False,
        "url": f"https://github.com/{REPO}",
        **{u.split("{")[0].strip("/").replace("/", "_") + "_url": f"{api}/{u}" for u in REPO_URLS},
        "created_at": 1557933565,
        "updated_at": "2024-05-01T10:00:00Z",
        "pushed_at": 1714637400,
        "homepage": None,
        "size": 412,
        "stargazers_count": 12,
        "watchers_count": 12,
        "language": "Python",
        "forks_count": 3,
        "open_issues_count": 5,
        "default_branch": "main",
        "master_branch": "main",
    }
    commits = [_commit(n, marker) for n in range(4)]
    return {
        "ref": "refs/heads/main",
        "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        "after": commits[-1]["id"],
        "repository": repository,
        "pusher": {"name": "octocat", "email": "octocat@example.com"},
        "sender": _user("octocat", 583231),
        "created": False,
        "deleted": False,
        "forced": False,
        "base_ref": None,
        "compare": f"https://github.com/{REPO}/compare/6113728f27ae...{commits[-1]['id'][:12]}",
        "commits": commits,
        "head_commit": commits[-1],
    }


def push_body(marker: str = "bench") -> bytes:
    """The payload as GitHub sends it: compact JSON bytes."""
    return json.dumps(push_payload(marker), separators=(",", ":")).encode()


def sign(body: bytes, secret: str = SECRET) -> str:
    """The X-Hub-Signature-256 header GitHub would send."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
