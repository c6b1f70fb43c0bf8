"""Imports go one way: ui/ and api/ -> services/ -> (db/, clients/); services/ never NiceGUI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "torrentdesk"


def imported_modules(path: Path) -> set[str]:
    """Absolute names of what a module imports (relative imports resolved)."""
    package = ".".join(("torrentdesk", *path.relative_to(PACKAGE).parent.parts))
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            names.add(module)
    return names


@pytest.mark.parametrize("layer", ["ui", "api"])
def test_ui_and_api_import_nothing_from_clients(layer):
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            m for m in imported_modules(path) if m.startswith("torrentdesk.clients")
        )
        for path in (PACKAGE / layer).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_services_import_no_nicegui():
    offenders = {
        str(path.relative_to(PACKAGE))
        for path in (PACKAGE / "services").rglob("*.py")
        if any(m.split(".")[0] in ("nicegui", "fastapi") for m in imported_modules(path))
    }
    assert offenders == set()


def test_the_check_sees_relative_imports():
    assert "torrentdesk.services.actions" in imported_modules(PACKAGE / "api" / "torrents.py")
