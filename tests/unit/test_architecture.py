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


def test_adapters_do_not_import_each_other():
    for path in (ROOT / "adapters").glob("*.py"):
        text = path.read_text()
        others = {"telegram_bot", "discord_bot", "console"} - {path.stem}
        for other in others:
            assert f"adapters.{other}" not in text, f"{path.name} imports adapters.{other}"
