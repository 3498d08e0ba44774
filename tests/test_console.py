"""The console through Flask's test client: landing page, sign-in, CSRF, the pages and their filters."""

from __future__ import annotations

import re

import pytest

from bridge import create_app, logsafe
from bridge.config import parse_config
from bridge.store import Delivery, Event

CONFIG = """\
api_url: http://127.0.0.1:9
admin_token: admin-secret
targets:
  team-chat: {org: acme, flow: main, token: chat-token}
routes:
  widgets: {source: github, secret: hook-secret, targets: [team-chat]}
  gadgets: {source: github, secret: hook-secret, targets: [team-chat]}
"""
PUSH = b'{"ref":"refs/heads/main","repository":{"full_name":"acme/widgets"},"note":"chat-token"}'


def stored(app, event_id, route, name, status, reason="", at=1000.0, delivery=None):
    store = app.extensions["hookdock"].store
    headers = {"Content-Type": "application/json", "X-GitHub-Event": name, "X-Hub-Signature-256": "sha256=abc", "User-Agent": "GitHub-Hookshot/1"}
    store.save_event(Event(event_id, route, "github", name, f"d-{event_id}", headers, PUSH, at))
    store.mark_event(event_id, status, reason)  # as the worker records what became of it
    if delivery:
        store.save_delivery(Delivery(f"{event_id}.team-chat", event_id, route, "team-chat", {"event": "message", "content": "hello"}, **delivery))


@pytest.fixture
def app(redis_url, monkeypatch):
    # Only this configuration's secrets: other tests' (such as a secret "s") would hide letters of every page.
    monkeypatch.setattr(logsafe, "SECRETS", set())
    app = create_app(parse_config(CONFIG), redis_url)
    # Times within the retention window: indexes drop what is older than now minus 7 days.
    import time

    now = time.time()
    stored(
        app,
        "e1",
        "widgets",
        "push",
        "processed",
        at=now - 30,
        delivery={"status": "delivered", "attempts": [{"at": now, "status": 200, "duration_ms": 5.0, "error": ""}]},
    )
    stored(app, "e2", "widgets", "ping", "ignored", "routes.widgets.events: ping matches none of push", at=now - 20)
    stored(
        app,
        "e3",
        "gadgets",
        "push",
        "processed",
        at=now - 10,
        delivery={
            "status": "failed",
            "last_error": "team-chat: HTTP 400 is permanent",
            "attempts": [
                {"at": now, "status": 503, "duration_ms": 7.5, "error": "busy", "retry_after": 3.0},
                {"at": now, "status": 400, "duration_ms": 4.0, "error": "bad"},
            ],
        },
    )
    return app


def signed_in(app):
    client = app.test_client()
    page = client.get("/console/sign-in").get_data(as_text=True)
    answer = client.post("/console/sign-in", data={"token": "admin-secret", "csrf": csrf(page), "next": "/console/health"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/console/health"
    return client


def csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_landing_page_shows_routes_health_and_version_but_no_secret(app):
    page = app.test_client().get("/").get_data(as_text=True)
    assert "http://localhost/hooks/widgets" in page and "team-chat" in page and "0.13.0" in page
    assert 'Redis: <span class="badge delivered">answers' in page and "Sign in to the console" in page
    assert not {"admin-secret", "chat-token", "hook-secret"} & set(re.findall(r"[\w-]+", page))


def test_landing_page_webhook_urls_work_as_shown_whatever_the_route_is_called(redis_url):
    app = create_app(parse_config(CONFIG.replace("  gadgets:", '  "ci #2?":')), redis_url)
    client = app.test_client()
    url = re.search(r"<code>http://localhost(/hooks/ci[^<]*)</code>", client.get("/").get_data(as_text=True)).group(1)
    assert url == "/hooks/ci%20%232%3F"
    assert client.post(url, data=b"{}", headers={"X-GitHub-Event": "ping"}).status_code == 401  # the route's own answer: unsigned


def test_without_an_admin_token_the_console_says_how_to_turn_it_on(redis_url):
    app = create_app(parse_config(CONFIG.replace("admin_token: admin-secret\n", "")), redis_url)
    client = app.test_client()
    for path in ("/console/events", "/console/sign-in", "/console/events/e1", "/console/health"):
        answer = client.get(path)
        assert answer.status_code == 404 and "admin_token" in answer.get_data(as_text=True), path
    assert client.post("/console/sign-in", data={"token": "x"}).status_code == 404
    assert "The console is off" in client.get("/").get_data(as_text=True)


def test_pages_need_sign_in_and_the_cookie_is_httponly_and_samesite(app):
    client = app.test_client()
    answer = client.get("/console/events?route=widgets")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/console/sign-in?next=")
    page = client.get("/console/sign-in").get_data(as_text=True)
    wrong = client.post("/console/sign-in", data={"token": "nope", "csrf": csrf(page)})
    assert wrong.status_code == 401 and "not the admin token" in wrong.get_data(as_text=True)
    right = client.post("/console/sign-in", data={"token": "admin-secret", "csrf": csrf(page), "next": "//evil.example/x"})
    assert right.headers["Location"] == "/console/events"
    cookie = right.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console" in cookie and "admin-secret" not in cookie
    assert "Secure" not in cookie  # plain http://127.0.0.1 keeps working
    assert client.get("/console/events").status_code == 200


def test_over_https_the_cookie_is_marked_secure(app):
    client = app.test_client()
    page = client.get("/console/sign-in", base_url="https://hookdock.example").get_data(as_text=True)
    right = client.post("/console/sign-in", data={"token": "admin-secret", "csrf": csrf(page)}, base_url="https://hookdock.example")
    assert right.status_code == 302 and "Secure" in right.headers["Set-Cookie"]


@pytest.mark.parametrize("path", ["/console/sign-out", "/console/replay/e3", "/console/preview", "/console/sign-in"])
def test_every_post_needs_the_csrf_token(app, path):
    client = signed_in(app)
    answer = client.post(path, data={"csrf": "forged", "token": "admin-secret"})
    assert answer.status_code == 400 and "did not come from this console" in answer.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/console/replay/e3", "/console/replay-failed", "/console/sign-in"])
def test_a_session_without_a_csrf_token_cannot_post(app, path):
    # Signing in starts a fresh session whose CSRF token is made only when a page shows a form; until then no POST passes,
    # and neither does one from a visitor with no cookie at all.
    client = signed_in(app)
    for who in (client, app.test_client()):
        answer = who.post(path, data={"csrf": "", "token": "admin-secret", "since": "1h"})
        assert answer.status_code == 400 and "did not come from this console" in answer.get_data(as_text=True), path


def test_pages_cannot_be_framed_run_no_script_and_are_not_cached(app):
    client = signed_in(app)
    for path in ("/", "/console/sign-in", "/console/events", "/console/events/e3", "/console/replay/e3", "/console/health"):
        headers = client.get(path).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"] and headers["X-Frame-Options"] == "DENY", path
        assert "script-src" not in headers["Content-Security-Policy"] and "default-src 'none'" in headers["Content-Security-Policy"], path
        assert headers["Cache-Control"] == "no-store", path


def test_sign_out_ends_the_session(app):
    client = signed_in(app)
    page = client.get("/console/events").get_data(as_text=True)
    assert client.post("/console/sign-out", data={"csrf": csrf(page)}).status_code == 302
    assert client.get("/console/events").status_code == 302


def test_a_new_admin_token_signs_everyone_out(app, redis_url):
    client = signed_in(app)
    other = create_app(parse_config(CONFIG.replace("admin-secret", "another-secret")), redis_url)
    cookie = client.get_cookie("hookdock_console", path="/console")
    fresh = other.test_client()
    fresh.set_cookie("hookdock_console", cookie.value, path="/console")
    assert fresh.get("/console/events").status_code == 302


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["e3", "e2", "e1"]),
        ("?route=widgets", ["e2", "e1"]),
        ("?event=push", ["e3", "e1"]),
        ("?outcome=failed", ["e3"]),
        ("?outcome=ignored", ["e2"]),
        ("?outcome=delivered", ["e1"]),
        ("?outcome=queued", []),
        ("?source=github&until=15s", ["e2", "e1"]),
        ("?since=15s", ["e3"]),
    ],
)
def test_event_list_filters(app, query, expected):
    page = signed_in(app).get("/console/events" + query).get_data(as_text=True)
    assert re.findall(r'href="/console/events/(\w+)"', page) == expected


def test_event_list_rows_say_what_happened(app):
    page = signed_in(app).get("/console/events").get_data(as_text=True)
    assert "dead letter for team-chat: HTTP 400 is permanent" in page
    assert "ignored: routes.widgets.events: ping matches none of push" in page and "delivered to team-chat" in page


def test_event_list_pages_newest_first(app, monkeypatch):
    monkeypatch.setattr("bridge.console.pages.PAGE_SIZE", 2)
    client = signed_in(app)
    first = client.get("/console/events").get_data(as_text=True)
    assert re.findall(r'href="/console/events/(\w+)"', first) == ["e3", "e2"]
    older = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert re.findall(r'href="/console/events/(\w+)"', client.get(older).get_data(as_text=True)) == ["e1"]


@pytest.mark.parametrize("before", ["nan", "inf", "-inf"])
def test_a_page_mark_that_is_not_a_time_is_a_clear_400(app, before):
    answer = signed_in(app).get(f"/console/events?before={before}")
    assert answer.status_code == 400 and "is not a time" in answer.get_data(as_text=True)


def test_event_page_masks_credentials_and_shows_every_attempt(app):
    page = signed_in(app).get("/console/events/e3").get_data(as_text=True)
    assert "sha256=abc" not in page and "[hidden]" in page
    assert "chat-token" not in page  # a configured secret in the payload is hidden too
    assert "&#34;full_name&#34;: &#34;acme/widgets&#34;" in page and '<details class="payload">' in page
    attempts = re.findall(r'<tr class="attempt">(.*?)</tr>', page, re.S)
    assert len(attempts) == 2 and "503" in attempts[0] and "7.5 ms" in attempts[0] and "3 s" in attempts[0] and "bad" in attempts[1]
    assert "HTTP 400 is permanent" in page


def test_messages_and_errors_on_the_pages_hide_configured_secrets(app):
    # The payload quotes a token, so the message does; a chat's error echoes one (devflow and Slack-likes do).
    error = "HTTP 400 is permanent; bad token chat-token"
    attempt = {"at": 1.0, "status": 400, "duration_ms": 1.0, "error": error}
    delivery = {"status": "failed", "last_error": f"team-chat: {error}", "attempts": [attempt]}
    stored(app, "e4", "widgets", "push", "processed", delivery=delivery)
    store = app.extensions["hookdock"].store
    store.save_delivery(Delivery("e4.team-chat", "e4", "widgets", "team-chat", {"event": "message", "content": "see hook-secret"}, **delivery))
    client = signed_in(app)
    for path in ("/console/events", "/console/events/e4", "/console/replay/e4"):
        page = client.get(path).get_data(as_text=True)
        assert "bad token [hidden]" in page and not {"chat-token", "hook-secret"} & set(re.findall(r"[\w-]+", page)), path


def test_unknown_event_is_a_clear_404(app):
    answer = signed_in(app).get("/console/events/nope")
    assert answer.status_code == 404 and "no event &#39;nope&#39;" in answer.get_data(as_text=True)


def test_replay_asks_first_then_queues(app):
    client = signed_in(app)
    confirm = client.get("/console/replay/e3").get_data(as_text=True)
    assert "Replay event?" in confirm
    done = client.post("/console/replay/e3", data={"csrf": csrf(confirm)}, follow_redirects=True).get_data(as_text=True)
    assert "Replayed e3: queued for team-chat." in done
    again = client.post("/console/replay/e1", data={"csrf": csrf(confirm)}, follow_redirects=True).get_data(as_text=True)
    assert "nothing to replay" in again


def test_replay_every_failure_since(app):
    client = signed_in(app)
    confirm = client.get("/console/replay-failed?since=1h").get_data(as_text=True)
    assert "1 dead letters" in confirm and "e3.team-chat" in confirm
    done = client.post("/console/replay-failed", data={"csrf": csrf(confirm), "since": "1h"}, follow_redirects=True).get_data(as_text=True)
    assert "Replayed 1 failures since 1h: e3" in done


def test_preview_of_a_pasted_payload_and_of_a_stored_event(app):
    client = signed_in(app)
    page = client.get("/console/preview").get_data(as_text=True)
    body = '{"zen": "Keep it logically awesome.", "hook_id": 1, "repository": {"full_name": "acme/widgets"}}'
    shown = client.post("/console/preview", data={"csrf": csrf(page), "route": "widgets", "event": "ping", "payload": body}).get_data(as_text=True)
    assert "POST /flows/acme/main/messages" in shown and 'class="chat"' in shown
    stored_one = client.post("/console/preview", data={"csrf": csrf(page), "event_id": "e1"}).get_data(as_text=True)
    assert "Template github/push.txt" in stored_one and "POST /flows/acme/main/messages" in stored_one
    bad = client.post("/console/preview", data={"csrf": csrf(page), "route": "widgets", "event": "push", "payload": "[1]"})
    assert bad.status_code == 422 and "must be a JSON object" in bad.get_data(as_text=True)


def test_health_counts_dead_letters_per_route_and_target(app):
    page = signed_in(app).get("/console/health").get_data(as_text=True)
    row = re.search(r"<tr><td>gadgets</td><td>team-chat</td><td>(\d+)</td><td>(\d+)</td></tr>", page)
    assert row and row.groups() == ("1", "1")
    assert "e3.team-chat" in page and "5.0/s, bursts of 10" in page


def test_sign_in_tries_are_paced_so_the_token_cannot_be_guessed(app):
    client = app.test_client()
    form = {"token": "guess", "csrf": csrf(client.get("/console/sign-in").get_data(as_text=True))}
    statuses = [client.post("/console/sign-in", data=form).status_code for _ in range(12)]
    assert statuses[:10] == [401] * 10 and statuses[-1] == 429
    held = client.post("/console/sign-in", data={**form, "token": "admin-secret"})
    assert held.status_code == 429 and "Too many tries" in held.get_data(as_text=True)
