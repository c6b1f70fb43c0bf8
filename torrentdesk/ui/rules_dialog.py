"""The add rules editor (SPEC §11): an ordered list; the first rule whose conditions all hold
picks the server(s), labels and directory of an add that names no server."""

from __future__ import annotations

from nicegui import ui

from ..services import Services
from ..services.errors import UserFacingError
from .threads import io_bound

MIB = 1024 * 1024
TARGET_KINDS = {"server_ids": "On these servers", "most_free_space": "On the one with most space"}


def _mib(value: int | None) -> float | None:
    return None if value is None else round(value / MIB, 3)


def _bytes(value: float | None) -> int | None:
    return None if value in (None, "") else int(float(value) * MIB)


class RulesDialog:
    def __init__(self, services: Services, user_id: int) -> None:
        self.services = services
        self.user_id = user_id
        self.rules: list[dict] = []
        self.servers: dict[str, str] = {}
        with (
            ui.dialog().mark("rules-dialog") as self.dialog,
            ui.card().classes("td-dialog td-rules-dialog w-[860px] max-w-full"),
        ):
            ui.label("Add rules").classes("text-lg font-medium")
            ui.label(
                "An add that names no server goes where the first matching rule says. Empty "
                "conditions match everything; a magnet's size is unknown, so it matches no "
                "size condition."
            ).classes("td-muted text-sm")
            self.body = ui.column().classes("w-full gap-2").mark("rules-list")
            self.error = ui.label("").classes("text-negative text-sm").mark("rules-error")
            with ui.row().classes("w-full justify-between gap-2"):
                ui.button("Add a rule", icon="add", on_click=self._add).props("flat no-caps").mark(
                    "rules-add"
                )
                with ui.row().classes("gap-2"):
                    ui.button("Cancel", on_click=self.dialog.close).props("flat")
                    ui.button("Save", on_click=self._save).props("unelevated").mark("rules-save")

    async def open(self) -> None:
        servers = await io_bound(self.services.servers.list, self.user_id)
        self.servers = {s.id: s.name for s in servers}
        stored = await io_bound(self.services.torrents.rules.get, self.user_id)
        self.rules = [self._editable(rule) for rule in stored]
        self.error.set_text("")
        self._render()
        self.dialog.open()

    @staticmethod
    def _editable(rule: dict) -> dict:
        match = rule.get("match", {})
        ((kind, ids),) = rule["target"].items()
        return {
            "label": match.get("label") or "",
            "tracker": match.get("tracker") or "",
            "name_regex": match.get("name_regex") or "",
            "min_mib": _mib(match.get("min_size")),
            "max_mib": _mib(match.get("max_size")),
            "kind": kind,
            "server_ids": list(ids),
            "labels": list(rule.get("labels") or []),
            "download_dir": rule.get("download_dir") or "",
        }

    @staticmethod
    def _stored(rule: dict) -> dict:
        texts = {key: (rule[key] or "").strip() for key in ("label", "tracker", "name_regex")}
        match: dict = {key: value for key, value in texts.items() if value}
        for key, field in (("min_size", "min_mib"), ("max_size", "max_mib")):
            if (value := _bytes(rule[field])) is not None:
                match[key] = value
        return {
            "match": match,
            "target": {rule["kind"]: list(rule["server_ids"])},
            "labels": list(rule["labels"]),
            "download_dir": (rule["download_dir"] or "").strip() or None,
        }

    def _add(self) -> None:
        first = list(self.servers)[:1]
        self.rules.append(self._editable({"match": {}, "target": {"server_ids": first}}))
        self._render()

    def _move(self, index: int, by: int) -> None:
        other = index + by
        if 0 <= other < len(self.rules):
            self.rules[index], self.rules[other] = self.rules[other], self.rules[index]
            self._render()

    def _delete(self, index: int) -> None:
        del self.rules[index]
        self._render()

    def _render(self) -> None:
        self.body.clear()
        with self.body:
            if not self.rules:
                ui.label("No rules: adds must name a server.").classes("td-muted")
            for index, rule in enumerate(self.rules):
                self._rule_card(index, rule)

    def _rule_card(self, index: int, rule: dict) -> None:
        with ui.card().classes("w-full td-rule").mark(f"rule-{index}"):
            with ui.row().classes("w-full items-center justify-between no-wrap"):
                ui.label(f"{index + 1}. When").classes("font-medium")
                with ui.row().classes("gap-0 no-wrap"):
                    moves = (("arrow_upward", -1, "up"), ("arrow_downward", 1, "down"))
                    for icon, by, name in moves:
                        ui.button(icon=icon, on_click=lambda i=index, b=by: self._move(i, b)).props(
                            f'flat dense round aria-label="Move rule {index + 1} {name}"'
                        )
                    ui.button(icon="delete", on_click=lambda i=index: self._delete(i)).props(
                        f'flat dense round aria-label="Delete rule {index + 1}"'
                    ).mark(f"rule-{index}-delete")
            with ui.row().classes("w-full gap-2"):
                for key, label in (
                    ("label", "Has label"),
                    ("tracker", "Tracker host"),
                    ("name_regex", "Name matches (regex)"),
                ):
                    ui.input(label).bind_value(rule, key).props("outlined dense").classes(
                        "grow"
                    ).mark(f"rule-{index}-{key}")
                for key, label in (("min_mib", "Min size (MiB)"), ("max_mib", "Max size (MiB)")):
                    ui.number(label, min=0).bind_value(rule, key).props("outlined dense").classes(
                        "w-36"
                    ).mark(f"rule-{index}-{key}")
            with ui.row().classes("w-full gap-2 items-center"):
                ui.toggle(TARGET_KINDS).bind_value(rule, "kind").props("no-caps dense").mark(
                    f"rule-{index}-kind"
                )
                ui.select(self.servers, multiple=True, label="Servers").bind_value(
                    rule, "server_ids"
                ).props("outlined dense use-chips").classes("grow").mark(f"rule-{index}-servers")
            with ui.row().classes("w-full gap-2"):
                ui.select(
                    rule["labels"],
                    multiple=True,
                    label="Then add labels",
                    with_input=True,
                    new_value_mode="add-unique",
                ).bind_value(rule, "labels").props(
                    "outlined dense use-chips hide-dropdown-icon"
                ).classes("grow").mark(f"rule-{index}-labels")
                ui.input("And put it in (directory)").bind_value(rule, "download_dir").props(
                    "outlined dense"
                ).classes("grow td-mono").mark(f"rule-{index}-dir")

    async def _save(self) -> None:
        rules = [self._stored(rule) for rule in self.rules]
        try:
            await io_bound(self.services.torrents.rules.put, self.user_id, rules)
        except UserFacingError as exc:
            self.error.set_text(str(exc))
            return
        self.dialog.close()
        ui.notify(f"{len(rules)} rule{'s' if len(rules) != 1 else ''} saved", type="positive")
