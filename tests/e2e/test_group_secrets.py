"""Secrets typed where others read them disappear, however they arrive: a purchase code in a group (through a deep
link's /start, an edit, a mistyped command, plain chatter) and a late password after a retention run. The real
Telegram adapter against the fake Bot API on loopback."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from bot.sandbox.auctionity_data import SANDBOX_ALICE_EMAIL, SANDBOX_ALICE_PASSWORD
from bot.sandbox.cryptogig import SAMPLE_PURCHASE_CODES
from bot.wiring.retention import prune_once
from tests.fakes.telegram_api import BOT_USERNAME
from tests.support.telegram import ALICE, GROUP, say, settle

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

CODE = SAMPLE_PURCHASE_CODES["regular licence, supported"]


async def deleted(telegram, chat: int, message: dict, *, since: int) -> None:
    await telegram.wait_for(
        lambda: [
            c
            for c in telegram.calls_to("deleteMessage", chat, since=since)
            if c.params["message_id"] == message["message_id"]
        ],
        what=f"message {message['message_id']} deleted",
    )


def group_text(telegram, *, since: int) -> str:
    return "\n".join(c.text for c in telegram.sent_to(GROUP, since=since))


@pytest.mark.parametrize("start", ["/start", f"/start@{BOT_USERNAME}"])
async def test_start_verify_with_a_code_in_a_group_is_deleted(adapter, telegram, start):
    since = telegram.mark()
    await say(telegram, f"{start} verify {CODE}", chat=GROUP)
    await deleted(telegram, GROUP, telegram.last_user_message(GROUP), since=since)
    assert CODE not in group_text(telegram, since=since)
    (private,) = await telegram.next_sent(ALICE, since=since)
    assert "Purchase verified" in private.text


async def test_a_code_added_by_editing_a_group_message_is_deleted(adapter, telegram):
    first = telegram.message("my code is coming", user_id=ALICE, chat_id=GROUP)
    since = await settle(telegram, chat=GROUP)
    edited = {**first, "text": f"my code is {CODE.upper()}", "edit_date": int(time.time())}
    telegram.push({"edited_message": edited})
    await deleted(telegram, GROUP, edited, since=since)
    (told,) = await telegram.next_sent(ALICE, since=since)
    assert "purchase code" in told.text and CODE not in told.text
    assert CODE not in group_text(telegram, since=since).lower()


async def test_a_code_after_a_mistyped_command_in_a_group_is_deleted(adapter, telegram):
    since = telegram.mark()
    telegram.message(f"/verfy {CODE}", user_id=ALICE, chat_id=GROUP)
    typed = telegram.last_user_message(GROUP)
    await deleted(telegram, GROUP, typed, since=since)
    (told,) = await telegram.next_sent(ALICE, since=since)
    assert "/verify" in told.text and CODE not in told.text
    await settle(telegram, chat=GROUP)
    assert CODE not in group_text(telegram, since=since)


async def test_a_code_in_plain_group_chatter_is_deleted_and_answered_privately(adapter, telegram):
    since = telegram.mark()
    telegram.message(f"does `{CODE}` still work?", user_id=ALICE, chat_id=GROUP)
    await deleted(telegram, GROUP, telegram.last_user_message(GROUP), since=since)
    (told,) = await telegram.next_sent(ALICE, since=since)
    assert "purchase code" in told.text


async def test_group_chatter_without_a_code_is_left_alone(adapter, telegram):
    since = telegram.mark()
    for text in ("see you at 18-30", "auction 0x" + "ab" * 32 + " ends soon", "deadbeef-1234 not a code"):
        telegram.message(text, user_id=ALICE, chat_id=GROUP)
    await settle(telegram, chat=GROUP)
    assert not telegram.calls_to("deleteMessage", since=since)
    assert not telegram.sent_to(ALICE, since=since)


async def test_a_password_sent_in_the_grace_after_a_retention_run_is_still_deleted(adapter, telegram, core):
    await say(telegram, "/login")
    await say(telegram, SANDBOX_ALICE_EMAIL)
    start = core.services.now()
    core.services.clock = lambda: start + timedelta(minutes=7)  # the prompt timed out two minutes ago
    await prune_once(core.services)  # the hourly run happens to come now
    since = telegram.mark()
    (answer,) = await say(telegram, SANDBOX_ALICE_PASSWORD)
    assert telegram.calls_to("deleteMessage", ALICE, since=since), "the late password is gone from the chat"
    assert "took too long" in answer.text

    await say(telegram, "/login")
    await say(telegram, SANDBOX_ALICE_EMAIL)  # a conversation left waiting for good
    core.services.clock = lambda: start + timedelta(minutes=50)  # past its timeout and its grace: it goes now
    assert (await prune_once(core.services))["conversations"] == 1
