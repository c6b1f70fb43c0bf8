"""Saved views (services/views.py, /views): per user, checked, the last used one remembered,
kept in the database across a reopen."""

from __future__ import annotations

import pytest

from torrentdesk.db import open_database
from torrentdesk.services.errors import InvalidInput, NotFound
from torrentdesk.services.views import MAX_VIEWS, ViewService, ViewState

VIEW = {
    "filters": {"states": ["seeding"], "labels": ["linux", ""], "servers": [], "trackers": []},
    "search": "debian iso",
    "sort": [{"column": "size", "direction": "desc"}, {"column": "name", "direction": "asc"}],
    "hidden": ["ratio", "eta"],
}


def test_views_over_the_api_are_per_user_and_remember_the_last_used(api):
    alice, bob = api.user("alice"), api.user("bob")
    assert api.client.get("/views", headers=alice).json() == []
    reply = api.client.put("/views/Seeding ISOs", json=VIEW, headers=alice)
    assert reply.status_code == 200, reply.text
    saved = reply.json()
    assert {k: saved[k] for k in VIEW} == {
        **VIEW,
        "filters": {"states": ["seeding"], "servers": [], "labels": ["linux", ""], "trackers": []},
    }
    assert (saved["name"], saved["last_used"]) == ("Seeding ISOs", True)
    second = api.client.put("/views/all", json={}, headers=alice).json()
    assert second["last_used"] is True and second["sort"] == [] and second["search"] == ""
    listed = api.client.get("/views", headers=alice).json()
    assert [(v["name"], v["last_used"]) for v in listed] == [
        ("all", True),
        ("Seeding ISOs", False),
    ]
    # Replacing keeps one view by that name.
    changed = {**VIEW, "search": "ubuntu"}
    assert api.client.put("/views/Seeding ISOs", json=changed, headers=alice).status_code == 200
    listed = api.client.get("/views", headers=alice).json()
    assert [(v["name"], v["search"]) for v in listed] == [("all", ""), ("Seeding ISOs", "ubuntu")]
    # Another user sees none of them and cannot delete them.
    assert api.client.get("/views", headers=bob).json() == []
    assert api.client.delete("/views/all", headers=bob).status_code == 404
    assert api.client.delete("/views/all", headers=alice).status_code == 204
    assert api.client.delete("/views/all", headers=alice).status_code == 404
    assert api.client.get("/views").status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"sort": [{"column": "size", "direction": "up"}]},
        {"sort": [{"column": "Size; drop", "direction": "asc"}]},
        {"hidden": ["<script>"]},
        {"search": "x" * 201},
        {"filters": {"labels": ["x" * 256]}},
        {"filters": {"colors": ["red"]}},
    ],
)
def test_a_bad_view_is_422(api, body):
    alice = api.user("alice")
    reply = api.client.put("/views/bad", json=body, headers=alice)
    assert reply.status_code == 422, reply.text
    assert api.client.get("/views", headers=alice).json() == []


def test_a_name_too_long_is_422(api):
    alice = api.user("alice")
    assert api.client.put("/views/" + "n" * 65, json={}, headers=alice).status_code == 422


def test_views_survive_reopening_the_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    db = open_database(url)
    from torrentdesk.services.users import UserService

    user = UserService(db).create("alice", "password-123")
    views = ViewService(db)
    views.save(user.id, "mine", ViewState.from_dict(VIEW))
    views.save(user.id, "other", ViewState())
    views.use(user.id, "mine")
    db.disconnect()
    reopened = ViewService(open_database(url))
    last = reopened.last_used(user.id)
    assert last is not None and last.name == "mine"
    assert last.state == ViewState.from_dict(VIEW)
    assert last.state.sort == (("size", "desc"), ("name", "asc"))
    reopened.use(user.id, None)
    assert reopened.last_used(user.id) is None
    with pytest.raises(NotFound):
        reopened.use(user.id, "gone")
    with pytest.raises(InvalidInput):
        reopened.save(user.id, "  ", ViewState())


def test_at_most_so_many_views(tmp_path):
    db = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    from torrentdesk.services.users import UserService

    user = UserService(db).create("alice", "password-123")
    views = ViewService(db)
    for n in range(MAX_VIEWS):
        views.save(user.id, f"v{n}", ViewState())
    with pytest.raises(InvalidInput, match="at most"):
        views.save(user.id, "one more", ViewState())
    views.save(user.id, "v0", ViewState(search="replaced"))  # replacing is fine
