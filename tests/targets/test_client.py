"""The targets' HTTP session: requests' environment settings, read once per origin."""

from __future__ import annotations

import requests

from bridge.targets.base import Session

URLS = ["https://chat.example.com/flows/a/b/messages", "https://chat.example.com/other", "http://inside.example.org:8080/x", "https://api.flowdock.com/m"]


def test_the_settings_are_requests_own_for_proxied_and_bypassed_origins(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.net:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example.net:3128")
    monkeypatch.setenv("NO_PROXY", "inside.example.org")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/bundle.pem")
    ours, theirs = Session(), requests.Session()
    for url in URLS * 2:
        assert ours.merge_environment_settings(url, {}, None, None, None) == theirs.merge_environment_settings(url, {}, None, None, None)
    assert ours.merge_environment_settings(URLS[0], {}, None, None, None)["proxies"]["https"] == "http://proxy.example.net:3128"
    assert ours.merge_environment_settings(URLS[2], {}, None, None, None)["proxies"] == {}


def test_the_environment_is_read_once_per_origin_and_callers_cannot_change_the_kept_answer(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.net:3128")
    session = Session()
    first = session.merge_environment_settings(URLS[0], {}, None, None, None)
    first["proxies"]["https"] = "http://changed.example.net"
    monkeypatch.delenv("HTTPS_PROXY")
    assert session.merge_environment_settings(URLS[1], {}, None, None, None)["proxies"]["https"] == "http://proxy.example.net:3128"
    assert session.merge_environment_settings(URLS[3], {}, None, None, None)["proxies"] == {}  # another origin, read now
    # A call with settings of its own is requests' alone.
    assert session.merge_environment_settings(URLS[0], {"https": "http://mine:1"}, None, False, None)["verify"] is False
