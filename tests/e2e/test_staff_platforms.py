"""Verified buyers on the platforms: staff logs as chats, revocations carried out, rejoins, the verify panel.

The real adapters (PTB against the fake Bot API on loopback; discord.py at its HTTP seam) and the real
dispatcher carry out what the core queued.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.access.rechecks import Rechecker
from bot.alerts.dispatch import Dispatcher
from bot.core.messages import Alert, Reply
from bot.sandbox.cryptogig import SAMPLE_PURCHASE_CODES
from storage import places
from tests.fakes.discord_fakes import BUYER_ROLE_ID, CHANNEL_ID, GUILD_ID, MANAGE_ROLES
from tests.fakes.telegram_api import BOT_ID
from tests.support.discord import ADMIN, ALICE, GAVEL_ADMIN, RunningBot
from tests.support.telegram import ALICE as TG_ALICE
from tests.support.telegram import BOT_ADMIN, GROUP, button, grant_group, say

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

CODE = SAMPLE_PURCHASE_CODES["regular licence, supported"]  # item 101
STAFF_ROOM = -1002000000000


async def deliver(core, adapter, platform: str) -> None:
    """One dispatcher round: everything the core queued goes out through the adapter."""
    await Dispatcher(core.services, {platform: adapter}).run_once()


# --- Telegram ---------------------------------------------------------------------------------------------


async def test_telegram_staff_log_group_sees_verifications_and_revocations_as_they_happen(adapter, telegram, core):
    grant_group(core)
    telegram.set_member(GROUP, BOT_ID, "administrator", can_invite_users=True)
    (on,) = await say(telegram, "/staff_log", user=BOT_ADMIN, chat=STAFF_ROOM)
    assert "Staff log on" in on.text
    await say(telegram, f"/verify {CODE}")
    await say(telegram, "/verify 00000000-0000-4000-8000-000000000000")
    await deliver(core, adapter, "telegram")
    lines = [c.text for c in telegram.sent_to(STAFF_ROOM)][1:]
    assert "✅ Verified" in lines[0] and f"telegram:{TG_ALICE}" in lines[0] and "3f6c…9e01" in lines[0]
    assert "⛔ Refused" in lines[1]
    assert all(CODE not in line for line in lines)

    since = telegram.mark()
    (revoked,) = await say(telegram, f"/revoke {TG_ALICE}", user=BOT_ADMIN)
    assert "Revoked" in revoked.text
    await deliver(core, adapter, "telegram")
    (ban,) = telegram.calls_to("banChatMember", since=since)
    (unban,) = telegram.calls_to("unbanChatMember", since=since)
    assert ban.chat_id == unban.chat_id == GROUP and ban.params["user_id"] == unban.params["user_id"] == TG_ALICE
    assert any("Access ended" in c.text for c in telegram.sent_to(TG_ALICE, since=since)), "told privately"
    assert any("🔒 Revoked" in c.text for c in telegram.sent_to(STAFF_ROOM, since=since))
    telegram.join_request(GROUP, TG_ALICE, invite_link=await adapter.access.join_link(GROUP))  # it no longer works
    await telegram.wait_for(lambda: (GROUP, TG_ALICE) in telegram.declined, what="the decline")


async def test_telegram_refund_found_by_a_re_check_takes_the_buyer_out_of_the_group(
    adapter, telegram, core, cryptogig_sandbox
):
    grant_group(core)
    await say(telegram, f"/verify {CODE}")
    cryptogig_sandbox.data.refund(CODE)
    from tests.e2e.test_verified_buyers import _due_now

    _due_now(core.services)
    assert (await Rechecker(core.services).run_once()).revoked == 1
    since = telegram.mark()
    await deliver(core, adapter, "telegram")
    assert [c.chat_id for c in telegram.calls_to("banChatMember", since=since)] == [GROUP]


async def test_telegram_buyer_by_reply_answers_the_staff_member_privately(adapter, telegram, core):
    await say(telegram, f"/verify {CODE}")
    buyer_message = telegram.message("hello all", user_id=TG_ALICE, chat_id=GROUP)
    since = telegram.mark()
    telegram.message("/buyer", user_id=BOT_ADMIN, chat_id=GROUP, reply_to_message=buyer_message)
    (private,) = await telegram.next_sent(BOT_ADMIN, since=since)
    assert f"telegram:{TG_ALICE}" in private.text and "item #101" in private.text
    (pointer,) = await telegram.next_sent(GROUP, since=since)
    assert "private message" in pointer.text and "#101" not in pointer.text


async def test_telegram_verify_panel_links_into_the_private_chat(adapter, telegram):
    (panel,) = await say(telegram, "/verify_panel", user=BOT_ADMIN, chat=GROUP)
    assert button(panel, "Verify my purchase")["url"].endswith("?start=verify")


# --- Discord ----------------------------------------------------------------------------------------------


def _buyer_role(services) -> None:
    with services.db.session() as session:
        places.set_access_grant(
            session, platform="discord", place_id=str(GUILD_ID), item_id=101, target_id=str(BUYER_ROLE_ID),
            created_by="test", now=services.now(),
        )  # fmt: skip


async def test_discord_buyer_who_leaves_and_rejoins_gets_the_role_back_at_once(bot: RunningBot, services):
    _buyer_role(services)
    await bot.user().slash("verify", code=CODE)
    assert bot.fake.member_roles[ALICE] == {BUYER_ROLE_ID}
    bot.fake.member_roles[ALICE] = set()  # she left: Discord forgets her roles
    bot.fake.add_guild_to_cache(bot.adapter.client)
    before = asyncio.all_tasks()
    bot.fake.member_joins(bot.adapter.client, ALICE)
    from tests.fakes.discord_fakes import settle

    await settle(before)
    assert bot.fake.member_roles[ALICE] == {BUYER_ROLE_ID}
    bot.fake.member_joins(bot.adapter.client, ALICE + 7)  # a stranger gets nothing
    await settle(before)
    assert bot.fake.member_roles.get(ALICE + 7, set()) == set()


async def test_discord_revoke_takes_the_role_away(bot: RunningBot, services, core):
    _buyer_role(services)
    await bot.user().slash("verify", code=CODE)
    admin = bot.user(GAVEL_ADMIN, name="owner", permissions=MANAGE_ROLES)
    shown = await admin.slash("revoke", user=ALICE)
    assert shown.ephemeral and "Revoked" in shown.title
    await deliver(core, bot.adapter, "discord")
    assert bot.fake.member_roles[ALICE] == set()
    assert bot.fake.requests("DELETE", rf"/guilds/{GUILD_ID}/members/{ALICE}/roles/{BUYER_ROLE_ID}")


async def test_discord_staff_log_lines_are_posted_in_the_channel_not_sent_by_dm(bot: RunningBot):
    await bot.adapter.send(Alert("discord", str(CHANNEL_ID), "", Reply("✅ Verified: someone")))
    assert bot.fake.requests("POST", rf"/channels/{CHANNEL_ID}/messages")
    assert not bot.fake.requests("POST", "/users/@me/channels"), "nobody is sent a DM for a staff-log line"


async def test_discord_verify_panel_button_opens_the_code_form(bot: RunningBot):
    panel = await bot.user(GAVEL_ADMIN, name="owner", permissions=MANAGE_ROLES).slash("verify-panel")
    assert not panel.ephemeral, "the panel is for everyone in the channel"
    count = len(bot.fake.modals)
    custom_id = panel.button("Verify my purchase")["custom_id"]
    await bot.user(ADMIN).dispatch(
        {
            **bot.user(ADMIN)._base(3, {"custom_id": custom_id, "component_type": 2}, "token-panel"),
            "message": panel.message,
        }
    )
    assert len(bot.fake.modals) == count + 1 and json.dumps(bot.fake.modals[-1]).count("code") >= 1
