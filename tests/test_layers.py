"""The layering rules of DESIGN.md, checked on the source: imports go one way."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "core": {"slack_bolt", "slack_sdk", "sqlmodel", "sqlalchemy", "bot", "storage", "alembic"},
    "storage": {"slack_bolt", "slack_sdk", "bot"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_go_one_way(layer: str) -> None:
    bad = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & FORBIDDEN[layer])
        for path in (ROOT / layer).rglob("*.py")
        if _imports(path) & FORBIDDEN[layer]
    }
    assert bad == {}, f"{layer}/ imports what it must not: {bad}"


def test_handlers_run_no_sql() -> None:
    offenders = []
    for path in (ROOT / "bot" / "handlers").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        if any(s in text for s in ("select(", "session.exec", "session.execute", ".query(")):
            offenders.append(path.name)
    assert offenders == []
