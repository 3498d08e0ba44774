"""A rendered activity always has the shape Flowdock takes: text in text fields, an author and a thread title."""

from bridge.shape import conform

BLANKS = {"title": "push in acme/widgets", "author": "someone"}


def blank(what: str) -> str:
    return BLANKS[what]


def test_numbers_and_booleans_become_text_and_objects_are_dropped():
    activity = {
        "title": 42,
        "author": {"name": 7, "avatar": {"k": "v"}},
        "thread": {"title": "t", "body": ["x"], "external_url": True, "status": {"value": 1.5, "color": "green"}},
    }
    assert conform(activity, blank) == {
        "title": "42",
        "author": {"name": "7"},
        "thread": {"title": "t", "external_url": "true", "status": {"value": "1.5", "color": "green"}},
    }


def test_fields_keep_only_label_and_value_texts():
    fields = [
        {"label": "Author", "value": 1},
        {"label": "Labels", "value": {"k": "v"}},
        "junk",
        {"label": "", "value": "x"},
        {"label": "Branch", "value": "main", "x": 1},
    ]
    assert conform({"thread": {"title": "t", "fields": fields}}, blank)["thread"]["fields"] == [
        {"label": "Author", "value": "1"},
        {"label": "Branch", "value": "main"},
    ]


def test_a_blank_author_name_or_thread_title_is_filled_in():
    activity = conform({"author": {"name": {"k": "v"}}, "thread": {"title": "  "}}, blank)
    assert activity["author"]["name"] == "someone"
    assert activity["thread"]["title"] == "push in acme/widgets"


def test_the_rendered_activity_is_left_untouched():
    activity = {"title": 1, "thread": {"title": "t", "fields": [{"label": "a", "value": 2}]}}
    conform(activity, blank)
    assert activity == {"title": 1, "thread": {"title": "t", "fields": [{"label": "a", "value": 2}]}}


def test_a_status_without_text_is_dropped_rather_than_refused():
    activity = conform({"thread": {"title": "t", "status": {"value": {"k": "v"}, "color": "green"}}}, blank)
    assert activity["thread"] == {"title": "t"}


def test_a_thread_id_is_bounded_and_stays_the_same_for_the_same_item():
    from bridge.shape import MAX_THREAD_ID, thread_id

    short = "github:acme/widgets:branch:main"
    long_a, long_b = f"github:acme/widgets:branch:{'a' * 9000}", f"github:acme/widgets:branch:{'a' * 8999}b"
    assert thread_id(short) == short
    assert len(thread_id(long_a)) == MAX_THREAD_ID and thread_id(long_a) == thread_id(long_a)
    assert thread_id(long_a) != thread_id(long_b)
