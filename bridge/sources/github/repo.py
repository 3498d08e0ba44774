"""Repository and hook events: ping, forks, stars, collaborators, visibility, settings, wiki pages, packages.

Shown by default: ping; forks; collaborators added, removed or given other permissions (member);
a repository made public (public); repositories created, deleted, archived, unarchived,
made private, renamed and transferred; wiki pages created or edited (gollum); packages published.
Hidden (a route names them, e.g. "star.created"): stars; repository settings edited; repositories
publicized, because the public event says the same (GitHub sends both).
Hidden too: watch (GitHub sends watch "started" for every star, under its old name).
Ignored: stars removed; packages updated.
Threads: none; these arrive as chat messages on every target.
"""

from __future__ import annotations

from bridge.sources.common import EventSpec, actions, item, items

EVENTS = {
    "ping": EventSpec(),
    "fork": EventSpec(context=item("forkee")),
    "star": EventSpec(shown=actions(), hidden=actions("created")),
    # GitHub's watch "started" is a star under its old name; hidden like star.created.
    "watch": EventSpec(shown=actions(), hidden=actions("started")),
    "member": EventSpec(shown=actions("added", "removed", "edited"), context=item("member")),
    "public": EventSpec(),
    "repository": EventSpec(
        shown=actions("created", "deleted", "archived", "unarchived", "privatized", "renamed", "transferred"), hidden=actions("publicized", "edited")
    ),
    "gollum": EventSpec(context=lambda payload: {"pages": items(payload.get("pages"))}),
    "package": EventSpec(shown=actions("published"), context=item("package")),
}
