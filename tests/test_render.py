"""Rendering: the sandbox, the lookup order, filters, the length cap and error locations."""

from __future__ import annotations

import pytest

from bridge.render import MAX_CONTENT, Renderer, RenderError, cap


@pytest.fixture
def user_dir(tmp_path):
    (tmp_path / "github").mkdir()
    return tmp_path


def write(folder, name, text):
    (folder / name).write_text(text)
    return folder / name


def test_user_template_overrides_builtin_one_file_only(user_dir):
    write(user_dir / "github", "ping.txt", "pong from {{ repository.full_name }}")
    renderer = Renderer([user_dir])
    assert renderer.render("github/ping.txt", {"repository": {"full_name": "a/b"}}) == "pong from a/b"
    # Everything not overridden still comes from the built-in folder.
    assert renderer.render("github/issues.txt", {"action": "opened", "sender": {"login": "x"}, "issue": {"number": 3}}).startswith("x opened issue #3")


def test_sandbox_refuses_reaching_into_python(user_dir):
    write(user_dir, "evil.txt", "{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with pytest.raises(RenderError, match=r"evil.txt"):
        Renderer([user_dir]).render("evil.txt", {})


def test_sandbox_is_immutable(user_dir):
    write(user_dir, "mutate.txt", "{% set _ = payload.update({'x': 1}) %}{{ payload }}")
    payload = {}
    with pytest.raises(RenderError):
        Renderer([user_dir]).render("mutate.txt", {"payload": payload})
    assert payload == {}


def test_runtime_error_names_file_and_line(user_dir):
    write(user_dir, "broken.txt", "line one\n{{ 1 // zero }}\n")
    with pytest.raises(RenderError) as caught:
        Renderer([user_dir]).render("broken.txt", {"zero": 0})
    assert str(caught.value).startswith(f"{user_dir / 'broken.txt'}:2: ZeroDivisionError")


def test_check_reports_syntax_errors_as_file_line(user_dir):
    write(user_dir, "bad.txt", "ok\n{% if %}\n")
    errors = Renderer([user_dir]).check()
    assert errors == [f"{user_dir / 'bad.txt'}:2: Expected an expression, got 'end of statement block'"]


def test_builtin_templates_all_compile():
    assert Renderer().check() == []


def test_long_content_is_cut_on_a_character_boundary_with_the_marker(user_dir):
    write(user_dir, "long.txt", "{{ 'é' * n }}")
    text = Renderer([user_dir]).render("long.txt", {"n": MAX_CONTENT + 500})
    assert len(text) <= MAX_CONTENT
    assert text.endswith("… (cut to fit; open the link for the rest)")
    assert text.startswith("é" * 100)


def test_cap_leaves_short_text_alone():
    assert cap("short", "[cut]") == "short"
    assert cap("x" * 20, "[cut]", limit=10) == "xxxx\n[cut]"


def test_a_template_that_runs_forever_is_stopped(user_dir, monkeypatch):
    monkeypatch.setattr("bridge.render.MAX_SECONDS", 0.3)
    write(user_dir, "slow.txt", "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")
    with pytest.raises(RenderError, match=r"slow.txt.*took longer than 0.3 s"):
        Renderer([user_dir]).render("slow.txt", {})


def test_a_thread_template_that_prints_too_much_is_stopped(user_dir):
    write(user_dir, "huge.json", "{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}")
    with pytest.raises(RenderError, match=r"printed more than 262144 characters"):
        Renderer([user_dir]).render_json("huge.json", {})


def test_chat_text_that_prints_too_much_is_cut_not_refused(user_dir):
    write(user_dir, "huge.txt", "{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}")
    text = Renderer([user_dir]).render("huge.txt", {})
    assert len(text) <= MAX_CONTENT and text.endswith("… (cut to fit; open the link for the rest)")


def test_an_edited_template_takes_effect_without_a_restart(user_dir):
    path = write(user_dir, "hot.txt", "first")
    renderer = Renderer([user_dir])
    assert renderer.render("hot.txt", {}) == "first"
    path.write_text("second")
    stat = path.stat()
    # Make the edit visible to the mtime check even on coarse file systems.
    import os

    os.utime(path, (stat.st_atime, stat.st_mtime + 2))
    assert renderer.render("hot.txt", {}) == "second"


def test_origin_names_the_folder_in_use(user_dir):
    write(user_dir / "github", "ping.txt", "pong")
    renderer = Renderer([user_dir])
    assert renderer.origin("github/ping.txt") == str(user_dir / "github" / "ping.txt")
    assert renderer.is_builtin("github/push.txt") and not renderer.is_builtin("github/ping.txt")
    assert renderer.origin("github/nothing.txt") is None


def test_a_new_override_takes_effect_without_a_restart(user_dir):
    renderer = Renderer([user_dir])
    assert renderer.render("github/ping.txt", {"payload": {"hook_id": 1}}).startswith("GitHub webhook 1")
    write(user_dir / "github", "ping.txt", "overridden")
    assert renderer.render("github/ping.txt", {}) == "overridden"
    (user_dir / "github" / "ping.txt").unlink()
    assert renderer.render("github/ping.txt", {"payload": {"hook_id": 1}}).startswith("GitHub webhook 1")


def test_a_folder_whose_name_starts_like_the_built_in_one_is_still_an_override(tmp_path):
    from bridge.render import BUILTIN_DIR

    sibling = BUILTIN_DIR.parent / (BUILTIN_DIR.name + "-test-override")
    (sibling / "github").mkdir(parents=True)
    try:
        (sibling / "github" / "ping.txt").write_text("pong")
        assert not Renderer([sibling]).is_builtin("github/ping.txt")
    finally:
        (sibling / "github" / "ping.txt").unlink()
        (sibling / "github").rmdir()
        sibling.rmdir()


@pytest.mark.parametrize("expression", ["'x' * 400000000", "[1] * 400000000", "10 ** 1000000", "n ** 1000"])
def test_one_huge_operation_is_refused_before_it_runs(user_dir, expression):
    write(user_dir, "big.txt", "{{ " + expression + " }}")
    with pytest.raises(RenderError, match=r"big.txt:1: RenderLimit"):
        Renderer([user_dir]).render("big.txt", {"n": 10})


def test_ordinary_arithmetic_still_works(user_dir):
    write(user_dir, "sum.txt", "{{ '-' * 3 }} {{ 2 ** 8 }} {{ 3 * 4 }}")
    assert Renderer([user_dir]).render("sum.txt", {}) == "--- 256 12"


PRINTED = [
    ("{{ missing }}|{{ gone.deeper }}|{{ none }}", "||"),
    ("in {{ repository.full_name }}.", "in ."),
    ("{{ 'in ' ~ repository.full_name ~ none ~ issue ~ '.' }}", "in ."),
    ("{{ issue }}{{ labels }}{{ [1, 2] }}{{ {'a': 1} }}", ""),
    ("{{ text.title }}|{{ 'x' ~ text.title }}|{{ text.title | e }}|{{ text.title | string }}", "|x||"),
    ("{{ text.upper() }}", "PLAIN"),
    ("{{ issue.items }}", "an item"),
    ("{{ issue | e }}{{ issue | string }}{{ labels | join(', ') }}.", ", ."),
    ("{{ number | truncate(3) }}|{{ number | length }}|{{ issue.title | truncate(5) }}", "12345|0|"),
    ("{{ {'a': 'A'}.get(issue, 'default') }}", "default"),
    ("{{ gone | tojson }}", "null"),
    ("{% for x in number %}{{ x }}{% else %}none{% endfor %}|{{ number | map(attribute='login') | join(',') }}|{{ number | first }}", "none||"),
    ("{{ number | selectattr('a') | list | length }}|{% for k, v in number | dictsort %}{{ k }}{% endfor %}|{{ issue | replace('a', 'b') | upper }}", "0||"),
]


@pytest.mark.parametrize("source, expected", PRINTED)
def test_a_template_never_prints_none_undefined_or_a_repr(user_dir, source, expected):
    from bridge.payload import view

    write(user_dir, "print.txt", source)
    context = view({"repository": {"full_name": None}, "issue": {"items": "an item", "x": 1}, "labels": [{}, {}], "text": "plain", "number": 12345})
    assert Renderer([user_dir]).render("print.txt", context) == expected
