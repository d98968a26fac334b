"""The code's shape, checked on the source (docs/architecture.md): no import cycle among
`bot`, `core` and `storage`, and no state kept in a module.

Both checks read the files with `ast`; nothing is imported.
"""

from __future__ import annotations

import ast
import re
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "core", "storage")
EXCLUDED = (Path("storage/migrations/versions"),)


# --------------------------------------------------------------------------- sources


def _source_files(root: Path = ROOT) -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root)
            if any(relative.is_relative_to(excluded) for excluded in EXCLUDED):
                continue
            yield relative


def _module_name(relative: Path) -> str:
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level(body: Iterable[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements run when the module is imported: the top level, and the insides of
    top-level `if`/`try`/`with` blocks (not `if TYPE_CHECKING:`, not functions)."""
    for node in body:
        yield node
        if isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _module_level(node.body)
            yield from _module_level(node.orelse)
        elif isinstance(node, ast.Try | ast.TryStar):
            yield from _module_level(node.body)
            for handler in node.handlers:
                yield from _module_level(handler.body)
            yield from _module_level(node.orelse)
            yield from _module_level(node.finalbody)
        elif isinstance(node, ast.With):
            yield from _module_level(node.body)


# --------------------------------------------------------------------------- import cycles


def _imported(module: str, is_package: bool, node: ast.stmt, known: set[str]) -> set[str]:
    """The known modules an import statement loads, parent packages included."""
    targets: list[str] = []
    if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base_parts = module.split(".")
            if not is_package:
                base_parts = base_parts[:-1]
            base_parts = base_parts[: len(base_parts) - (node.level - 1)]
            base = ".".join(base_parts + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        for alias in node.names:
            candidate = f"{base}.{alias.name}"
            targets.append(candidate if candidate in known else base)
    # The packages holding the importing module were started before it ran, so loading
    # them again as parents of a target is no edge; named themselves, they are one.
    own = {".".join(module.split(".")[:end]) for end in range(1, module.count(".") + 1)}
    found: set[str] = set()
    for target in targets:
        parts = target.split(".")
        for end in range(1, len(parts) + 1):
            prefix = ".".join(parts[:end])
            if prefix in known and (end == len(parts) or prefix not in own):
                found.add(prefix)
    found.discard(module)
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    files = {_module_name(relative): relative for relative in _source_files(root)}
    known = set(files)
    graph: dict[str, set[str]] = {}
    for module, relative in files.items():
        tree = ast.parse((root / relative).read_text(encoding="utf-8"), str(relative))
        is_package = relative.name == "__init__.py"
        edges: set[str] = set()
        for node in _module_level(tree.body):
            if isinstance(node, ast.Import | ast.ImportFrom):
                edges |= _imported(module, is_package, node, known)
        graph[module] = edges
    return graph


def strongly_connected(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def _shortest_cycle(graph: Mapping[str, Iterable[str]], members: list[str]) -> list[str]:
    """A shortest cycle through the component's first member, staying inside it."""
    inside = set(members)
    start = members[0]
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(graph.get(node, ())):
            if child not in inside:
                continue
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if child not in came_from:
                came_from[child] = node
                queue.append(child)
    return [start, start]


def import_cycles(graph: Mapping[str, Iterable[str]]) -> list[str]:
    """Each cycle as `a -> b -> a`, one line per strongly connected component."""
    lines = []
    for members in strongly_connected(graph):
        if len(members) == 1 and members[0] not in graph.get(members[0], ()):
            continue
        cycle = _shortest_cycle(graph, members)
        line = " -> ".join(cycle)
        if len(members) > len(cycle) - 1:
            line += f"   (one of {len(members)} modules importing each other: {', '.join(members)})"
        lines.append(line)
    return sorted(lines)


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {
        "a": {"b"},
        "b": {"c"},
        "c": {"a", "d"},
        "d": set(),
        "e": {"e"},
        "f": {"g"},
        "g": {"f", "d"},
    }
    assert import_cycles(graph) == [
        "a -> b -> c -> a",
        "e -> e",
        "f -> g -> f",
    ]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_reads_imports_as_python_runs_them(tmp_path: Path) -> None:
    files = {
        "bot/__init__.py": "",
        "bot/a.py": (
            "from typing import TYPE_CHECKING\n"
            "import bot.pkg.deep\n"
            "from bot.pkg import sub, NAME\n"
            "try:\n    from . import b\nexcept ImportError:\n    pass\n"
            "if TYPE_CHECKING:\n    from bot import c\n"
            "def lazy():\n    from bot import d\n"
        ),
        "bot/b.py": "from .pkg.sub import x\n",
        "bot/c.py": "",
        "bot/d.py": "",
        "bot/pkg/__init__.py": "from bot.pkg.sub import NAME\n",
        "bot/pkg/sub.py": "from bot.pkg.deep import y\n",
        "bot/pkg/deep.py": "from bot.pkg import NAME\n",
        "storage/migrations/versions/0001.py": "import bot.a\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = import_graph(tmp_path)
    assert graph["bot.a"] == {"bot.pkg", "bot.pkg.deep", "bot.pkg.sub", "bot.b"}
    assert graph["bot.b"] == {"bot.pkg", "bot.pkg.sub"}
    # A module's own packages were started before it: only naming them is an edge.
    assert graph["bot.pkg.sub"] == {"bot.pkg.deep"}
    assert graph["bot.pkg.deep"] == {"bot.pkg"}
    assert "storage.migrations.versions.0001" not in graph
    assert import_cycles(graph) == [
        "bot.pkg -> bot.pkg.sub -> bot.pkg.deep -> bot.pkg",
    ]


def test_the_import_graph_sees_the_code() -> None:
    graph = import_graph()
    assert "bot.app" in graph and "core.metrics" in graph and "storage.db" in graph
    assert not any(module.startswith("storage.migrations.versions") for module in graph)
    assert sum(len(edges) for edges in graph.values()) > 100


def test_no_import_cycle() -> None:
    cycles = import_cycles(import_graph())
    assert not cycles, "import cycles among bot, core and storage:\n" + "\n".join(cycles)


# --------------------------------------------------------------------------- module state

# Process-wide infrastructure that is global by nature: (path, name) -> why.
ALLOWED: dict[tuple[str, str], str] = {
    ("bot/observability.py", "METRICS"): (
        "the process's own figures: HTTP counters and latency, Slack errors, and the process "
        "gauges (running workers, start time, scheduler leader); in multiprocess mode "
        "prometheus_client keeps one set of files per process id, so a second Metrics in the "
        "process would share them anyway, and /metrics reports the process, not a bot"
    ),
    ("bot/i18n/slack_locale.py", "_cache"): (
        "a TTL cache of users' Slack locales and timezones, keyed by (API base URL, user id) "
        "so two bots against different Slacks never see each other's answers; read through "
        "bot.i18n.user_locale/user_timezone by every feature, so moving it onto Services "
        "changes every caller"
    ),
    ("bot/i18n/slack_locale.py", "_lock"): "guards `_cache` above",
    ("bot/localslack/api.py", "METHODS"): (
        "the local Slack's table of Web API methods, filled once at import by @method and only "
        "read afterwards; what a local Slack holds (channels, messages, calls) is in its "
        "Workspace, one per LocalSlack"
    ),
    ("core/analyzer.py", "_counts_memo"): (
        "a bounded memo of a pure function (a text's hashed n-gram counts), what "
        "functools.lru_cache would be if it could look up a batch of texts under one lock; "
        "no answer depends on what it holds"
    ),
    ("storage/fresh.py", "_all"): (
        "every FreshCache of the process, so that forget_everything() can drop them when a "
        "database is emptied or replaced under the process (the tests do, between databases)"
    ),
    ("storage/settings_store.py", "_copies"): (
        "a copy of the database's workspace settings, at most FRESH_SECONDS old, keyed by the "
        "database's URL (storage.fresh.database_key): the command line's engine and the "
        "server's share it, and two bots on different databases never do"
    ),
    ("storage/shoutouts.py", "_people"): (
        "a five-second copy of a workspace's member directory and name finder, keyed by the "
        "database's URL like `_copies` in storage/settings_store.py"
    ),
}

STATEFUL_CALLS = {
    "concurrent.futures.ThreadPoolExecutor",
    "concurrent.futures.ProcessPoolExecutor",
    "concurrent.futures.thread.ThreadPoolExecutor",
    "concurrent.futures.process.ProcessPoolExecutor",
    *(
        f"threading.{name}"
        for name in ("Lock", "RLock", "Event", "Condition", "Semaphore", "BoundedSemaphore")
    ),
    *(f"asyncio.{name}" for name in ("Lock", "Event", "Condition", "Semaphore", "Queue")),
    *(f"multiprocessing.{name}" for name in ("Lock", "RLock", "Event", "Queue", "Pool")),
    *(f"queue.{name}" for name in ("Queue", "SimpleQueue", "LifoQueue", "PriorityQueue")),
    *(
        f"collections.{name}"
        for name in ("defaultdict", "deque", "Counter", "OrderedDict", "ChainMap")
    ),
    *(f"builtins.{name}" for name in ("dict", "list", "set", "bytearray")),
}
MUTATING_METHODS = {
    "append",
    "extend",
    "insert",
    "add",
    "update",
    "setdefault",
    "pop",
    "popitem",
    "remove",
    "discard",
    "clear",
    "appendleft",
    "extendleft",
    "popleft",
    "difference_update",
    "intersection_update",
    "symmetric_difference_update",
}
IMMUTABLE_BASES = {
    "Enum",
    "IntEnum",
    "StrEnum",
    "Flag",
    "IntFlag",
    "NamedTuple",
    "TypedDict",
    "Protocol",
    "BaseException",
    "Exception",
}


@dataclass(frozen=True, order=True)
class Offence:
    path: str
    line: int
    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.name}: {self.reason}"


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else None
    return None


def _root_name(node: ast.expr) -> ast.Name | None:
    """`NAME` of `NAME[...]`, `NAME.attr`, `NAME[a].b[c]`."""
    while isinstance(node, ast.Subscript | ast.Attribute):
        node = node.value
    return node if isinstance(node, ast.Name) else None


class _ModuleState:
    def __init__(
        self, path: str, tree: ast.Module, project_classes: Mapping[str, bool] | None = None
    ) -> None:
        self.path = path
        self.tree = tree
        # "storage.fresh.FreshCache" -> whether instances are immutable, over the project.
        self.project_classes = project_classes or {}
        self.offences: list[Offence] = []
        self.aliases: dict[str, str] = {}  # local name -> dotted origin
        self.classes: dict[str, ast.ClassDef] = {}
        self.tracked: dict[str, ast.stmt] = {}  # mutable module-level name -> its binding
        self.top = list(_module_level(tree.body))

    def flag(self, node: ast.AST, name: str, reason: str) -> None:
        self.offences.append(Offence(self.path, getattr(node, "lineno", 0), name, reason))

    # ------------------------------------------------------------ what names mean

    def collect(self) -> None:
        for node in self.top:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.aliases[alias.asname] = alias.name
                    else:
                        head = alias.name.split(".")[0]
                        self.aliases[head] = head
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.ClassDef):
                self.classes[node.name] = node

    def qualified(self, func: ast.expr) -> str | None:
        dotted = _dotted(func)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        if head in self.aliases:
            origin = self.aliases[head]
        elif head in self.classes or self._bound_at_top(head):
            return dotted
        else:
            origin = f"builtins.{head}"
        return f"{origin}.{rest}" if rest else origin

    def _bound_at_top(self, name: str) -> bool:
        for node in self.top:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
                return True
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == name for t in node.targets
            ):
                return True
        return False

    def immutable_class(self, name: str, seen: frozenset[str] = frozenset()) -> bool:
        cls = self.classes[name]
        for decorator in cls.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if (_dotted(target) or "").split(".")[-1] == "dataclass":
                return isinstance(decorator, ast.Call) and any(
                    kw.arg == "frozen"
                    and isinstance(kw.value, ast.Constant)
                    and kw.value.value is True
                    for kw in decorator.keywords
                )
        for base in cls.bases:
            base_name = (_dotted(base) or "").split(".")[-1]
            if base_name in IMMUTABLE_BASES or base_name.endswith(("Error", "Exception")):
                return True
            if (
                base_name in self.classes
                and base_name not in seen
                and self.immutable_class(base_name, seen | {name})
            ):
                return True
        return False

    # ------------------------------------------------------------ the rules

    def check_bindings(self) -> None:
        for node in self.top:
            if isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets, value = [node.target], node.value
            else:
                continue
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            if not names:
                continue
            mutable = isinstance(
                value, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp | ast.SetComp
            )
            if isinstance(value, ast.Call):
                origin = self.qualified(value.func)
                short = (_dotted(value.func) or "").split(".")[-1]
                if origin in STATEFUL_CALLS:
                    mutable = True
                    for name in names:
                        self.flag(node, name, f"module-level {origin.removeprefix('builtins.')}()")
                elif short in self.classes and not self.immutable_class(short):
                    mutable = True
                    for name in names:
                        self.flag(
                            node,
                            name,
                            f"module-level instance of {short}, a mutable class of this module",
                        )
                elif origin is not None and self.project_classes.get(origin) is False:
                    mutable = True
                    module, _, cls = origin.rpartition(".")
                    for name in names:
                        self.flag(
                            node,
                            name,
                            f"module-level instance of {cls} ({module}), a mutable class",
                        )
                elif short[:1] == "_" and short[1:2].isupper():
                    mutable = True
                    for name in names:
                        self.flag(node, name, f"module-level instance of private class {short}")
            if mutable:
                for name in names:
                    self.tracked.setdefault(name, node)

    def check_globals(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Global):
                for name in node.names:
                    self.flag(node, name, "`global` rebinds module state from a function")

    def check_mutations(self) -> None:
        if not self.tracked:
            return
        # At module level, after (outside) the binding statement.
        for node in self.top:
            if node in self.tracked.values() or isinstance(
                node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
            ):
                continue
            for stmt in _statements_outside_scopes(node):
                self._mutations(stmt, frozenset(), "at module level")
        # Inside every function (methods and nested functions included).
        self._functions(self.tree.body, frozenset())

    def _functions(self, body: Iterable[ast.stmt], shadowed: frozenset[str]) -> None:
        for node in body:
            for inner in _statements_outside_scopes(node, include_self=True):
                if isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef):
                    local = shadowed | _local_names(inner)
                    for stmt in inner.body:
                        for piece in _statements_outside_scopes(stmt):
                            self._mutations(piece, local, f"in {inner.name}()")
                    self._functions(inner.body, local)
                elif isinstance(inner, ast.ClassDef):
                    self._functions(inner.body, shadowed)

    def _mutations(self, stmt: ast.stmt, local: frozenset[str], where: str) -> None:
        def hit(target: ast.expr, what: str) -> None:
            root = _root_name(target)
            if root is not None and root.id in self.tracked and root.id not in local:
                self.flag(stmt, root.id, f"{what} {where}")

        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                for part in _unpack(target):
                    if isinstance(part, ast.Subscript | ast.Attribute):
                        hit(part, "item or attribute assigned")
        elif isinstance(stmt, ast.AnnAssign) and isinstance(
            stmt.target, ast.Subscript | ast.Attribute
        ):
            hit(stmt.target, "item or attribute assigned")
        elif isinstance(stmt, ast.AugAssign):
            if isinstance(stmt.target, ast.Subscript | ast.Attribute):
                hit(stmt.target, "augmented assignment to an item")
            elif not local and where == "at module level" and isinstance(stmt.target, ast.Name):
                hit(stmt.target, "augmented assignment")
        elif isinstance(stmt, ast.Delete):
            for target in stmt.targets:
                if isinstance(target, ast.Subscript | ast.Attribute):
                    hit(target, "item deleted")
        for node in _expressions_outside_scopes(stmt):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in MUTATING_METHODS
            ):
                hit(node.func.value, f".{node.func.attr}() called")


def _unpack(target: ast.expr) -> Iterator[ast.expr]:
    if isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _unpack(element)
    elif isinstance(target, ast.Starred):
        yield from _unpack(target.value)
    else:
        yield target


SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _statements_outside_scopes(node: ast.stmt, include_self: bool = True) -> Iterator[ast.stmt]:
    """`node` and the statements nested in it, not entering functions or classes (which
    are yielded but not entered)."""
    if include_self:
        yield node
    if isinstance(node, SCOPES):
        return
    for child in _child_statements(node):
        yield from _statements_outside_scopes(child)


def _child_statements(node: ast.AST) -> Iterator[ast.stmt]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.stmt):
            yield child
        elif isinstance(child, ast.excepthandler | ast.match_case):
            yield from _child_statements(child)


def _expressions_outside_scopes(stmt: ast.stmt) -> Iterator[ast.AST]:
    """The expressions of one statement (not of the statements nested in it)."""
    if isinstance(stmt, SCOPES):
        return
    pending: list[ast.AST] = [c for c in ast.iter_child_nodes(stmt) if isinstance(c, ast.expr)]
    while pending:
        node = pending.pop()
        yield node
        if isinstance(node, ast.Lambda):
            continue
        pending.extend(
            c for c in ast.iter_child_nodes(node) if not isinstance(c, ast.stmt | ast.excepthandler)
        )


def _local_names(func: ast.FunctionDef | ast.AsyncFunctionDef) -> frozenset[str]:
    """Names a function binds itself (parameters, assignments, imports, loop targets),
    less those it declares `global`."""
    args = func.args
    names = {
        a.arg
        for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg)
        if a
    }
    declared_global: set[str] = set()
    for stmt in func.body:
        for inner in _statements_outside_scopes(stmt):
            if isinstance(inner, ast.Global | ast.Nonlocal):
                declared_global.update(inner.names)
            elif isinstance(inner, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(inner.name)
            elif isinstance(inner, ast.Import | ast.ImportFrom):
                names.update((a.asname or a.name).split(".")[0] for a in inner.names)
            if isinstance(inner, SCOPES):
                continue
            for node in _expressions_outside_scopes(inner):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.add(node.id)
            for target in _statement_targets(inner):
                for part in _unpack(target):
                    if isinstance(part, ast.Name):
                        names.add(part.id)
    return frozenset(names - declared_global)


def _statement_targets(stmt: ast.stmt) -> list[ast.expr]:
    if isinstance(stmt, ast.Assign):
        return list(stmt.targets)
    if isinstance(stmt, ast.AnnAssign | ast.AugAssign):
        return [stmt.target]
    if isinstance(stmt, ast.For | ast.AsyncFor):
        return [stmt.target]
    if isinstance(stmt, ast.With | ast.AsyncWith):
        return [item.optional_vars for item in stmt.items if item.optional_vars is not None]
    if isinstance(stmt, ast.Try | ast.TryStar):
        return [ast.Name(id=h.name, ctx=ast.Store()) for h in stmt.handlers if h.name]
    return []


def module_state(
    path: str, source: str, project_classes: Mapping[str, bool] | None = None
) -> list[Offence]:
    checker = _ModuleState(path, ast.parse(source, path), project_classes)
    checker.collect()
    checker.check_bindings()
    checker.check_globals()
    checker.check_mutations()
    return sorted(set(checker.offences))


def _project_classes(sources: Mapping[Path, str]) -> dict[str, bool]:
    """Every module-level class of the three packages, and whether it is immutable."""
    classes: dict[str, bool] = {}
    for relative, source in sources.items():
        checker = _ModuleState(relative.as_posix(), ast.parse(source, str(relative)))
        checker.collect()
        module = _module_name(relative)
        for name in checker.classes:
            classes[f"{module}.{name}"] = checker.immutable_class(name)
    return classes


def all_module_state() -> list[Offence]:
    sources = {r: (ROOT / r).read_text(encoding="utf-8") for r in _source_files()}
    classes = _project_classes(sources)
    found: list[Offence] = []
    for relative, source in sources.items():
        found.extend(module_state(relative.as_posix(), source, classes))
    return found


SYNTHETIC = """
from __future__ import annotations

import collections
import functools
import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import NamedTuple, TypeVar

log = logging.getLogger(__name__)
PATTERN = re.compile("x")
T = TypeVar("T")
current: ContextVar[str] = ContextVar("current")
TABLE = MappingProxyType({"a": 1})
NAMES = ("a", "b")
FROZEN = frozenset({1})
CONSTANT_MAP = {"a": 1}
_executor = ThreadPoolExecutor(max_workers=2)
_lock = threading.Lock()
_counts = collections.defaultdict(int)
_made = dict()
_registry: list[str] = []
_by_name = {k: k for k in NAMES}
_late: set[str] = set()
_late.add("x")
for _name in NAMES:
    _by_name[_name] = _name


class Colour(Enum):
    RED = 1


class Point(NamedTuple):
    x: int


@dataclass(frozen=True)
class Frozen:
    x: int = 0


@dataclass
class Loose:
    x: int = 0


class _State:
    value = 0


class Oops(Exception):
    pass


RED = Colour.RED
ORIGIN = Point(0)
DEFAULT = Frozen()
LOOSE = Loose()
_state = _State()
ERROR = Oops("x")


@functools.lru_cache
def cached(x: int) -> int:
    return x


def register(name: str) -> None:
    _registry.append(name)


def put(key: str) -> None:
    _by_name[key] = key
    _counts[key] += 1
    LOOSE.x = 1


def drop(key: str) -> None:
    del _by_name[key]


def rebind() -> None:
    global _registry
    _registry = []


def shadowed(_registry: list[str], CONSTANT_MAP: dict[str, int]) -> None:
    _registry.append("ok")
    CONSTANT_MAP["ok"] = 1
    local = {}
    local["ok"] = 1


class Holder:
    def method(self) -> None:
        CONSTANT_MAP.update(b=2)
"""


def test_each_module_state_rule_fires() -> None:
    found = {(o.name, o.reason) for o in module_state("synthetic.py", SYNTHETIC)}
    expected = {
        ("_executor", "module-level concurrent.futures.ThreadPoolExecutor()"),
        ("_lock", "module-level threading.Lock()"),
        ("_counts", "module-level collections.defaultdict()"),
        ("_made", "module-level dict()"),
        ("_late", "module-level set()"),
        ("LOOSE", "module-level instance of Loose, a mutable class of this module"),
        ("_state", "module-level instance of _State, a mutable class of this module"),
        ("_late", ".add() called at module level"),
        ("_by_name", "item or attribute assigned at module level"),
        ("_registry", ".append() called in register()"),
        ("_by_name", "item or attribute assigned in put()"),
        ("_counts", "augmented assignment to an item in put()"),
        ("LOOSE", "item or attribute assigned in put()"),
        ("_by_name", "item deleted in drop()"),
        ("_registry", "`global` rebinds module state from a function"),
        ("CONSTANT_MAP", ".update() called in method()"),
    }
    assert found == expected
    # A mutable class of another module of the project is caught too.
    other = "from storage.fresh import Cache, Table\n_copies = Cache(1.0)\nROWS = Table()\n"
    classes = {"storage.fresh.Cache": False, "storage.fresh.Table": True}
    assert [(o.name, o.reason) for o in module_state("x.py", other, classes)] == [
        ("_copies", "module-level instance of Cache (storage.fresh), a mutable class")
    ]
    # A class outside this module whose name says it is private is caught too.
    imported = "from elsewhere import _Defaults\n_defaults = _Defaults()\n"
    assert [o.reason for o in module_state("x.py", imported)] == [
        "module-level instance of private class _Defaults"
    ]


def test_the_allow_list_is_current() -> None:
    found = {(o.path, o.name) for o in all_module_state()}
    stale = sorted(set(ALLOWED) - found)
    assert not stale, f"allowed but no longer found, drop them from ALLOWED: {stale}"


def test_no_module_level_mutable_state() -> None:
    offences = [o for o in all_module_state() if (o.path, o.name) not in ALLOWED]
    assert not offences, (
        "state kept in a module (make it an object held by Services, `services.state(Kind)`, "
        "or a functools.cache memo; or add it to ALLOWED with why):\n"
        + "\n".join(str(o) for o in offences)
    )


def test_the_command_line_lists_every_features_commands() -> None:
    """`bot/cli.py` keeps its own list (`cxbot --help` imports no feature): every feature
    package with a `cli.py` is on it, and every feature package is in bot.features."""
    handlers = ROOT / "bot" / "handlers"
    packages = {p.name for p in handlers.iterdir() if (p / "__init__.py").exists()}
    with_commands = {name for name in packages if (handlers / name / "cli.py").exists()}
    cli_source = (ROOT / "bot" / "cli.py").read_text(encoding="utf-8")
    listed = set(re.findall(r"from bot\.handlers\.(\w+) import cli\b", cli_source))
    assert listed == with_commands
    features_source = (ROOT / "bot" / "features.py").read_text(encoding="utf-8")
    registered = set(
        re.findall(r"from bot\.handlers\.(\w+)\.feature import FEATURE", features_source)
    )
    assert registered == packages
