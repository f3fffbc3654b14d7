"""`gavel doctor` as an operator meets it: every platform and upstream reached for real, each line saying what was
called, what came back and what to do, exit status 1 on anything BAD, and no ./gavel.db left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bot.wiring.doctor import doctor
from storage.db import head_revision, upgrade
from tests.fakes.discord_standin import DiscordStandIn, serve_standin
from tests.fakes.telegram_api import TOKEN

ROOT = Path(__file__).resolve().parents[2]
DISCORD_TOKEN = "MTIz.discord-standin-token"


async def run_doctor(settings: Any) -> tuple[int, list[str]]:
    lines: list[str] = []
    status = await doctor(settings, out=lines.append)
    return status, lines


def line_with(lines: list[str], words: str) -> str:
    found = [line for line in lines if words in line]
    assert found, f"no line with {words!r} in:\n" + "\n".join(lines)
    return found[0]


async def test_doctor_with_a_good_env_reaches_everything_and_says_ok(settings_factory: Any, _telegram_server: Any):
    _, url = _telegram_server
    async with serve_standin(DiscordStandIn(token=DISCORD_TOKEN)) as standin:
        settings = settings_factory(
            telegram_bot_token=TOKEN,
            telegram_api_base_url=f"{url}/bot",
            discord_bot_token=DISCORD_TOKEN,
            discord_api_base_url=standin.api,
        )
        status, lines = await run_doctor(settings)
        assert ("GET", "/api/v10/users/@me") in standin.rest

    assert status == 0, "\n".join(lines)
    assert all(line.startswith(("ok ", "-- ")) for line in lines), "\n".join(lines)
    assert "getMe at http://127.0.0.1:" in line_with(lines, "Telegram: ") and "answered @gavel_test_bot" in "".join(
        lines
    )
    assert "answered @gavel (id " in line_with(lines, "Discord: GET /users/@me at " + standin.api)
    assert "the key is the account of Sandy Box" in line_with(lines, "CryptoGig: GET /api/account/details at http")
    assert line_with(lines, "Auctionity: GET /auction at http")
    assert f"is at {head_revision()}, as the code is" in line_with(lines, "The database ")


async def test_doctor_with_a_bad_env_says_bad_and_what_to_do(settings_factory: Any, _telegram_server: Any):
    _, url = _telegram_server
    async with serve_standin(DiscordStandIn(token=DISCORD_TOKEN)) as standin:
        settings = settings_factory(
            cryptogig_api_key="",  # as copied from .env.example: not set, never "ok"
            telegram_bot_token="123456:made-up-token",
            telegram_api_base_url=f"{url}/bot",
            discord_bot_token="not-the-token",
            discord_api_base_url=standin.api,
        )
        status, lines = await run_doctor(settings)

    assert status == 1
    assert line_with(lines, "CRYPTOGIG_API_KEY is not set").startswith("BAD")
    telegram = line_with(lines, "Telegram rejected the token")
    assert telegram.startswith("BAD") and "(401 from getMe at http://127.0.0.1:" in telegram
    assert "copy it again from @BotFather" in telegram
    discord = line_with(lines, "Discord rejected the token")
    assert discord.startswith("BAD") and "(401 from GET /users/@me at " in discord and "Reset Token" in discord
    assert "made-up-token" not in "\n".join(lines) and "not-the-token" not in "\n".join(lines)


async def test_doctor_says_a_platform_that_does_not_answer_is_unreachable(settings_factory: Any):
    settings = settings_factory(telegram_bot_token=TOKEN, telegram_api_base_url="http://127.0.0.1:9/bot")
    status, lines = await run_doctor(settings)
    line = line_with(lines, "Telegram is not reachable")
    assert status == 1 and line.startswith("BAD") and "(connection refused, getMe at http://127.0.0.1:9/bot)" in line


async def test_doctor_reports_a_database_behind_the_code(settings_factory: Any, tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'behind.db'}"
    upgrade(url, "0007")
    _, lines = await run_doctor(settings_factory(database_url=url, telegram_bot_token=TOKEN))
    assert f"at 0007, code at {head_revision()}: `gavel run` (or `gavel db upgrade`) migrates it" in "\n".join(lines)


def test_doctor_from_a_fresh_env_file_creates_no_database(tmp_path: Path, cryptogig_sandbox: Any):
    env_file = (ROOT / ".env.example").read_text()
    env_file = env_file.replace(
        "CRYPTOGIG_BASE_URL=https://ns2.cryptogig.com", f"CRYPTOGIG_BASE_URL={cryptogig_sandbox.url}"
    )
    (tmp_path / ".env").write_text(env_file)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GAVEL_", "DATABASE_URL", "CRYPTOGIG", "TELEGRAM"))}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-m", "bot.wiring.cli", "doctor"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "does not exist yet: `gavel run` creates it" in result.stdout
    assert "BAD  CRYPTOGIG_API_KEY is not set" in result.stdout
    assert "GAVEL_ADMINS is empty" in result.stdout, ".env.example names no stranger as admin"
    assert not (tmp_path / "gavel.db").exists() and list(tmp_path.iterdir()) == [tmp_path / ".env"]
