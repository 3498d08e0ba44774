"""The operations console: a public landing page at /, and pages under /console/ behind the admin token."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, Flask, current_app, render_template, request

import bridge
from bridge import liveness
from bridge.devflow.safehtml import body_html, inline_html

bp = Blueprint("console", __name__, template_folder="templates", static_folder="static", static_url_path="/console/static")
# The stylesheet's URL names its content, so browsers may keep it a day without asking again, and see a new one at once.
STYLE_VERSION = hashlib.sha256((Path(__file__).parent / "static" / "console.css").read_bytes()).hexdigest()[:12]
STATIC_MAX_AGE = 86400
# A thread's title, fields and body are HTML in Flowdock: shown with devflow's allow-list, as a flow would show them.
bp.add_app_template_filter(inline_html, "inline_html")
bp.add_app_template_filter(body_html, "body_html")


def install(app: Flask) -> None:
    """Register the console and its session settings on the web app."""
    from bridge.console import auth, pages  # noqa: F401  (their routes join bp)

    auth.configure_session(app, app.extensions["hookdock"].config.admin_token)
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = STATIC_MAX_AGE  # only the console sends files
    app.jinja_env.globals["style_version"] = STYLE_VERSION
    app.register_blueprint(bp)


# No script at all, nothing from elsewhere, and no framing: a page of another site (or another port of this host, which
# SameSite counts as the same site) cannot overlay a replay's confirm button, and markup that slipped past escaping runs nothing.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@bp.after_request
def protect(response):
    """Every console page and the landing page: the security headers; signed-in pages are not kept by any cache."""
    response.headers.update(SECURITY_HEADERS)
    if request.endpoint != "console.static":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_template_filter("moment")
def moment(value: float | None) -> str:
    """A Unix time as operators read it in every page: UTC, to the second."""
    if value is None:
        return ""
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@bp.app_template_filter("pretty_json")
def pretty_json(value) -> str:
    """A message body or request as indented JSON, letters as they are (autoescaping makes it safe)."""
    return json.dumps(value, indent=2, ensure_ascii=False)


@bp.app_template_filter("ago")
def ago(value: float | None) -> str:
    """How long ago a Unix time was, roughly."""
    if value is None:
        return ""
    seconds = max(0, time.time() - value)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{int(seconds)}s ago"


def health() -> dict:
    """Whether Redis answers and how many workers have a live heartbeat; never raises."""
    store = current_app.extensions["hookdock"].store
    try:
        store.ping()
        return {"redis": True, "workers": len(liveness.living(store.redis))}
    except Exception:  # Redis away: the landing page still answers, and says so
        return {"redis": False, "workers": None}


@bp.get("/")
def landing():
    """What hookdock is, its version, its health, and each route's webhook URL, source and targets (never a secret)."""
    config = current_app.extensions["hookdock"].config
    base = request.host_url.rstrip("/")
    # Quoted: a route named "ci #2" is reached at /hooks/ci%20%232; unquoted, the # would end the path.
    routes = [
        {"name": name, "url": f"{base}/hooks/{quote(name, safe='')}", "source": route.source, "targets": route.targets} for name, route in config.routes.items()
    ]
    return render_template("console/landing.html", version=bridge.__version__, health=health(), routes=routes, console_on=config.admin_token is not None)
