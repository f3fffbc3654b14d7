"""An auto-bid's maximum is its owner's alone: never in a group, whatever is asked there or wherever Confirm was
pressed. The real Telegram adapter against the fake Bot API, the core, poller and dispatcher, the sandbox."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.alerts.dispatch import Dispatcher
from bot.alerts.poller import Poller
from bot.sandbox.auctionity_data import SANDBOX_ALICE_EMAIL, SANDBOX_ALICE_PASSWORD, SANDBOX_RIVAL_ID, SEED_IDS
from storage import autobids, users, watches
from tests.support.telegram import ALICE, GROUP, say

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

LIVE = SEED_IDS["live_with_bids"]  # alice 100, then rival 120: the rival on top


async def logged_in(telegram) -> None:
    await say(telegram, "/login")
    await say(telegram, SANDBOX_ALICE_EMAIL)
    await say(telegram, SANDBOX_ALICE_PASSWORD)


async def auto_bid_in_private(telegram, maximum: int = 300) -> None:
    (asked,) = await say(telegram, f"/autobid {LIVE} {maximum}")
    since = telegram.mark()
    telegram.press(asked, "Confirm", user_id=ALICE)
    await telegram.wait_for(lambda: telegram.calls_to(("editMessageText", "sendMessage"), ALICE, since=since))


def everything_sent_to(telegram, chat_id: int) -> str:
    calls = telegram.calls_to(("sendMessage", "sendPhoto", "editMessageText", "editMessageCaption"), chat_id)
    return "\n".join(call.text for call in calls)


async def test_watches_in_a_group_never_shows_a_maximum(adapter, telegram, core):
    await logged_in(telegram)
    await auto_bid_in_private(telegram)
    (mine,) = await say(telegram, "/watches")
    assert "auto-bid up to 300 DRT" in mine.text, "in her private chat she sees it"

    (shown,) = await say(telegram, "/watches", chat=GROUP)
    assert "Vintage mechanical keyboard" in shown.text
    assert "300" not in shown.text and "auto-bid up to" not in shown.text


async def test_autobid_in_a_group_is_asked_and_confirmed_in_private(adapter, telegram, core):
    await logged_in(telegram)
    since = telegram.mark()
    (pointer,) = await say(telegram, f"/autobid {LIVE} 300", chat=GROUP)
    assert "private message" in pointer.text and "300" not in pointer.text and not pointer.buttons
    (asked,) = await telegram.next_sent(ALICE, since=since)
    assert "up to 300 DRT" in asked.text

    since = telegram.mark()
    telegram.press(asked, "Confirm", user_id=ALICE)
    await telegram.wait_for(lambda: telegram.calls_to(("editMessageText", "sendMessage"), ALICE, since=since))
    assert "300" not in everything_sent_to(telegram, GROUP)
    with core.services.db.session() as session:
        user = users.find_chat_user(session, platform="telegram", platform_user_id=str(ALICE))
        assert autobids.auto_bids_for_user(session, chat_user_id=user.id) == {LIVE: 300}


async def test_an_auto_bid_alert_never_goes_to_the_group_where_confirm_was_pressed(
    adapter, telegram, core, auctionity_sandbox
):
    """An auto-bid set up in a group before this fix (its chat is the group): its alerts still go to the owner."""
    await logged_in(telegram)
    services = core.services
    with services.db.session() as session:  # Confirm pressed in the group, as the old flow allowed
        user = users.find_chat_user(session, platform="telegram", platform_user_id=str(ALICE))
        watches.add_watch(
            session, chat_user_id=user.id, auction_id=LIVE, platform="telegram", chat_id=str(GROUP), now=services.now()
        )
        autobids.set_auto_bid(
            session, chat_user_id=user.id, auction_id=LIVE, max_amount=300, platform="telegram",
            chat_id=str(GROUP), now=services.now(),
        )  # fmt: skip
        session.commit()
    poller = Poller(services)
    await poller.poll_once()  # the rival is on top: she answers at once
    start = services.now()
    services.clock = lambda: start + timedelta(seconds=services.settings.poll_interval_seconds)
    auctionity_sandbox.data.place_bid_as(SANDBOX_RIVAL_ID, LIVE, 150)
    await poller.poll_once()
    since = telegram.mark()
    stats = await Dispatcher(services, {"telegram": adapter}, pacing={"telegram": None}).run_once()
    assert stats.sent >= 1
    told = "\n".join(call.text for call in telegram.sent_to(ALICE, since=since))
    assert "Auto-bid placed" in told and "max 300 DRT" in told
    assert "300" not in everything_sent_to(telegram, GROUP), "nothing of her maximum in the group"


async def test_a_private_alert_on_discord_goes_by_dm_and_never_to_the_channel(bot):
    from bot.core.errors import RecipientGone
    from bot.core.messages import Alert, Reply
    from tests.fakes.discord_fakes import CHANNEL_ID, http_error
    from tests.support.discord import ALICE as DISCORD_ALICE

    reply = Reply(title="Auto-bid placed", text="I bid 158 DRT for you (max 300 DRT).", private=True)
    await bot.adapter.send(Alert("discord", str(CHANNEL_ID), str(DISCORD_ALICE), reply, "autobid"))
    assert bot.fake.last().message["channel_id"] == str(DISCORD_ALICE + 1), "her DM channel"

    dm = DISCORD_ALICE + 1
    bot.fake.fail("POST", rf"/channels/{dm}/messages", lambda: http_error(403, 50007, "Cannot send messages"))
    with pytest.raises(RecipientGone) as gone:
        await bot.adapter.send(Alert("discord", str(CHANNEL_ID), str(DISCORD_ALICE), reply, "autobid"))
    assert not gone.value.whole_chat, "only she is unreachable, not the channel"
    assert not bot.fake.requests("POST", rf"/channels/{CHANNEL_ID}/messages"), "never in the channel"
