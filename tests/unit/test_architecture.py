"""Layering rules from STYLE.md that a test can hold: the core and storage never import a chat platform."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_core_and_storage_never_import_telegram_or_discord():
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for package in ("bot", "storage")
        for p in (ROOT / package).rglob("*.py")
        if "migrations" not in p.parts
    )
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name.removesuffix('.__init__'))\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('telegram', 'discord'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"platform libraries imported by the core: {result.stdout}"


def _adapter_of(path: Path) -> str:
    """``adapters/telegram/send.py`` -> ``telegram``; ``adapters/console.py`` -> ``console``."""
    parts = path.relative_to(ROOT / "adapters").parts
    return parts[0] if len(parts) > 1 else path.stem


def test_adapters_do_not_import_each_other():
    adapters = {_adapter_of(p) for p in (ROOT / "adapters").rglob("*.py")} - {"__init__"}
    assert {"telegram", "discord", "console"} <= adapters
    for path in (ROOT / "adapters").rglob("*.py"):
        text = path.read_text()
        for other in adapters - {_adapter_of(path)}:
            assert f"adapters.{other}" not in text, f"{path.relative_to(ROOT)} imports adapters.{other}"


def _imports(path: Path) -> set[str]:
    """Every module a file imports (absolute names), at any level of the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def _python_files(package: str) -> list[Path]:
    return [p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts]


# What an adapter may not reach into: the database, the upstream clients, and the core's insides.
ADAPTERS_MAY_NOT_IMPORT = ("storage", "sqlmodel", "sqlalchemy", "httpx", "bot.clients", "bot.services", "bot.commands",
                           "bot.watch", "bot.conversations")  # fmt: skip


def test_adapters_reach_the_database_and_upstreams_only_through_the_core():
    for path in _python_files("adapters"):
        for module in _imports(path):
            assert not module.startswith(ADAPTERS_MAY_NOT_IMPORT), f"{path.relative_to(ROOT)} imports {module}"


def test_storage_imports_neither_the_core_nor_the_adapters():
    for path in _python_files("storage"):
        for module in _imports(path):
            assert not module.startswith(("bot", "adapters")), f"{path.relative_to(ROOT)} imports {module}"


# The wiring (app, cli), the settings (their env names) and the sandbox may name platforms; the core may not.
PLATFORM_AWARE = {"bot/app.py", "bot/cli.py", "bot/config.py"}


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
        if relative in PLATFORM_AWARE or relative.startswith("bot/sandbox/"):
            continue
        for line, text in _code_strings(path):
            lowered = text.lower()
            assert "telegram" not in lowered and "discord" not in lowered, f"{relative}:{line} names a platform"
            assert "<@" not in text, f"{relative}:{line} writes a platform's markup"


def test_no_module_is_over_400_lines():
    for package in ("bot", "adapters", "storage"):
        for path in _python_files(package):
            lines = len(path.read_text().splitlines())
            assert lines <= 400, f"{path.relative_to(ROOT)} has {lines} lines: split it by what it does"
