"""Add rules (SPEC §11): an ordered list per user that picks the server(s), labels and
directory of an add that names no server. The first rule whose conditions all hold wins."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import regex
from pony.orm import Database, db_session

from ..clients.base import tracker_host
from .actions import check_download_dir, check_labels
from .errors import InvalidInput
from .servers import InvalidField

MAX_RULES = 100
MAX_PATTERN = 256
# A user's pattern runs on every add that names no server: `regex` bounds its time (a pattern
# like `(a|aa)+$` backtracks for ever on the stdlib's `re`) and lets other threads run meanwhile.
MATCH_TIMEOUT = 0.05  # seconds per name; a match that takes longer counts as no match

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AddCandidate:
    """What an add is known to be before it reaches a server."""

    name: str | None
    size: int | None  # None: a magnet without metadata matches no size condition
    trackers: tuple[str, ...]  # announce URLs
    labels: tuple[str, ...]  # the labels the add asks for


@dataclass(frozen=True, slots=True)
class RuleChoice:
    rule: int | None  # index of the rule that matched
    server_ids: list[str]
    labels: list[str]
    download_dir: str | None


FreeSpaceOf = Callable[[str], Awaitable[int | None]]


def check_rules(rules: object, own_server_ids: set[str]) -> list[dict]:
    """The rules as stored: every field checked, unknown keys refused (a 422 names which)."""
    if not isinstance(rules, list):
        raise InvalidInput("rules must be a list")
    if len(rules) > MAX_RULES:
        raise InvalidInput(f"at most {MAX_RULES} rules, not {len(rules)}")
    return [_check_rule(i, rule, own_server_ids) for i, rule in enumerate(rules)]


def _check_rule(i: int, rule: object, own: set[str]) -> dict:
    where = f"rules[{i}]"
    if not isinstance(rule, dict) or set(rule) - {"match", "target", "labels", "download_dir"}:
        raise InvalidField(where, f"{where} takes match, target, labels and download_dir")
    match = rule.get("match") or {}
    if not isinstance(match, dict) or set(match) - {
        "label",
        "tracker",
        "name_regex",
        "min_size",
        "max_size",
    }:
        raise InvalidField(
            where, f"{where}.match takes label, tracker, name_regex, min_size and max_size"
        )
    checked: dict = {}
    for key in ("label", "tracker", "name_regex"):
        value = match.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not 0 < len(value) <= MAX_PATTERN:
            raise InvalidField(where, f"{where}.match.{key} must be 1 to {MAX_PATTERN} characters")
        checked[key] = value
    if "label" in checked:  # a label the add could carry: the same rules as every label
        (checked["label"],) = _in_rule(where, "match.label", check_labels, [checked["label"]])
    if "name_regex" in checked:
        try:
            regex.compile(checked["name_regex"])
        except regex.error as exc:
            raise InvalidField(where, f"{where}.match.name_regex is not valid: {exc}") from None
    for key in ("min_size", "max_size"):
        value = match.get(key)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
            raise InvalidField(where, f"{where}.match.{key} must be a number of bytes")
        checked[key] = value
    if checked.get("min_size", 0) > checked.get("max_size", 2**63):
        raise InvalidField(where, f"{where}.match.min_size is above its max_size: nothing matches")
    target = rule.get("target")
    shape = f"{where}.target is {{server_ids: [ids]}} or {{most_free_space: [ids]}}"
    if not isinstance(target, dict) or len(target) != 1:
        raise InvalidField(where, shape)
    ((kind, ids),) = target.items()
    if kind not in ("server_ids", "most_free_space") or not isinstance(ids, list) or not ids:
        raise InvalidField(where, shape)
    for server_id in ids:
        if server_id not in own:
            shown = str(server_id)[:40]
            raise InvalidField(where, f"{where}.target names {shown!r}, not one of your servers")
    labels = rule.get("labels") or []
    directory = rule.get("download_dir")
    return {
        "match": checked,
        "target": {kind: list(dict.fromkeys(ids))},
        "labels": _in_rule(where, "labels", check_labels, labels) if labels else [],
        "download_dir": (
            None
            if directory is None
            else _in_rule(where, "download_dir", check_download_dir, directory)
        ),
    }


def _in_rule(where: str, field: str, check: Callable, value):
    """`check(value)`, its refusal naming the rule and the field."""
    try:
        return check(value)
    except InvalidInput as exc:
        raise InvalidField(where, f"{where}.{field}: {exc}") from None


def matches(match: dict, candidate: AddCandidate) -> bool:
    if "label" in match and match["label"] not in candidate.labels:
        return False
    if "tracker" in match:
        wanted = match["tracker"].lower()
        hosts = {tracker_host(url) for url in candidate.trackers} - {None}
        if not any(h == wanted or h.endswith("." + wanted) for h in hosts):
            return False
    if "name_regex" in match and not (
        candidate.name and _name_matches(match["name_regex"], candidate.name)
    ):
        return False
    for key, holds in (("min_size", lambda s, n: s >= n), ("max_size", lambda s, n: s <= n)):
        if key in match and (candidate.size is None or not holds(candidate.size, match[key])):
            return False
    return True


def _name_matches(pattern: str, name: str) -> bool:
    try:
        found = regex.search(
            pattern, name, regex.IGNORECASE, timeout=MATCH_TIMEOUT, concurrent=True
        )
    except TimeoutError:
        log.warning("the add rule pattern %r took too long on a name: no match", pattern)
        return False
    return found is not None


def first_match(rules: list[dict], candidate: AddCandidate) -> int | None:
    return next((i for i, rule in enumerate(rules) if matches(rule["match"], candidate)), None)


class RuleService:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, user_id: int) -> list[dict]:
        with db_session:
            row = self._db.AddRules.get(user=user_id)
            return list(row.rules) if row is not None else []

    def put(self, user_id: int, rules: object) -> list[dict]:
        with db_session:
            own = {s.id for s in self._db.User[user_id].servers}
            checked = check_rules(rules, own)
            row = self._db.AddRules.get(user=user_id)
            if row is None:
                self._db.AddRules(user=user_id, rules=checked)
            else:
                row.rules = checked
        return checked

    async def choose(
        self, user_id: int, candidate: AddCandidate, free_space_of: FreeSpaceOf
    ) -> RuleChoice:
        """The first matching rule's servers, labels (the add's own first) and directory;
        `rule` None when none matches."""
        rules = await asyncio.to_thread(self.get, user_id)
        # Off the event loop: the patterns are the user's (bounded, but not free).
        index = await asyncio.to_thread(first_match, rules, candidate)
        if index is None:
            return RuleChoice(None, [], list(candidate.labels), None)
        rule = rules[index]
        ((kind, ids),) = rule["target"].items()
        if kind == "most_free_space":
            ids = [await _most_free(ids, free_space_of)]
        labels = list(dict.fromkeys([*candidate.labels, *rule["labels"]]))
        return RuleChoice(index, list(ids), labels, rule["download_dir"])


async def _most_free(server_ids: Sequence[str], free_space_of: FreeSpaceOf) -> str:
    """The server with the most free space; those that cannot tell rank last, in list order."""
    spaces = await asyncio.gather(*(free_space_of(s) for s in server_ids))
    ranked = sorted(
        range(len(server_ids)), key=lambda i: (spaces[i] is None, -(spaces[i] or 0), i)
    )
    return server_ids[ranked[0]]
