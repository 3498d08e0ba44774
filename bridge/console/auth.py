"""Signing in to the console with the admin token: a signed session cookie, sign-out, and a CSRF token on every POST."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import Flask, current_app, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from pydantic import SecretStr

from bridge.config import RateLimit
from bridge.console import bp

# Pages a visitor reaches without being signed in (the landing page is outside /console/ altogether).
OPEN_ENDPOINTS = frozenset({"console.landing", "console.sign_in", "console.static"})
SESSION_HOURS = 12
# Sign-in tries, from anyone: ten at once, then one a second, so guessing the token is hopeless (the targets' pacing limiter;
# the colon keeps the bucket apart from any target's).
SIGN_INS = RateLimit(per_second=1, burst=10)
SIGN_IN_BUCKET = ":console-sign-in"


def session_key(admin_token: SecretStr) -> bytes:
    """The session's signing key, derived from the admin token: a new token signs everyone out, and no default key exists."""
    return hmac.new(admin_token.get_secret_value().encode(), b"hookdock console session v1", hashlib.sha256).digest()


class SessionOverTLS(SecureCookieSessionInterface):
    """Flask's signed cookie session, marked Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        # Plain http://127.0.0.1 must keep working, so Secure follows the request's scheme
        # (gunicorn takes it from X-Forwarded-Proto when a proxy on this host terminates TLS).
        return bool(super().get_cookie_secure(app)) or request.is_secure


def configure_session(app: Flask, admin_token: SecretStr | None) -> None:
    """Signed, HttpOnly, SameSite=Lax cookie limited to /console; no key at all while the console is off."""
    app.secret_key = session_key(admin_token) if admin_token is not None else None
    app.session_interface = SessionOverTLS()
    app.config.update(
        SESSION_COOKIE_NAME="hookdock_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/console",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
    )


def csrf_token() -> str:
    """This session's CSRF token, made on first use; every console form carries it."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


bp.add_app_template_global(csrf_token, "csrf_token")


def csrf_matches(given: str, expected: str) -> bool:
    """The form's token is this session's; a session that has none yet (a fresh sign-in, no cookie at all) matches nothing."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


@bp.before_request
def guard():
    """Off without an admin token; every POST carries the session's CSRF token; every page but sign-in needs a signed-in session."""
    if request.endpoint in ("console.landing", "console.static"):
        return None
    if current_app.extensions["hookdock"].config.admin_token is None:
        return render_template("console/off.html"), 404
    if request.method == "POST" and not csrf_matches(request.form.get("csrf", ""), session.get("csrf", "")):
        return render_template(
            "console/refused.html", why="This form has expired or did not come from this console. Go back, reload the page and try again."
        ), 400
    if request.endpoint not in OPEN_ENDPOINTS and not session.get("signed_in"):
        return redirect(url_for("console.sign_in", next=request.full_path if request.method == "GET" else None))
    return None


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a console page of this site, never another host."""
    if target and target.startswith("/console/") and not target.startswith("//"):
        return target
    return url_for("console.events")


@bp.route("/console/sign-in", methods=["GET", "POST"])
def sign_in():
    """The sign-in form; the token travels only in the POST body, never in a URL."""
    if request.method == "GET":
        return render_template("console/sign_in.html", next=safe_next(request.args.get("next")))
    services = current_app.extensions["hookdock"]
    # Every try takes a slot first, so a guesser that is held back learns nothing, not even a right guess.
    wait = services.limiter.reserve(SIGN_IN_BUCKET, SIGN_INS, 0)
    if wait:
        return render_template("console/sign_in.html", next=safe_next(request.form.get("next")), wait=wait), 429
    if not hmac.compare_digest(request.form.get("token", "").encode(), services.config.admin_token.get_secret_value().encode()):
        return render_template("console/sign_in.html", next=safe_next(request.form.get("next")), wrong=True), 401
    session.clear()  # a fresh session (and CSRF token) on every sign-in
    session.permanent = True
    session["signed_in"] = True
    return redirect(safe_next(request.form.get("next")))


@bp.post("/console/sign-out")
def sign_out():
    """Forget the session."""
    session.clear()
    return redirect(url_for("console.sign_in"))
