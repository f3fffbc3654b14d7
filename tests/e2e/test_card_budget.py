"""Live cards share the bot's sending budget with alerts, so none is one user's to spend: cards are capped per chat and
per poster, atomically; their edits yield to alerts; a card is edited at most once a CARD_EDIT_SECONDS, showing the
newest state. The real core, poller and dispatcher, the fake Telegram Bot API and the Auctionity sandbox on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts.dispatch import Dispatcher
from bot.alerts.poller import Poller
from bot.sandbox.auctionity_data import SANDBOX_ALICE_ID, SANDBOX_RIVAL_ID
from tests.conftest import Chat
from tests.e2e.test_bidding import login
from tests.e2e.test_live_cards import later, unpaced
from tests.support.telegram import ALICE

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

GROUPS = [-1001000000000 - n for n in range(1, 6)]


@pytest.fixture
def settings(settings_factory):
    """Auctions polled every second, so bids a few seconds apart each reach the cards."""
    return settings_factory(poll_interval_seconds=1)


def auctions(data, count: int) -> list[str]:
    now = datetime.now(UTC)
    return [
        data.create_auction(f"Lot {n}", 10, now - timedelta(hours=1), now + timedelta(days=2)).id for n in range(count)
    ]


def admin_in(core, group: int, user: str = "bob") -> Chat:
    """A group admin talking to the core from that group."""
    return Chat(core, platform="telegram", user_id=user, chat_id=str(group), private=False, place_id=str(group))


async def post(chat: Chat, auction_id: str):
    return await chat.say(f"/post {auction_id}", is_place_admin=True)


async def test_one_user_cannot_post_more_than_the_card_caps(core, auctionity_sandbox):
    lots = auctions(auctionity_sandbox.data, 32)
    for group, chunk in zip(GROUPS[:3], (lots[0:10], lots[10:20], lots[20:30]), strict=True):
        for auction_id in chunk:
            assert (await post(admin_in(core, group), auction_id)).title == "Card posted"
    refused = await post(admin_in(core, GROUPS[0]), lots[30])
    assert "This chat already has 10 live cards" in refused.text
    assert (await post(admin_in(core, GROUPS[0]), lots[0])).title == "Card posted", "the same card, afresh"
    refused = await post(admin_in(core, GROUPS[3]), lots[30])
    assert "You already have 30 live cards" in refused.text
    assert (await post(admin_in(core, GROUPS[3], "carol"), lots[30])).title == "Card posted", "per poster"

    auctionity_sandbox.data.end_now(lots[1])  # an ended auction's card is never edited again: its place frees up
    await Poller(core.services).poll_once()
    assert (await post(admin_in(core, GROUPS[3]), lots[31])).title == "Card posted"


async def test_two_posts_at_once_cannot_both_take_the_last_place(core, auctionity_sandbox):
    lots = auctions(auctionity_sandbox.data, 14)
    answers = await asyncio.gather(*(post(admin_in(core, GROUPS[0], f"admin{n}"), lot) for n, lot in enumerate(lots)))
    assert sum(answer.title == "Card posted" for answer in answers) == 10


async def test_card_edits_never_delay_an_alert(adapter, telegram, core, make_chat, auctionity_sandbox):
    """Forty cards wait to be edited in forty groups when an outbid alert comes due: the alert goes first."""
    services, data = core.services, auctionity_sandbox.data
    (lot,) = auctions(data, 1)
    for n in range(40):
        group = -1002000000000 - n
        assert (await post(admin_in(core, group, f"admin{n}"), lot)).title == "Card posted"
    assert (await unpaced(services, "telegram", adapter).run_once()).sent == 40  # the cards' first posts

    alice = make_chat(platform="telegram", user_id=str(ALICE))
    await login(alice)
    (watched,) = auctions(data, 1)
    await alice.say(f"/bid {watched} 20")
    await alice.say(f"/watch {watched}")
    poller = Poller(services)
    await poller.poll_once()
    data.place_bid_as(SANDBOX_RIVAL_ID, lot, 50)  # forty card edits queued by the next poll...
    later(services, services.settings.poll_interval_seconds)
    await poller.poll_once()
    data.place_bid_as(SANDBOX_RIVAL_ID, watched, 30)  # ... and her outbid alert by the one after
    later(services, services.settings.poll_interval_seconds)
    await poller.poll_once()
    assert data.auctions[watched].bids[-2].user_id == SANDBOX_ALICE_ID

    since = telegram.mark()
    paced = Dispatcher(services, {"telegram": adapter})  # Telegram's own pace: about 30 messages a second
    sending = asyncio.create_task(paced.run_once())
    try:
        await telegram.wait_for(lambda: telegram.sent_to(ALICE, since=since), what="her outbid alert")
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sending
    calls = telegram.calls_to(("sendMessage", "editMessageText"), since=since)
    assert calls[0].chat_id == ALICE, f"{[c.method for c in calls[:3]]}: no card edit goes before an alert"


async def test_a_card_is_edited_at_most_once_per_card_edit_seconds_showing_the_newest_state(
    adapter, telegram, core, auctionity_sandbox
):
    services, data = core.services, auctionity_sandbox.data
    (lot,) = auctions(data, 1)
    await post(admin_in(core, GROUPS[0]), lot)
    dispatcher = unpaced(services, "telegram", adapter)
    await dispatcher.run_once()
    poller = Poller(services)
    await poller.poll_once()

    data.place_bid_as(SANDBOX_RIVAL_ID, lot, 20)
    later(services, services.settings.card_edit_seconds)  # the card was posted that long ago
    await poller.poll_once()
    assert (await dispatcher.run_once()).sent == 1  # the first edit goes at once
    for amount in (30, 40):  # two more bids within the next seconds
        data.place_bid_as(SANDBOX_RIVAL_ID, lot, amount)
        later(services, 1)
        await poller.poll_once()
        await dispatcher.run_once()
    edits = telegram.calls_to("editMessageText", GROUPS[0])
    assert len(edits) == 1, "not again within CARD_EDIT_SECONDS"
    later(services, services.settings.card_edit_seconds)
    await dispatcher.run_once()
    edits = telegram.calls_to("editMessageText", GROUPS[0])
    assert len(edits) == 2 and "<b>Price:</b> 40 DRT" in edits[-1].text, "then once, with the newest price"


async def test_two_processes_edit_each_card_of_two_groups_once(adapter, telegram, core, settings, auctionity_sandbox):
    """One auction's card in two groups; two processes run their card lanes at once: each card is edited once."""
    from bot.wiring.dependencies import open_services

    services, data = core.services, auctionity_sandbox.data
    (lot,) = auctions(data, 1)
    for group in GROUPS[:2]:
        await post(admin_in(core, group), lot)
    await unpaced(services, "telegram", adapter).run_once()
    poller = Poller(services)
    await poller.poll_once()
    data.place_bid_as(SANDBOX_RIVAL_ID, lot, 20)
    later(services, services.settings.card_edit_seconds)
    await poller.poll_once()
    async with open_services(settings) as other:
        other.clock = services.clock
        one, two = unpaced(services, "telegram", adapter), unpaced(other, "telegram", adapter)
        await asyncio.gather(one.run_cards(), two.run_cards(), one.run_cards(), two.run_cards())
    for group in GROUPS[:2]:
        (edit,) = telegram.calls_to("editMessageText", group)
        assert "<b>Price:</b> 20 DRT" in edit.text
