"""Saved views: a user's named filters, search, sort and columns of the torrent table, kept in
the database so every browser and the native window see them; the last one used is restored
when a page opens."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime

from pony.orm import Database, db_session

from ..db import as_utc, utcnow
from .errors import InvalidInput, NotFound
from .totals import FACETS

MAX_VIEWS = 50  # per user
MAX_NAME = 64
MAX_SEARCH = 200
MAX_VALUES = 200  # per filter section
MAX_VALUE = 255
MAX_COLUMNS = 40
COLUMN_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")
SORT_DIRECTIONS = ("asc", "desc")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class ViewState:
    """What a view restores. `filters` maps each filter section (states, servers, labels,
    trackers) to its chosen values; `sort` is [(column, "asc"|"desc")] in priority order;
    `hidden` the grid columns not shown. Unknown columns or values are kept and ignored by the
    page (a server or a column may come back)."""

    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    search: str = ""
    sort: tuple[tuple[str, str], ...] = ()
    hidden: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "filters": {name: list(self.filters.get(name, ())) for name in FACETS},
            "search": self.search,
            "sort": [{"column": column, "direction": way} for column, way in self.sort],
            "hidden": list(self.hidden),
        }

    @classmethod
    def from_dict(cls, data: dict) -> ViewState:
        """Checked: a bad shape or an over-long value is InvalidInput naming the field."""
        if not isinstance(data, dict):
            raise InvalidInput("a view is an object with filters, search, sort and hidden")
        filters = data.get("filters") or {}
        if not isinstance(filters, dict) or set(filters) - set(FACETS):
            raise InvalidInput(f"filters: an object with at most these keys: {', '.join(FACETS)}")
        chosen = {name: _strings(f"filters.{name}", filters.get(name)) for name in FACETS}
        search = data.get("search") or ""
        if not isinstance(search, str) or len(search) > MAX_SEARCH or _CONTROL.search(search):
            raise InvalidInput(f"search: text of at most {MAX_SEARCH} characters")
        sort = data.get("sort") or []
        if not isinstance(sort, list) or len(sort) > MAX_COLUMNS:
            raise InvalidInput(f"sort: a list of at most {MAX_COLUMNS} columns")
        order = []
        for entry in sort:
            column = entry.get("column") if isinstance(entry, dict) else None
            direction = entry.get("direction") if isinstance(entry, dict) else None
            if not _is_column(column) or direction not in SORT_DIRECTIONS:
                raise InvalidInput('sort: each entry is {"column", "direction": "asc"|"desc"}')
            order.append((column, direction))
        hidden = data.get("hidden") or []
        if not isinstance(hidden, list) or len(hidden) > MAX_COLUMNS:
            raise InvalidInput(f"hidden: a list of at most {MAX_COLUMNS} column names")
        if not all(_is_column(c) for c in hidden):
            raise InvalidInput("hidden: column names are lowercase letters, digits and _")
        return cls(
            {name: values for name, values in chosen.items() if values},
            search,
            tuple(order),
            tuple(dict.fromkeys(hidden)),
        )


@dataclass(frozen=True, slots=True)
class SavedViewInfo:
    name: str
    state: ViewState
    updated_at: datetime
    last_used_at: datetime | None


def check_view_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME or _CONTROL.search(name):
        raise InvalidInput(f"a view's name is 1-{MAX_NAME} characters, no control characters")
    return name


def _is_column(value) -> bool:
    return isinstance(value, str) and COLUMN_PATTERN.fullmatch(value) is not None


def _strings(where: str, values) -> tuple[str, ...]:
    values = values or []
    if not isinstance(values, list) or len(values) > MAX_VALUES:
        raise InvalidInput(f"{where}: a list of at most {MAX_VALUES} values")
    if not all(isinstance(v, str) and len(v) <= MAX_VALUE for v in values):
        raise InvalidInput(f"{where}: each value is text of at most {MAX_VALUE} characters")
    return tuple(dict.fromkeys(values))


class ViewService:
    def __init__(self, db: Database) -> None:
        self._db = db

    def list(self, user_id: int) -> list[SavedViewInfo]:
        with db_session:
            rows = self._db.SavedView.select(lambda v: v.user.id == user_id)
            return sorted((_info(v) for v in rows), key=lambda v: (v.name.casefold(), v.name))

    def save(self, user_id: int, name: str, state: ViewState) -> SavedViewInfo:
        """Create or replace the view `name`; it becomes the one used last."""
        name = check_view_name(name)
        text = json.dumps(state.to_dict(), ensure_ascii=False, separators=(",", ":"))
        with db_session:
            user = self._db.User.get(id=user_id)
            if user is None:
                raise NotFound("no such user")
            row = self._db.SavedView.get(user=user, name=name)
            now = utcnow()
            if row is None:
                if user.views.count() >= MAX_VIEWS:
                    raise InvalidInput(f"at most {MAX_VIEWS} saved views: delete one first")
                row = self._db.SavedView(user=user, name=name, state=text)
            row.state = text
            row.updated_at = now
            self._mark_used(user_id, row, now)
            return _info(row)

    def delete(self, user_id: int, name: str) -> None:
        with db_session:
            self._get(user_id, name).delete()

    def use(self, user_id: int, name: str | None) -> SavedViewInfo | None:
        """Remember `name` as the view used last (None: no view, the table as it comes)."""
        with db_session:
            if name is None:
                for row in self._db.SavedView.select(lambda v: v.user.id == user_id):
                    row.last_used_at = None
                return None
            row = self._get(user_id, name)
            self._mark_used(user_id, row, utcnow())
            return _info(row)

    def last_used(self, user_id: int) -> SavedViewInfo | None:
        with db_session:
            row = (
                self._db.SavedView.select(
                    lambda v: v.user.id == user_id and v.last_used_at is not None
                )
                .order_by(lambda v: v.last_used_at)
                .first()
            )
            return None if row is None else _info(row)

    def _mark_used(self, user_id: int, row, now: datetime) -> None:
        for other in self._db.SavedView.select(
            lambda v: v.user.id == user_id and v.last_used_at is not None
        ):
            if other.id != row.id:
                other.last_used_at = None
        row.last_used_at = now

    def _get(self, user_id: int, name: str):
        row = self._db.SavedView.get(lambda v: v.user.id == user_id and v.name == name)
        if row is None:
            raise NotFound(f"no saved view named {name!r}")
        return row


def _info(row) -> SavedViewInfo:
    try:
        state = ViewState.from_dict(json.loads(row.state))
    except (ValueError, InvalidInput):  # written by us, so only a hand-edited row gets here
        state = ViewState()
    return SavedViewInfo(row.name, state, as_utc(row.updated_at), as_utc(row.last_used_at))
