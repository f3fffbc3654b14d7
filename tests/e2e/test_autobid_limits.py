"""An auto-bid spends only what its owner allows right now: lowering or stopping it wins over any decision taken
before, in this process or another one sharing the database. The real core and poller, the Auctionity sandbox
over HTTP; a second process is a second set of services on the same database.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

from bot.alerts.poller import Poller
from bot.auctions.autobids import AutoBidder
from bot.sandbox.auctionity_data import SANDBOX_ALICE_ID, SANDBOX_RIVAL_ID, SEED_IDS
from bot.wiring.dependencies import open_services
from tests.e2e.test_bidding import auto_bid, bids_by, login, next_round, outbox

LIVE = SEED_IDS["live_with_bids"]  # alice 100, then rival 120


class Idle:
    """An auto-bidder that does not run after the poll (the process died, or is slow to get there)."""

    async def place_pending(self) -> None:
        return None


async def decided_at_300(alice, services, data) -> Poller:
    """Alice auto-bids up to 300; the rival bids 250; a poll decides her answer (262) but nobody places it yet."""
    await login(alice)
    await auto_bid(alice, 300)
    poller = Poller(services)
    await poller.poll_once()
    poller.autobidder = Idle()
    data.place_bid_as(SANDBOX_RIVAL_ID, LIVE, 250)
    await next_round(poller)
    assert bids_by(data, SANDBOX_ALICE_ID) == [100, 126], "decided, not placed"
    return poller


async def test_lowering_the_maximum_stops_an_intent_decided_at_the_old_one(make_chat, services, auctionity_sandbox):
    data = auctionity_sandbox.data
    alice = make_chat(user_id="alice")
    await decided_at_300(alice, services, data)

    lowered = await auto_bid(alice, 255)
    assert "255 DRT" in lowered.text
    await AutoBidder(services).place_pending()  # the intent decided at 300 comes up now
    assert max(bids_by(data, SANDBOX_ALICE_ID)) <= 255, "never above the maximum she set last"
    assert bids_by(data, SANDBOX_ALICE_ID) == [100, 126, 255], "the rival's bid is answered once, at the new maximum"
    placed = [alert.text for _, alert in outbox(services, "autobid")]
    assert not any("262" in text for text in placed), placed


async def test_lowering_the_maximum_while_another_process_places_the_intent_never_bids_above_it(
    make_chat, services, settings, auctionity_sandbox
):
    data = auctionity_sandbox.data
    alice = make_chat(user_id="alice")
    await decided_at_300(alice, services, data)

    async with open_services(settings) as worker:  # another process: it leases the intent and fetches the auction
        worker.clock = services.clock
        fetch = worker.auctionity.auctions

        async def she_lowers_it_meanwhile(ids):
            found = await fetch(ids)
            await auto_bid(alice, 255)  # answered by this process, between the worker's lease and its bid
            return found

        worker.auctionity.auctions = she_lowers_it_meanwhile
        await AutoBidder(worker).place_pending()
    assert max(bids_by(data, SANDBOX_ALICE_ID)) <= 255
    history = data.auctions[LIVE].bids
    assert [b.user_id for b in history[-2:]] == [SANDBOX_RIVAL_ID, SANDBOX_ALICE_ID], "one answer to the rival"


async def test_stopping_wins_over_an_intent_another_process_is_placing(
    make_chat, services, settings, auctionity_sandbox
):
    data = auctionity_sandbox.data
    alice = make_chat(user_id="alice")
    await decided_at_300(alice, services, data)

    async with open_services(settings) as worker:
        worker.clock = services.clock
        fetch = worker.auctionity.auctions

        async def she_stops_it_meanwhile(ids):
            found = await fetch(ids)
            await alice.say(f"/autobid off {LIVE}")
            return found

        worker.auctionity.auctions = she_stops_it_meanwhile
        await AutoBidder(worker).place_pending()
    assert bids_by(data, SANDBOX_ALICE_ID) == [100, 126], "stopped means stopped, even mid-flight elsewhere"


async def test_raising_the_maximum_answers_the_same_outbid_once(make_chat, services, auctionity_sandbox):
    data = auctionity_sandbox.data
    alice = make_chat(user_id="alice")
    poller = await decided_at_300(alice, services, data)
    await auto_bid(alice, 400)
    await AutoBidder(services).place_pending()
    start = services.now()
    services.clock = lambda: start + timedelta(minutes=1)  # any lease has run out
    await AutoBidder(services).place_pending()
    poller.autobidder = AutoBidder(services)
    await next_round(poller)
    assert bids_by(data, SANDBOX_ALICE_ID) == [100, 126, 262], "the rival's 250 is answered once"


async def test_two_bidders_in_two_processes_stay_within_the_maximums_they_set_last(
    make_chat, services, settings, auctionity_sandbox
):
    """Alice and Bob auto-bid against each other; one process polls, another places; Alice lowers her maximum
    half-way. Nobody ever bids above the maximum they had set when the bid went out, and each bid is answered
    at most once by each of them."""
    from bot.sandbox.auctionity_data import SANDBOX_BOB_EMAIL, SANDBOX_BOB_ID, SANDBOX_BOB_PASSWORD

    data = auctionity_sandbox.data
    alice, bob = make_chat(user_id="alice"), make_chat(user_id="bob")
    await login(alice)
    await login(bob, SANDBOX_BOB_EMAIL, SANDBOX_BOB_PASSWORD)
    await auto_bid(alice, 400)
    await auto_bid(bob, 300)
    poller = Poller(services)
    poller.autobidder = Idle()  # this process only polls
    async with open_services(settings) as worker:  # the other one only places
        lowered_at = None
        for round_ in range(30):
            worker.clock = services.clock
            await next_round(poller)
            await AutoBidder(worker).place_pending()
            if round_ == 3:
                lowered_at = len(data.auctions[LIVE].bids)
                await auto_bid(alice, 250)
    history = data.auctions[LIVE].bids
    assert lowered_at is not None
    assert max(b.amount for b in history[lowered_at:] if b.user_id == SANDBOX_ALICE_ID) <= 250
    assert max(b.amount for b in history if b.user_id == SANDBOX_BOB_ID) <= 300
    for earlier, later_bid in itertools.pairwise(history):
        assert earlier.user_id != later_bid.user_id, "one answer per outbidding bid"
    assert history[-1].user_id == SANDBOX_BOB_ID and history[-1].amount <= 300, "Bob wins at about her maximum"
