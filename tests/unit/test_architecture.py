"""The house's rules (docs/architecture.md, "Layering"), read from the imports: rooms, the port, no cycles."""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "adapters", "storage")


def _python_files(package: str) -> list[Path]:
    return [p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts]


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES for p in _python_files(package)}


def _own_module(name: str) -> str | None:
    """The project module an import names (``bot.core.i18n._`` -> ``bot.core.i18n``), or None for a library."""
    modules = _modules()
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _runtime_import_nodes(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Import statements that run: those under ``if TYPE_CHECKING:`` only feed a type checker."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(inner) for inner in ast.walk(node))
    return [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom) and id(n) not in skipped]


@cache
def _imports(module: str) -> frozenset[str]:
    """Every name a module imports when it runs (functions' late imports included), as absolute dotted names."""
    path = _modules()[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_import_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            parts = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*parts, base] if base else parts)
        found.add(base)
        found.update(f"{base}.{alias.name}" for alias in node.names)
    return frozenset(found)


@cache
def _edges(module: str) -> frozenset[str]:
    """The project modules ``module`` imports directly."""
    return frozenset(own for name in _imports(module) if (own := _own_module(name)) and own != module)


def _reach(module: str) -> dict[str, str]:
    """Every module ``module`` imports, directly or through others: {module: the one that imported it}."""
    seen: dict[str, str] = {}
    todo = [module]
    while todo:
        current = todo.pop()
        for target in _edges(current):
            if target not in seen and target != module:
                seen[target] = current
                todo.append(target)
    return seen


def _libraries_reached(module: str) -> dict[str, str]:
    """Third-party top-level packages ``module`` loads, directly or through project modules: {library: by whom}."""
    found: dict[str, str] = {}
    for current in (module, *_reach(module)):
        for name in _imports(current):
            if _own_module(name) is None:
                found.setdefault(name.split(".")[0], current)
    return found


def _path(seen: dict[str, str], start: str, end: str) -> str:
    chain = [end]
    while chain[-1] != start:
        chain.append(seen[chain[-1]])
    return " -> ".join(reversed(chain))


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's components of more than one node: each is an import cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def room(module: str) -> str:
    """``bot.access.verify`` -> ``bot.access``; ``storage.claims`` -> ``storage``; ``adapters.telegram.x`` -> that."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] in ("bot", "adapters") else parts[0]


# --- no loops ---------------------------------------------------------------------------------------------


def test_no_import_cycle_between_modules():
    graph = {module: set(_edges(module)) for module in _modules()}
    assert _strongly_connected(graph) == []


def test_no_import_cycle_between_rooms():
    graph: dict[str, set[str]] = {}
    for module in _modules():
        graph.setdefault(room(module), set()).update(room(t) for t in _edges(module) if room(t) != room(module))
    assert _strongly_connected(graph) == []


# Which rooms each room may import: the core below everything, features beside each other only where named,
# the wiring above all. A new room must be added here, and to docs/architecture.md, on purpose.
MAY_IMPORT = {
    "storage": set(),
    "bot.core": {"storage"},
    "bot.clients": {"bot.core"},
    "bot.sandbox": {"bot.core", "bot.clients"},
    "bot.general": {"bot.core", "storage"},
    "bot.catalog": {"bot.core", "bot.clients", "storage"},
    "bot.access": {"bot.core", "bot.clients", "storage"},
    "bot.auctions": {"bot.core", "bot.clients", "storage"},
    "bot.alerts": {"bot.core", "bot.clients", "bot.auctions", "storage"},
    "bot.dashboard": {"bot.core", "bot.clients", "bot.access", "storage"},
    "bot.wiring": {"*"},
}


def test_each_room_imports_only_the_rooms_below_it():
    for module in _modules():
        own = room(module)
        if own.startswith("adapters") or own == "bot" or "*" in MAY_IMPORT.get(own, set()):
            continue
        assert own in MAY_IMPORT, f"{own} is a room the house does not know: add it to MAY_IMPORT and the docs"
        for target in _edges(module):
            other = room(target)
            assert other == own or other in MAY_IMPORT[own], f"{module} imports {target}: {own} may not use {other}"


# --- adapters see the port ----------------------------------------------------------------------------------

# All an adapter may import from the project: the vocabulary and the port. Nothing it imports may reach further.
ADAPTERS_MAY_USE = {
    "bot.core.messages", "bot.core.registry", "bot.core.port", "bot.core.errors", "bot.core.i18n", "bot.core.logs",
    "bot.core.pacing", "bot.core.wording", "bot.core.arguments", "bot.core.formatting", "bot.core.clock",
    "bot", "bot.core",  # the packages themselves: their __init__ files are empty
}  # fmt: skip
# Libraries that only the database and the upstream clients need: an adapter never loads them, even indirectly.
ADAPTERS_NEVER_LOAD = {"sqlmodel", "sqlalchemy", "alembic", "psycopg", "cryptography", "jwt", "matplotlib"}


def _adapter_modules() -> list[str]:
    return sorted(m for m in _modules() if m.startswith("adapters."))


def test_adapters_reach_only_the_port_and_the_vocabulary_even_indirectly():
    for module in _adapter_modules():
        seen = _reach(module)
        for target in seen:
            if target.startswith(("adapters.", "bot.core.i18n")) or target == "adapters":
                continue
            assert target in ADAPTERS_MAY_USE, f"{module} reaches {target}: {_path(seen, module, target)}"


def test_adapters_never_load_the_database_or_client_libraries_even_indirectly():
    for module in _adapter_modules():
        loaded = _libraries_reached(module)
        for library in ADAPTERS_NEVER_LOAD & loaded.keys():
            raise AssertionError(f"{module} loads {library} (imported by {loaded[library]})")


def _adapter_of(module: str) -> str:
    return module.split(".")[1]


def test_adapters_do_not_import_each_other():
    for module in _adapter_modules():
        for target in _edges(module):
            if target.startswith("adapters.") and target != "adapters":
                assert _adapter_of(target) == _adapter_of(module), f"{module} imports {target}"


def test_the_checks_see_a_transitive_import():
    # The rules above are only as good as the graph: an adapter reaching storage through a port module is seen.
    seen = _reach("bot.core.adapter_port")
    assert any(target.startswith("storage") for target in seen)
    assert "bot.core.adapter_port" not in _reach("adapters.telegram.adapter")


# --- storage and the platforms ---------------------------------------------------------------------------


def test_core_and_storage_never_import_telegram_or_discord():
    modules = sorted(m for m in _modules() if m.startswith(("bot", "storage")))
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('telegram', 'discord'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"platform libraries imported by the core: {result.stdout}"


def test_storage_imports_neither_the_core_nor_the_adapters():
    for module in _modules():
        if module.startswith("storage"):
            for name in _imports(module):
                assert not name.startswith(("bot", "adapters")), f"{module} imports {name}"


# The wiring (app, cli, its settings' env names) and the sandbox may name platforms; the core may not.
PLATFORM_AWARE = ("bot/wiring/", "bot/core/config.py", "bot/sandbox/")


def _code_strings(path: Path) -> list[tuple[int, str]]:
    """String constants in a module that are not docstrings."""
    tree = ast.parse(path.read_text())
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_the_core_names_no_platform():
    for path in _python_files("bot"):
        relative = str(path.relative_to(ROOT))
        if relative.startswith(PLATFORM_AWARE):
            continue
        for line, text in _code_strings(path):
            lowered = text.lower()
            assert "telegram" not in lowered and "discord" not in lowered, f"{relative}:{line} names a platform"
            assert "<@" not in text, f"{relative}:{line} writes a platform's markup"


def test_no_module_is_over_400_lines():
    for package in PACKAGES:
        for path in _python_files(package):
            lines = len(path.read_text().splitlines())
            assert lines <= 400, f"{path.relative_to(ROOT)} has {lines} lines: split it by what it does"


def test_every_module_says_what_it_is_for():
    for package in PACKAGES:
        for path in _python_files(package):
            text = path.read_text()
            if text.strip():
                assert ast.get_docstring(ast.parse(text)), f"{path.relative_to(ROOT)} has no docstring"
