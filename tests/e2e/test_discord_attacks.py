"""Paid access on Discord, attacked: real discord.py and the real core, Discord faked at its HTTP boundary."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord

from adapters.discord.render import render
from bot.alerts.dispatch import Dispatcher
from bot.core.messages import Reply
from bot.sandbox.auctionity_data import SEED_IDS
from bot.sandbox.cryptogig import SAMPLE_PURCHASE_CODES
from bot.sandbox.server import serve_in_thread
from storage import outbox, places, users, watches
from tests.fakes.discord_fakes import (
    ADMIN_ROLE_ID,
    BUYER_ROLE_ID,
    CHANNEL_ID,
    MANAGE_ROLES,
    http_error,
    role_payload,
)
from tests.fakes.telegram_api import FakeTelegram
from tests.support.discord import ADMIN, ALICE, BOB, RunningBot

CODE = SAMPLE_PURCHASE_CODES["regular licence, supported"]  # item 101
ADMINISTRATOR_ROLE = 720_000_000_000_000_099
MODS_ROLE = 720_000_000_000_000_098


def moderator(bot: RunningBot, *, top_role: int = BUYER_ROLE_ID + 0) -> Any:
    """A member with Manage Roles whose own highest role is ``top_role``."""
    bot.fake.member_roles[ADMIN] = {top_role}
    return bot.user(ADMIN, name="mod", permissions=MANAGE_ROLES)


# --- hole 3: role escalation through /verify-setup ---------------------------------------------------


async def test_moderator_cannot_map_an_administrator_role_and_verify_into_it(bot: RunningBot, services: Any):
    bot.fake.roles.append(
        role_payload(ADMINISTRATOR_ROLE, "Owners", 1, permissions=discord.Permissions(administrator=True))
    )
    bot.fake.roles.append(role_payload(MODS_ROLE, "Mods", 5))
    mod = moderator(bot, top_role=MODS_ROLE)  # above the Owners role in the list: only its permissions stop it
    shown = await mod.slash("verify-setup", item_id=101, role=ADMINISTRATOR_ROLE)
    assert shown.ephemeral and "administer or moderate" in shown.text
    with services.db.session() as session:
        assert places.access_grants_for_item(session, item_id=101) == []
    await mod.slash("verify", code=CODE)
    assert ADMINISTRATOR_ROLE not in bot.fake.member_roles.get(ADMIN, set())


async def test_moderator_cannot_map_a_role_above_their_own(bot: RunningBot, services: Any):
    mod = moderator(bot, top_role=BUYER_ROLE_ID)  # position 1; the Admins role sits at 3
    shown = await mod.slash("verify-setup", item_id=101, role=ADMIN_ROLE_ID)
    assert "not below your own highest role" in shown.text
    shown = await mod.slash("verify-setup", item_id=101, role=BUYER_ROLE_ID)  # their own level: refused too
    assert "not below your own highest role" in shown.text
    with services.db.session() as session:
        assert places.access_grants_for_item(session, item_id=101) == []


async def test_the_server_owner_may_map_a_role_above_their_top_role(bot: RunningBot, services: Any):
    bot.fake.owner_id = ADMIN
    shown = await moderator(bot, top_role=BUYER_ROLE_ID).slash("verify-setup", item_id=101, role=ADMIN_ROLE_ID)
    assert shown.title == "Access set up"


async def test_a_role_given_administrator_after_setup_is_no_longer_handed_out(bot: RunningBot, services: Any):
    with services.db.session() as session:
        places.set_access_grant(
            session, platform="discord", place_id=str(bot.fake.roles[0]["id"]), item_id=101,
            target_id=str(BUYER_ROLE_ID), created_by="test",now=datetime.now(UTC)
        )  # fmt: skip
    buyer = next(r for r in bot.fake.roles if int(r["id"]) == BUYER_ROLE_ID)
    buyer["permissions"] = str(discord.Permissions(administrator=True).value)  # someone edited the role later
    shown = await bot.user().slash("verify", code=CODE)
    assert "administration or moderation permissions" in shown.text
    assert BUYER_ROLE_ID not in bot.fake.member_roles.get(ALICE, set())


# --- hole 9: secrets at DEBUG and in tracebacks --------------------------------------------------------


async def test_discord_gateway_debug_lines_never_reach_the_log(bot: RunningBot):
    from bot.core.logs import setup_logging

    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    setup_logging("DEBUG", stream=stream)
    try:
        # What discord.py's gateway logs for a modal submit at DEBUG: the raw event, values and all.
        logging.getLogger("discord.gateway").debug("WebSocket Event: %s", {"components": [{"value": "hunter2-pw"}]})
        logging.getLogger("discord.http").debug("POST /interactions with {'password': 'hunter2-pw'}")
    finally:
        root.setLevel(level)
    assert "hunter2-pw" not in stream.getvalue()


def test_an_error_escaping_gavel_run_never_prints_the_bot_token(tmp_path: Path, secret_key: str):
    fake = FakeTelegram(token="123456:the-real-token-is-elsewhere")  # answers every other token with 401
    token = "987654:SECRETtokenNOBODYshouldSEE"
    with serve_in_thread(fake.app) as running:
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_API_BASE_URL": f"{running.url}/bot",
            "GAVEL_SECRET_KEY": secret_key,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'gavel.db'}",
            "LOG_LEVEL": "DEBUG",
        }
        result = subprocess.run(
            [sys.executable, "-m", "bot.wiring.cli", "run"],
            env=env,
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            timeout=60,
        )
    output = result.stdout + result.stderr
    # A rejected token is a definite refusal (issue 22): one line and status 2, never a traceback, never the token.
    assert result.returncode == 2
    assert "gavel: Telegram rejected the token (401 from getMe at" in output and "Traceback" not in output
    assert token not in output and "SECRETtoken" not in output


# --- hole 10: markdown injection in embeds -------------------------------------------------------------


def test_an_auction_name_cannot_become_a_masked_link_in_an_embed():
    name = "[Claim refund](https://evil.example) **now**"
    rendered = render(Reply(title=name, text=f"You were outbid on {name}."), lambda line: "t")
    description = rendered.embed.description or ""
    # An escaped opening bracket is enough: Discord shows the text, with no link behind it.
    assert "\\[Claim refund](https://evil.example)" in description
    assert description.count("[Claim refund]") == description.count("\\[Claim refund]")
    assert "\\*\\*now\\*\\*" in description


async def test_an_injected_name_reaches_discord_escaped(bot: RunningBot, auctionity_sandbox):
    auctionity_sandbox.data.auctions[SEED_IDS["live_no_bids"]].name = "[Claim refund](https://evil.example)"
    shown = await bot.user().slash("auctions", ids=SEED_IDS["live_no_bids"])
    raw_title = shown.embed["title"]
    assert raw_title.startswith("\\[Claim refund]")


# --- hole 11: one unreachable user must not silence a channel ----------------------------------------


async def test_one_user_with_closed_dms_does_not_stop_the_others_alerts_in_that_channel(bot: RunningBot, services: Any):
    auction = SEED_IDS["live_with_bids"]
    ids = {}
    with services.db.session() as session:
        for member in (ALICE, BOB):
            user = users.get_or_create_chat_user(
                session, platform="discord", platform_user_id=str(member), now=datetime.now(UTC)
            )
            watches.add_watch(
                session,
                chat_user_id=user.id,
                auction_id=auction,
                platform="discord",
                chat_id=str(CHANNEL_ID),
                now=datetime.now(UTC),
            )
            outbox.enqueue_notification(
                session, dedupe_key=f"outbid:{member}", platform="discord", chat_id=str(CHANNEL_ID),
                chat_user_id=user.id, kind="outbid", payload='{"text": "You were outbid"}', now=services.now(),
            )  # fmt: skip
            ids[member] = user.id
    # Alice closed her DMs, and the channel refuses the fallback: Alice cannot be reached.
    bot.fake.fail("POST", rf"/channels/{ALICE + 1}/messages", lambda: http_error(403, 50007, "Cannot send messages"))
    bot.fake.fail("POST", rf"/channels/{CHANNEL_ID}/messages", lambda: http_error(403, 50013, "Missing Access"))
    stats = await Dispatcher(services, {"discord": bot.adapter}).run_once()
    assert (stats.sent, stats.deactivated) == (1, 1)
    with services.db.session() as session:
        assert watches.active_watches_for_user(session, chat_user_id=ids[ALICE]) == []
        assert len(watches.active_watches_for_user(session, chat_user_id=ids[BOB])) == 1
