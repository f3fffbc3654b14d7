"""The console adapter and `gavel demo` as a new user meets them: piped input, numbered buttons, alerts."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from adapters.console import ConsoleAdapter, render
from bot.core.messages import Alert, Button, Reply
from bot.sandbox.auctionity_data import SEED_IDS
from bot.sandbox.cryptogig import SAMPLE_PURCHASE_CODES

ROOT = Path(__file__).resolve().parents[2]
REGULAR = SAMPLE_PURCHASE_CODES["regular licence, supported"]


def test_gavel_demo_works_with_piped_input():
    script = f"/help\n/items\n6\n/verify {REGULAR}\n/verify nonsense!\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GAVEL_", "DATABASE_URL"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot.wiring.cli", "demo", "--no-rivals"],
        input=script,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr[-2000:]
    assert REGULAR in out, "the demo prints the sample purchase codes"
    assert "/verify [code]" in out and "/watch <auction_id>" in out
    assert "Items (page 1 of" in out and "Items (page 2 of" in out, "typing 6 pressed the Next button"
    assert "Purchase verified" in out and "Licence: Regular" in out and "Supported until" in out
    assert "letters, digits and dashes" in out
    assert "Traceback" not in result.stderr


async def test_console_numbers_buttons_and_presses_them(core):
    out = io.StringIO()
    console = ConsoleAdapter(core, stdin=io.StringIO(""), stdout=out)
    await console.handle_line("/items")
    assert "[1.6] Next ▶" in out.getvalue()
    reply = await console.handle_line("6")
    assert reply.title.startswith("Items (page 2 of")


async def test_console_hides_password_answers_when_piped(core):
    out = io.StringIO()
    stdin = io.StringIO("/login\nalice@sandbox.test\nalice-password\n")
    await ConsoleAdapter(core, stdin=stdin, stdout=out).run()
    text = out.getvalue()
    assert "Logged in" in text
    assert "alice-password" not in text


async def test_console_prints_alerts_with_their_buttons(core):
    out = io.StringIO()
    console = ConsoleAdapter(core, stdin=io.StringIO(""), stdout=out)
    reply = Reply(title="You were outbid", text="Someone bid 150.", buttons=((Button("Unwatch", "unwatch 0x1"),),))
    await console.send(Alert("console", "local", "local", reply))
    assert "🔔 You were outbid" in out.getvalue() and "[1.1] Unwatch" in out.getvalue()


def test_render_shows_fields_image_and_link_buttons():
    shown, buttons = render(
        Reply(title="T", image_url="https://x/y.png", buttons=((Button("Demo", url="https://d"),),))
    )
    assert "[image] https://x/y.png" in shown and "<https://d>" in shown and len(buttons) == 1


def temp_folder(tmp_path: Path, monkeypatch) -> Path:
    """Temporary files of this test go here, apart from its database (which lives in tmp_path too)."""
    folder = tmp_path / "temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


async def test_console_saves_an_auctions_price_chart_and_prints_where(core, tmp_path, monkeypatch):
    temp = temp_folder(tmp_path, monkeypatch)
    out = io.StringIO()
    console = ConsoleAdapter(core, stdin=io.StringIO(""), stdout=out)
    await console.handle_line(f"/auctions {SEED_IDS['live_with_bids']}")
    (path,) = re.findall(r"Chart: (\S+)", out.getvalue())
    assert Path(path).is_relative_to(temp) and Path(path).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "[1.1] Watch" in out.getvalue(), "the buttons still follow"


async def test_console_prints_no_chart_for_an_auction_with_one_bid_or_none(core, tmp_path, monkeypatch):
    temp = temp_folder(tmp_path, monkeypatch)
    out = io.StringIO()
    console = ConsoleAdapter(core, stdin=io.StringIO(""), stdout=out)
    await console.handle_line(f"/auctions {SEED_IDS['live_single_bid']}")
    await console.handle_line(f"/auctions {SEED_IDS['live_no_bids']}")
    assert out.getvalue().count("Signed whitepaper print") == 1 and "Chart:" not in out.getvalue()
    assert not any(temp.iterdir())
