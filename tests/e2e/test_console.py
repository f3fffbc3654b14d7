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


# --- issue 22: numbers that stay, a prompt redrawn, Ctrl-C at once, nothing left in /tmp -------------------


async def test_an_alert_between_a_confirmation_and_its_press_takes_numbers_of_its_own(core, auctionity_sandbox):
    from bot.sandbox.auctionity import SANDBOX_ALICE_EMAIL, SANDBOX_ALICE_PASSWORD

    out = io.StringIO()
    console = ConsoleAdapter(core, stdin=io.StringIO(""), stdout=out, read_secret=lambda _: SANDBOX_ALICE_PASSWORD)
    await console.handle_line("/login")
    await console.handle_line(SANDBOX_ALICE_EMAIL)
    await console.handle_line(SANDBOX_ALICE_PASSWORD)
    shown = await console.handle_line(f"/auctions {SEED_IDS['live_no_bids']}")
    bid = next(b for row in shown.buttons for b in row if b.label.startswith("Bid"))
    number = [b for row in shown.buttons for b in row].index(bid) + 1
    message = re.findall(r"\[(\d+)\.1\] Watch", out.getvalue())[-1]
    confirm = await console.handle_line(f"{message}.{number}")
    assert confirm.title == "Confirm your bid"
    (asked,) = re.findall(r"\[(\d+)\.1\] Confirm", out.getvalue())

    alert = Reply(title="You were outbid", buttons=((Button("Unwatch", "unwatch 0x1"), Button("Show", "help")),))
    await console.send(Alert("console", "local", "local", alert))
    (alerted,) = re.findall(r"\[(\d+)\.1\] Unwatch", out.getvalue())
    assert alerted != asked, "the alert got a message number of its own"

    placed = await console.handle_line(f"{asked}.1")
    assert placed.title == "Bid placed", "the confirmation's button still presses Confirm"


async def test_a_bare_number_presses_the_last_answer_not_a_later_alert(core):
    out = io.StringIO()
    console = ConsoleAdapter(core, stdin=io.StringIO(""), stdout=out)
    await console.handle_line("/items")
    alert = Reply(title="Outbid", buttons=tuple((Button(f"B{i}", "help"),) for i in range(8)))
    await console.send(Alert("console", "local", "local", alert))
    reply = await console.handle_line("6")
    assert reply.title.startswith("Items (page 2 of")


class Terminal(io.StringIO):
    """Standard input that says it is a terminal; its lines are handed over by the test, one at a time."""

    def __init__(self) -> None:
        super().__init__()
        import queue

        self.lines: queue.Queue[str] = queue.Queue()

    def isatty(self) -> bool:
        return True

    def readline(self, size: int | None = -1) -> str:
        return self.lines.get()


async def test_an_alert_is_printed_above_the_prompt_which_is_drawn_again(core):
    import asyncio

    from adapters.console import CLEAR_LINE

    terminal, out = Terminal(), io.StringIO()
    console = ConsoleAdapter(core, stdin=terminal, stdout=out, read_secret=lambda _: "", typed_so_far=lambda: "/bi")
    chat = asyncio.create_task(console.run())
    try:
        for _ in range(500):
            if out.getvalue().endswith("you> "):
                break
            await asyncio.sleep(0.01)
        await console.send(Alert("console", "local", "local", Reply(title="You were outbid")))
        assert out.getvalue().endswith(f"you> {CLEAR_LINE}🔔 You were outbid\nyou> /bi"), repr(out.getvalue()[-80:])
    finally:
        terminal.lines.put("/quit\n")
        await asyncio.wait_for(chat, 10)


def test_ctrl_c_leaves_the_demo_at_once_and_leaves_nothing_in_tmp(tmp_path: Path):
    import signal
    import time

    env = {k: v for k, v in os.environ.items() if not k.startswith(("GAVEL_", "DATABASE_URL"))}
    env["TMPDIR"] = str(tmp_path)
    demo = subprocess.Popen(
        [sys.executable, "-m", "bot.wiring.cli", "demo", "--no-rivals"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        assert demo.stdin is not None and demo.stdout is not None
        demo.stdin.write(f"/auctions {SEED_IDS['live_with_bids']}\n")  # a chart: a picture file in /tmp
        demo.stdin.flush()
        while "Chart:" not in (line := demo.stdout.readline()):
            assert line, "the demo ended before showing the chart"
        # The next line never comes (stdin stays open): only Ctrl-C can end the demo now.
        interrupted = time.monotonic()
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=15)
        assert time.monotonic() - interrupted < 10
    finally:
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 130
    assert list(tmp_path.iterdir()) == [], "no gavel-pictures-* nor gavel-demo-* left behind"
