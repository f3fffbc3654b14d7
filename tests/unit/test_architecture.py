"""Layering rules from STYLE.md that a test can hold: the core and storage never import a chat platform."""

from __future__ import annotations

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
