"""Every third-party package the code imports is declared in pyproject.toml with an upper bound.

    .venv/bin/python scripts/check_deps.py        # exit 1 and a list when something is off

The product's own packages (bot, core, storage) may import only the runtime
dependencies; tests/, benchmarks/ and scripts/ may also use the `dev` extra.
An import's distribution is found through the installed packages' metadata
(`import yaml` is PyYAML), so run it in the project's virtual environment.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("bot", "core", "storage")
TOOLING = ("tests", "benchmarks", "scripts")
OWN = {*PRODUCT, "tests", "benchmarks", "scripts", "app"}
# Names a requirement may carry that are not the distribution's canonical one.
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_modules(folders: tuple[str, ...]) -> dict[str, set[str]]:
    """Top-level module name -> files importing it (absolute imports only)."""
    found: dict[str, set[str]] = {}
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if ".venv" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    top = name.split(".", 1)[0]
                    if (path.parent / f"{top}.py").exists():
                        continue  # a script's sibling module (benchmarks put theirs on sys.path)
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def declared(requirements: list[str]) -> dict[str, str]:
    out = {}
    for req in requirements:
        match = _NAME.match(req)
        if match:
            out[canonical(match.group(1))] = req
    return out


def main() -> int:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = declared(project["dependencies"])
    dev = declared(project.get("optional-dependencies", {}).get("dev", []))
    providers = importlib.metadata.packages_distributions()
    problems: list[str] = []
    for req in [*runtime.values(), *dev.values()]:
        if "<" not in req and "==" not in req:
            problems.append(f"no upper bound: {req!r}")
    for folders, allowed, what in (
        (PRODUCT, runtime, "runtime dependencies"),
        (TOOLING, {**runtime, **dev}, "runtime or dev dependencies"),
    ):
        for module, files in sorted(imported_modules(folders).items()):
            if module in OWN or module in sys.stdlib_module_names or module == "__future__":
                continue
            dists = {canonical(d) for d in providers.get(module, [])}
            if not dists:
                problems.append(f"{module}: not installed (imported in {sorted(files)[0]})")
            elif not dists & set(allowed):
                problems.append(
                    f"{module} ({', '.join(sorted(dists))}) is not among the {what} "
                    f"(imported in {', '.join(sorted(files)[:3])})"
                )
    for line in problems:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
