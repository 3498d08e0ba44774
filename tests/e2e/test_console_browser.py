"""The console in headless Chromium (Debian's package, driven by Playwright) against real gunicorn, Celery, devflow and Redis.

Processes and the browser start once for the module; each test gets a fresh page and fails on any console error.
Set HOOKDOCK_SCREENSHOT=docs/console-event.png to write the README's screenshot of the event page.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import redis
import requests
from playwright.sync_api import Page, expect, sync_playwright
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.processes import start_devflow, start_web, start_worker
from tests.support import fixture_bytes, github_headers, wait_until

CHROMIUM = "/usr/bin/chromium"
ACCEPTED = re.compile(r"^20[0-2]$")
TOKEN = "console-admin-token"
CONFIG = """\
api_url: {api_url}
admin_token: "${{E2E_ADMIN_TOKEN}}"
delivery: {{max_attempts: 2, backoff_base: 0.1, backoff_cap: 1, visibility_timeout: 30}}
targets:
  team-chat: {{org: acme, flow: main, token: "${{E2E_FLOWDOCK_TOKEN}}"}}
routes:
  widgets: {{source: github, secret: "${{E2E_GITHUB_SECRET}}", targets: [team-chat]}}
"""
SECRETS = {"E2E_FLOWDOCK_TOKEN": "devflow-token", "E2E_GITHUB_SECRET": "It's a Secret to Everybody", "E2E_ADMIN_TOKEN": TOKEN}


@pytest.fixture(scope="module")
def stack(tmp_path_factory, redis_server):
    """devflow, gunicorn and a Celery worker on a flushed Redis, for the whole module."""
    tmp = tmp_path_factory.mktemp("console")
    redis.Redis.from_url(redis_server.url).flushall()
    devflow, chat = start_devflow(tmp)
    config = tmp / "bridge.yml"
    config.write_text(CONFIG.format(api_url=chat))
    env = {"REDIS_URL": redis_server.url, "HOOKDOCK_CONFIG": str(config), **SECRETS}
    web, url = start_web(tmp, env)
    worker = start_worker(tmp, env, concurrency=1)
    yield {"web": url, "devflow": chat}
    for program in (web, worker, devflow):
        program.stop()
    for program in (web, worker):
        assert TOKEN not in program.output() and "devflow-token" not in program.output(), f"{program.name} logged a secret"


@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMIUM).exists(), f"no {CHROMIUM}: install Debian's browser with `apt-get install chromium` (.ci/run does)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, stack):
    """A fresh browser context; any console error or uncaught exception fails the test."""
    context = browser.new_context(base_url=stack["web"])
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == []


def sign_in(page: Page) -> None:
    page.goto("/console/sign-in")
    page.get_by_label("Admin token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Events")).to_be_visible()


def send_push(stack, delivery: str) -> str:
    body = fixture_bytes("github", "push__many_commits")
    answer = requests.post(f"{stack['web']}/hooks/widgets", data=body, headers=github_headers("push", body, delivery), timeout=5)
    assert answer.status_code == 202, answer.text
    return answer.json()["event"]


def settled(stack, event_id: str) -> bool:
    answer = requests.get(f"{stack['web']}/api/events/{event_id}", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).json()
    return answer["status"] != "queued" and all(d["status"] in ("delivered", "failed") for d in answer["deliveries"])


def test_landing_page_then_sign_in_and_the_event_list(page, stack):
    event_id = send_push(stack, "browser-list")
    wait_until(lambda: settled(stack, event_id), 30, what="the push to be delivered")
    page.goto("/")
    expect(page.get_by_role("heading", name="hookdock")).to_contain_text("0.13.0")
    expect(page.get_by_text(f"{stack['web']}/hooks/widgets")).to_be_visible()
    expect(page.locator(".health")).to_contain_text("answers")
    page.get_by_role("link", name="Sign in to the console").click()
    page.get_by_label("Admin token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    row = page.locator("table.events tbody tr").filter(has=page.locator(f'a[href="/console/events/{event_id}"]'))
    expect(row).to_contain_text("delivered to team-chat")
    assert TOKEN not in page.url


def test_event_page_shows_headers_payload_messages_and_attempts(page, stack):
    event_id = send_push(stack, "browser-event")
    wait_until(lambda: settled(stack, event_id), 30, what="the push to be delivered")
    sign_in(page)
    page.locator(f'a[href="/console/events/{event_id}"]').click()
    expect(page.locator("h1")).to_contain_text("push")
    expect(page.locator(".chat .text")).to_contain_text("pushed 7 commits")
    attempt = page.locator("tr.attempt")
    expect(attempt).to_have_count(1)
    expect(attempt.locator("td").nth(2)).to_have_text(ACCEPTED)
    payload = page.locator("details.payload")
    expect(payload.locator("pre")).to_be_hidden()
    payload.locator("summary").click()
    expect(payload.locator("pre")).to_contain_text('"full_name": "Codertocat/Hello-World"')
    if os.environ.get("HOOKDOCK_SCREENSHOT"):
        payload.locator("summary").click()
        page.set_viewport_size({"width": 1000, "height": 800})
        page.screenshot(path=str(Path(os.environ["HOOKDOCK_SCREENSHOT"])), full_page=True)


def test_replay_of_a_dead_letter_shows_a_new_attempt(page, stack):
    requests.post(f"{stack['devflow']}/_devflow/faults", json={"status": 400, "times": 1}, timeout=5).raise_for_status()
    event_id = send_push(stack, "browser-replay")
    wait_until(lambda: settled(stack, event_id), 30, what="the push to become a dead letter")
    sign_in(page)
    page.goto("/console/events?outcome=failed")
    page.locator(f'a[href="/console/events/{event_id}"]').click()
    expect(page.locator("tr.attempt")).to_have_count(1)
    page.get_by_role("link", name="Replay event…").click()
    expect(page.get_by_role("heading", name="Replay event?")).to_be_visible()
    page.get_by_role("button", name="Replay").click()
    expect(page.locator(".flash")).to_contain_text(f"Replayed {event_id}")
    wait_until(lambda: settled(stack, event_id), 30, what="the replay to be delivered")
    page.reload()
    attempts = page.locator("tr.attempt")
    expect(attempts).to_have_count(2)
    expect(attempts.nth(0).locator("td").nth(2)).to_have_text("400")
    expect(attempts.nth(1).locator("td").nth(2)).to_have_text(ACCEPTED)
    expect(page.locator("tr.round")).to_contain_text("replayed")


def test_preview_shows_the_request_and_the_message(page, stack):
    sign_in(page)
    page.get_by_role("link", name="Preview").click()
    page.get_by_label("Route").select_option("widgets")
    page.get_by_label("Event name").fill("push")
    page.get_by_label("Payload (JSON)").fill(fixture_bytes("github", "push__many_commits").decode())
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("pre.request")).to_contain_text("POST /flows/acme/main/messages")
    expect(page.locator(".rendered .chat .text")).to_contain_text("pushed 7 commits")


def test_narrow_screen_and_keyboard_only(page, stack):
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto("/console/sign-in")
    # The skip link comes first, then the form: the token field has focus, so typing and Enter sign in.
    expect(page.get_by_label("Admin token")).to_be_focused()
    page.keyboard.type(TOKEN)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Events")).to_be_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    for path in ("/console/events", "/console/health", "/console/preview", "/"):
        page.goto(path)
        # Nothing wider than the screen: wide tables scroll inside their own box.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
        unlabelled = page.evaluate(
            """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
               .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.name)"""
        )
        assert unlabelled == [], path
    event_link = page.goto("/console/events") and page.locator("table.events a").first
    event_link.focus()
    page.keyboard.press("Enter")
    expect(page.locator("details.payload")).to_be_visible()
    page.locator("details.payload summary").focus()
    page.keyboard.press("Enter")
    expect(page.locator("details.payload pre")).to_be_visible()


def test_metrics_add_up_what_the_web_and_the_worker_processes_counted(page, stack):
    event_id = send_push(stack, "browser-metrics")
    wait_until(lambda: settled(stack, event_id), 30, what="the push to be delivered")
    text = requests.get(f"{stack['web']}/metrics", timeout=5).text
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for family in text_string_to_metric_families(text) for s in family.samples}
    received = samples[("hookdock_webhooks_received_total", (("event", "push"), ("route", "widgets"), ("source", "github"), ("status", "202")))]
    delivered = samples[("hookdock_delivery_attempts_total", (("outcome", "delivered"), ("target", "team-chat")))]
    latency = samples[("hookdock_webhook_to_message_seconds_count", (("target", "team-chat"),))]
    # The web counted every accepted push (gunicorn), the worker every delivery (a Celery pool process).
    assert received >= 1 and delivered >= 1 and latency >= 1 and delivered <= received
    page.goto("/console/health")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()  # health is behind sign-in, /metrics is not
