"""Live auction cards end to end: /post in a group, then the poller and the dispatcher keep that one message current.

The real adapters talk to the fake Telegram Bot API and to discord.py with Discord faked at its HTTP boundary;
auctions come from the Auctionity sandbox over HTTP. Time is the injected clock: nothing sleeps.
"""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from adapters.telegram.adapter import TelegramAdapter
from bot.alerts.dispatch import Dispatcher
from bot.alerts.poller import Poller
from bot.core.adapter_port import AdapterPort
from bot.core.messages import CARD_KIND, Alert, Reply
from bot.core.port import ButtonAction
from bot.core.routing import Core
from bot.sandbox.auctionity_data import SANDBOX_RIVAL_ID, SEED_IDS
from bot.wiring.dependencies import open_services
from storage import users, watches
from storage.models import LiveCard, Notification, Watch
from tests.fakes.discord_fakes import CHANNEL_ID, MANAGE_ROLES, http_error
from tests.fakes.telegram_api import Call, FakeTelegram
from tests.support.discord import ADMIN, DM_CHANNEL, RunningBot
from tests.support.telegram import ALICE, BOB, BOT_ADMIN, GROUP, say

LIVE = SEED_IDS["live_with_bids"]  # "Vintage mechanical keyboard": alice 100, then rival 120; ends in 2 days
NAME = "Vintage mechanical keyboard"


def later(services: Any, seconds: float) -> None:
    """Move the core's clock forward (time is injected; nothing sleeps)."""
    start = services.clock()
    services.clock = lambda: start + timedelta(seconds=seconds)


async def next_round(poller: Poller) -> None:
    """Poll one interval after the last poll: every followed auction is due again."""
    later(poller.services, poller.services.settings.poll_interval_seconds)
    await poller.poll_once()


def unpaced(services: Any, platform: str, adapter: Any) -> Dispatcher:
    """A dispatcher without the platform's chat intervals, for tests about what is sent rather than when."""
    return Dispatcher(services, {platform: adapter}, pacing={platform: None})


def live_cards(services: Any) -> list[LiveCard]:
    with services.db.session() as session:
        return list(session.exec(select(LiveCard).order_by(col(LiveCard.id))))


def card_rows(services: Any) -> list[Notification]:
    with services.db.session() as session:
        return list(session.exec(select(Notification).where(Notification.kind == CARD_KIND)))


def edits(telegram: FakeTelegram, *, since: int = 0) -> list[Call]:
    return telegram.calls_to("editMessageText", GROUP, since=since)


def labels(call: Call) -> list[str]:
    return [button["text"] for button in call.buttons]


async def post_in_group(telegram: FakeTelegram, core: AdapterPort, adapter: TelegramAdapter) -> Call:
    """A group admin posts the card; the dispatcher sends it. Returns the card's sendMessage."""
    telegram.set_member(GROUP, BOB, "administrator")
    (answer,) = await say(telegram, f"/post {LIVE}", user=BOB, chat=GROUP)
    assert "Card posted" in answer.text and "keep it current" in answer.text
    since = telegram.mark()
    assert (await unpaced(core.services, "telegram", adapter).run_once()).sent == 1
    (card,) = telegram.sent_to(GROUP, since=since)
    return card


# --- Telegram ---------------------------------------------------------------------------------------------------


async def test_a_posted_card_is_edited_in_place_by_a_bid_then_by_the_end(adapter, telegram, core, auctionity_sandbox):
    card = await post_in_group(telegram, core, adapter)
    assert f"<b>{NAME}</b>" in card.text
    assert "<b>Price:</b> 120 DRT" in card.text and "<b>Bids:</b> 2" in card.text
    assert "Ends in 2d" in card.text or "Ends in 1d 23h" in card.text  # two days, less the test's milliseconds
    assert labels(card) == ["Watch", "Bid 126"]
    poller, dispatcher = Poller(core.services), unpaced(core.services, "telegram", adapter)
    await poller.poll_once()  # the first poll sees what the card already shows: nothing to edit
    assert (await dispatcher.run_once()).sent == 0

    auctionity_sandbox.data.place_bid_as(SANDBOX_RIVAL_ID, LIVE, 150)
    await next_round(poller)
    assert (await dispatcher.run_once()).sent == 1
    (edit,) = edits(telegram)
    assert edit.params["message_id"] == card.message_id
    assert "<b>Price:</b> 150 DRT" in edit.text and "<b>Bids:</b> 3" in edit.text
    assert labels(edit) == ["Watch", "Bid 158"]
    assert len(telegram.sent_to(GROUP)) == 2, "no new message: the /post answer and the card only"

    auctionity_sandbox.data.end_now(LIVE)
    await next_round(poller)
    assert (await dispatcher.run_once()).sent == 1
    last = edits(telegram)[-1]
    assert last.params["message_id"] == card.message_id
    assert "Ended" in last.text and "Final price: 150 DRT" in last.text
    assert not last.buttons, "no Bid button (nor any other) on an ended auction's card"

    await next_round(poller)  # an ended auction is no longer polled: nothing more to edit
    assert (await dispatcher.run_once()).sent == 0
    assert len(edits(telegram)) == 2


async def test_a_burst_of_bids_makes_one_edit_within_the_groups_interval(adapter, telegram, core, auctionity_sandbox):
    telegram.set_member(GROUP, BOB, "administrator")
    await say(telegram, f"/post {LIVE}", user=BOB, chat=GROUP)
    poller, dispatcher = Poller(core.services), Dispatcher(core.services, {"telegram": adapter})  # paced
    await poller.poll_once()
    assert (await dispatcher.run_once()).sent == 1
    for amount in (150, 170, 190):  # three polls, three updates queued before the dispatcher's next round
        auctionity_sandbox.data.place_bid_as(SANDBOX_RIVAL_ID, LIVE, amount)
        await next_round(poller)
    assert len([row for row in card_rows(core.services) if row.sent_at is None]) == 3

    assert (await dispatcher.run_once()).sent == 1
    (card,) = telegram.calls_to("sendMessage", GROUP)[-1:]
    (edit,) = edits(telegram)
    assert "<b>Price:</b> 190 DRT" in edit.text, "only the newest state goes out"
    assert edit.at - card.at >= 3.0, "a group takes at most twenty messages (edits included) a minute"
    assert all(row.sent_at is not None for row in card_rows(core.services))


async def test_a_deleted_card_is_forgotten_and_never_edited_again(adapter, telegram, core, auctionity_sandbox):
    card = await post_in_group(telegram, core, adapter)
    with core.services.db.session() as session:  # someone in the group also watches the auction from there
        member = users.get_or_create_chat_user(session, platform="telegram", platform_user_id=str(ALICE),
                                               now=core.services.now())  # fmt: skip
        watches.add_watch(session, chat_user_id=member.id, auction_id=LIVE, platform="telegram", chat_id=str(GROUP),
                          now=core.services.now())  # fmt: skip
    poller, dispatcher = Poller(core.services), unpaced(core.services, "telegram", adapter)
    await poller.poll_once()
    telegram.delete_message(GROUP, card.message_id)

    auctionity_sandbox.data.place_bid_as(SANDBOX_RIVAL_ID, LIVE, 150)
    await next_round(poller)
    stats = await dispatcher.run_once()
    assert (stats.sent, stats.gave_up, stats.deactivated) == (0, 1, 0)
    assert len(edits(telegram)) == 1  # the one attempt that found the message gone
    assert [c.active for c in live_cards(core.services)] == [False]
    with core.services.db.session() as session:
        assert session.exec(select(Watch)).one().active, "the chat's watches are not the card's business"

    auctionity_sandbox.data.place_bid_as(SANDBOX_RIVAL_ID, LIVE, 170)
    await next_round(poller)
    await dispatcher.run_once()
    assert len(edits(telegram)) == 1 and len(card_rows(core.services)) == 2, "nothing queued for a forgotten card"


async def test_an_edit_telegram_finds_unchanged_counts_as_done(adapter, telegram, core):
    card = await post_in_group(telegram, core, adapter)
    shown = telegram.sent_message(card)
    again = Alert("telegram", str(GROUP), "", Reply(title=NAME), CARD_KIND, extra={"message_id": str(card.message_id)})
    first = await adapter.send(again)
    assert first == str(card.message_id) and telegram.sent_message(card)["text"] != shown["text"]
    assert await adapter.send(again) == str(card.message_id)  # "message is not modified": nothing to do


async def test_post_by_a_group_member_who_is_not_an_admin_is_refused(adapter, telegram, core):
    (answer,) = await say(telegram, f"/post {LIVE}", user=ALICE, chat=GROUP)
    assert "Only an admin of this server or group" in answer.text
    assert not live_cards(core.services) and not card_rows(core.services)


async def test_post_in_a_private_chat_is_refused_even_for_a_bot_admin(adapter, telegram, core):
    for user in (ALICE, BOT_ADMIN):
        (answer,) = await say(telegram, f"/post {LIVE}", user=user)
        assert "only works inside a server or group" in html.unescape(answer.text)
    assert not live_cards(core.services) and not card_rows(core.services)


async def test_a_card_survives_a_restart(adapter, telegram, core, telegram_settings, auctionity_sandbox):
    card = await post_in_group(telegram, core, adapter)
    await Poller(core.services).poll_once()
    await adapter.stop()

    async with open_services(telegram_settings) as services:  # a new process on the same database
        services.clock = core.services.clock
        restarted = TelegramAdapter(AdapterPort(Core(services)), telegram_settings, poll_timeout=1)
        await restarted.start()
        try:
            auctionity_sandbox.data.place_bid_as(SANDBOX_RIVAL_ID, LIVE, 150)
            await next_round(Poller(services))
            assert (await unpaced(services, "telegram", restarted).run_once()).sent == 1
        finally:
            await restarted.stop()
    (edit,) = edits(telegram)
    assert edit.params["message_id"] == card.message_id and "<b>Price:</b> 150 DRT" in edit.text


# --- Discord ----------------------------------------------------------------------------------------------------


async def test_a_card_posted_on_discord_is_edited_in_place(bot: RunningBot, core, auctionity_sandbox):
    answer = await bot.user(ADMIN, name="admin", permissions=MANAGE_ROLES).slash("post", auction_id=LIVE)
    assert answer.ephemeral and "Card posted" in answer.title
    dispatcher = unpaced(core.services, "discord", bot.adapter)
    assert (await dispatcher.run_once()).sent == 1
    posted = bot.fake.last()
    assert posted.how == "message" and posted.message["channel_id"] == str(CHANNEL_ID)
    assert posted.title == NAME and posted.fields["Price"] == "120 DRT" and posted.fields["Bids"] == "2"
    assert posted.labels == ["Watch", "Bid 126"]
    bid = posted.button("Bid")["custom_id"]
    assert await bot.adapter.port.button_action(bid.removeprefix("gavel:t:")) == ButtonAction(f"bid_ask {LIVE} 126")

    poller = Poller(core.services)
    await poller.poll_once()
    auctionity_sandbox.data.place_bid_as(SANDBOX_RIVAL_ID, LIVE, 150)
    await next_round(poller)
    assert (await dispatcher.run_once()).sent == 1
    (patch,) = bot.fake.requests("PATCH", rf"/channels/{CHANNEL_ID}/messages/\d+")
    assert patch.path == f"/channels/{CHANNEL_ID}/messages/{posted.message['id']}"
    edited = bot.fake.last()
    assert edited.how == "edit" and edited.fields["Price"] == "150 DRT" and edited.labels == ["Watch", "Bid 158"]

    bot.fake.fail("PATCH", r"/channels/\d+/messages/\d+", lambda: http_error(404, 10008, "Unknown Message"))
    auctionity_sandbox.data.place_bid_as(SANDBOX_RIVAL_ID, LIVE, 170)
    await next_round(poller)
    assert (await dispatcher.run_once()).gave_up == 1
    assert [c.active for c in live_cards(core.services)] == [False]


async def test_post_on_discord_needs_a_server_admin_in_a_server(bot: RunningBot, core):
    answer = await bot.user().slash("post", auction_id=LIVE)
    assert answer.ephemeral and "Only an admin" in answer.text
    answer = await bot.user(ADMIN, guild_id=None, channel_id=DM_CHANNEL, permissions=MANAGE_ROLES).slash(
        "post", auction_id=LIVE
    )
    assert answer.ephemeral and "only works inside a server" in answer.text
    assert not live_cards(core.services) and not card_rows(core.services)
