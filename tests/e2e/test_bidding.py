"""Bids that ask first and auto-bids, end to end: the real core and poller, the Auctionity sandbox over HTTP."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from sqlmodel import col, select

from bot.alerts.poller import Poller
from bot.auctions.autobids import AutoBidder, lease
from bot.auctions.rules import suggested_bid
from bot.core.messages import Outcome
from bot.core.payloads import decode
from bot.sandbox.auctionity_data import (
    SANDBOX_ALICE_EMAIL,
    SANDBOX_ALICE_ID,
    SANDBOX_ALICE_PASSWORD,
    SANDBOX_BOB_EMAIL,
    SANDBOX_BOB_ID,
    SANDBOX_BOB_PASSWORD,
    SANDBOX_RIVAL_ID,
    SEED_IDS,
)
from storage import autobids
from storage.models import AuctionitySession, AutoBidIntent, Notification

LIVE = SEED_IDS["live_with_bids"]  # alice 100, then rival 120: rival on top


async def login(chat, email=SANDBOX_ALICE_EMAIL, password=SANDBOX_ALICE_PASSWORD):
    await chat.say("/login")
    await chat.say(email)
    return await chat.say(password)


def bids_by(data, user_id, auction_id=LIVE):
    return [b.amount for b in data.auctions[auction_id].bids if b.user_id == user_id]


def outbox(services, kind=None):
    with services.db.session() as session:
        query = select(Notification).order_by(col(Notification.id))
        if kind is not None:
            query = query.where(Notification.kind == kind)
        return [(row.chat_id, decode(row.payload)) for row in session.exec(query)]


async def next_round(poller):
    start = poller.services.now()
    poller.services.clock = lambda: start + timedelta(seconds=poller.services.settings.poll_interval_seconds)
    return await poller.poll_once()


async def auto_bid(chat, maximum, auction_id=LIVE):
    asked = await chat.say(f"/autobid {auction_id} {maximum}")
    assert asked.title == "Confirm your auto-bid", asked.text
    return await chat.press(asked, "Confirm")


# --- bid buttons ask first -------------------------------------------------------------------------------


async def test_a_bid_button_asks_first_and_only_its_owners_confirm_bids_once(make_chat, auctionity_sandbox):
    data = auctionity_sandbox.data
    alice, bob = make_chat(user_id="alice"), make_chat(user_id="bob")
    await login(alice)
    await login(bob, SANDBOX_BOB_EMAIL, SANDBOX_BOB_PASSWORD)
    shown = await alice.say(f"/auctions {LIVE}")
    asked = await alice.press(shown, "Bid")
    assert asked.title == "Confirm your bid" and asked.text.startswith("Bid 126 DRT on ")
    assert bids_by(data, SANDBOX_ALICE_ID) == [100], "nothing is sent before Confirm"

    stolen = await bob.press(asked, "Confirm")  # the same message, seen in a group, pressed by someone else
    assert stolen.outcome is Outcome.ERROR and "for the person who asked" in stolen.text
    assert bids_by(data, SANDBOX_BOB_ID) == []

    placed = await alice.press(asked, "Confirm")
    assert placed.title == "Bid placed" and "126 DRT" in placed.text
    again = await alice.press(asked, "Confirm")  # a double press, or a replay
    assert "already done" in again.text
    assert bids_by(data, SANDBOX_ALICE_ID) == [100, 126]


async def test_cancel_sends_nothing_and_a_cancelled_offer_cannot_be_confirmed(make_chat, auctionity_sandbox):
    alice = make_chat(user_id="alice")
    await login(alice)
    asked = await alice.say(f"/bid_ask {LIVE} 130")
    assert "Nothing was sent" in (await alice.press(asked, "Cancel")).text.replace("nothing", "Nothing")
    assert "already done" in (await alice.press(asked, "Confirm")).text
    assert bids_by(auctionity_sandbox.data, SANDBOX_ALICE_ID) == [100]


async def test_an_offer_expires(make_chat, services, auctionity_sandbox):
    alice = make_chat(user_id="alice")
    await login(alice)
    asked = await alice.say(f"/bid_ask {LIVE} 130")
    start = services.now()
    services.clock = lambda: start + timedelta(minutes=11)
    assert "expired" in (await alice.press(asked, "Confirm")).text
    assert bids_by(auctionity_sandbox.data, SANDBOX_ALICE_ID) == [100]


async def test_a_typed_bid_still_bids_at_once(make_chat, auctionity_sandbox):
    alice = make_chat(user_id="alice")
    await login(alice)
    assert (await alice.say(f"/bid {LIVE} 130")).title == "Bid placed"
    assert bids_by(auctionity_sandbox.data, SANDBOX_ALICE_ID) == [100, 130]


# --- auto-bids -------------------------------------------------------------------------------------------


async def test_autobid_says_what_will_happen_and_does_nothing_before_confirm(make_chat, services, auctionity_sandbox):
    data = auctionity_sandbox.data
    alice = make_chat(user_id="alice")
    await login(alice)
    asked = await alice.say(f"/autobid {LIVE} 300")
    assert "up to 300 DRT" in asked.text and "I bid 126 DRT at once" in asked.text
    with services.db.session() as session:
        assert autobids.auto_bids_for_user(session, chat_user_id=1) == {}
    assert bids_by(data, SANDBOX_ALICE_ID) == [100]

    started = await alice.press(asked, "Confirm")
    assert started.title == "Auto-bid on" and "I bid 126 DRT for you" in started.text
    assert bids_by(data, SANDBOX_ALICE_ID) == [100, 126]
    watching = await alice.say("/watches")
    assert "auto-bid up to 300 DRT" in watching.text


async def test_when_outbid_it_bids_the_next_step_once_and_says_so_instead_of_a_plain_outbid(
    make_chat, services, auctionity_sandbox
):
    data = auctionity_sandbox.data
    alice = make_chat(user_id="alice")
    await login(alice)
    await auto_bid(alice, 300)
    poller = Poller(services)
    await poller.poll_once()  # first sight: alice (126) on top, nothing to do
    data.place_bid_as(SANDBOX_RIVAL_ID, LIVE, 150)
    stats = await next_round(poller)
    assert stats.autobids.placed == 1
    assert bids_by(data, SANDBOX_ALICE_ID) == [100, 126, 158]
    [(chat, alert)] = outbox(services, "autobid")
    assert chat == "alice" and alert.text.startswith("Outbid at 150 DRT on ")
    assert alert.text.endswith("I bid 158 DRT for you (max 300 DRT).")
    assert outbox(services, "outbid") == [], "the auto-bid's alert replaces the plain one"

    await next_round(poller)  # polling again decides nothing new
    assert bids_by(data, SANDBOX_ALICE_ID) == [100, 126, 158]


async def test_it_never_bids_above_the_maximum_and_stops_saying_why(make_chat, services, auctionity_sandbox):
    data = auctionity_sandbox.data
    alice = make_chat(user_id="alice")
    await login(alice)
    await auto_bid(alice, 300)
    poller = Poller(services)
    await poller.poll_once()
    data.place_bid_as(SANDBOX_RIVAL_ID, LIVE, 295)
    await next_round(poller)
    assert bids_by(data, SANDBOX_ALICE_ID)[-1] == 300, "the step is cut to the maximum, never past it"
    data.place_bid_as(SANDBOX_RIVAL_ID, LIVE, 320)
    await next_round(poller)
    assert max(bids_by(data, SANDBOX_ALICE_ID)) == 300
    alerts = [alert.text for _, alert in outbox(services, "autobid")]
    assert any("Outbid at 320 DRT" in t and "above your maximum of 300 DRT" in t for t in alerts), alerts
    assert "auto-bid" not in (await alice.say("/watches")).text
    data.place_bid_as(SANDBOX_RIVAL_ID, LIVE, 330)
    await next_round(poller)
    assert max(bids_by(data, SANDBOX_ALICE_ID)) == 300


async def test_an_expired_login_stops_the_auto_bid_and_tells_the_user(make_chat, services, auctionity_sandbox):
    data = auctionity_sandbox.data
    alice = make_chat(user_id="alice")
    await login(alice)
    await auto_bid(alice, 300)
    poller = Poller(services)
    await poller.poll_once()
    with services.db.session() as session:  # Auctionity no longer accepts her token
        stored = session.exec(select(AuctionitySession)).one()
        stored.token_encrypted = services.box.encrypt("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bm90LXZhbGlk")
        session.add(stored)
        session.commit()
    data.place_bid_as(SANDBOX_RIVAL_ID, LIVE, 150)
    stats = await next_round(poller)
    assert stats.autobids.stopped == 1 and bids_by(data, SANDBOX_ALICE_ID) == [100, 126]
    [(_, alert)] = outbox(services, "autobid")
    assert "login has expired" in alert.text and "/login" in alert.text


async def test_two_auto_bidders_converge_like_proxy_bidding(make_chat, services, auctionity_sandbox):
    data = auctionity_sandbox.data
    alice, bob = make_chat(user_id="alice"), make_chat(user_id="bob")
    await login(alice)
    await login(bob, SANDBOX_BOB_EMAIL, SANDBOX_BOB_PASSWORD)
    await auto_bid(alice, 200)
    await auto_bid(bob, 300)
    poller = Poller(services)
    polls = 0
    while polls < 40:
        polls += 1
        await next_round(poller)
        with services.db.session() as session:
            pending = session.exec(select(AutoBidIntent).where(col(AutoBidIntent.state) == "pending")).all()
            alice_bidding = autobids.auto_bids_for_user(session, chat_user_id=1)
        if data.auctions[LIVE].bids[-1].user_id == SANDBOX_BOB_ID and not pending and not alice_bidding:
            break
    top = data.auctions[LIVE].bids[-1]
    assert top.user_id == SANDBOX_BOB_ID, "the higher maximum wins"
    assert 200 < top.amount <= 200 + suggested_bid_step(200), "at about the lower maximum plus one step"
    assert max(bids_by(data, SANDBOX_ALICE_ID)) <= 200 and max(bids_by(data, SANDBOX_BOB_ID)) <= 300
    assert polls <= 30, f"converged in {polls} polls"
    alice_alerts = [alert.text for chat, alert in outbox(services, "autobid") if chat == "alice"]
    assert "above your maximum of 200 DRT" in alice_alerts[-1]


def suggested_bid_step(amount):
    class Priced:
        history = [object()]

    priced = Priced()
    priced.amount = amount  # type: ignore[attr-defined]
    priced.base_amount = amount  # type: ignore[attr-defined]
    return suggested_bid(priced) - amount  # type: ignore[arg-type]


async def test_a_decision_whose_process_died_is_bid_once_by_the_next(make_chat, services, auctionity_sandbox):
    """Died between deciding and bidding: the intent is pending; the next process bids it, once."""
    data = auctionity_sandbox.data
    alice = make_chat(user_id="alice")
    await login(alice)
    await auto_bid(alice, 300)
    poller = Poller(services)
    await poller.poll_once()

    class Dead:
        async def place_pending(self):
            raise SystemExit  # the process dies right after the poll's transaction committed

    poller.autobidder = Dead()
    data.place_bid_as(SANDBOX_RIVAL_ID, LIVE, 150)
    with contextlib.suppress(SystemExit):
        await next_round(poller)
    assert bids_by(data, SANDBOX_ALICE_ID) == [100, 126]
    assert (await AutoBidder(services).place_pending()).placed == 1  # the next process
    assert (await AutoBidder(services).place_pending()).placed == 0
    assert bids_by(data, SANDBOX_ALICE_ID) == [100, 126, 158]


async def test_a_bid_that_landed_before_the_process_died_is_not_placed_again(make_chat, services, auctionity_sandbox):
    """Died between bidding and recording it: once the lease ends, the history shows the bid; no second one."""
    data = auctionity_sandbox.data
    alice = make_chat(user_id="alice")
    await login(alice)
    await auto_bid(alice, 300)
    poller = Poller(services)
    await poller.poll_once()
    poller.autobidder = type("Idle", (), {"place_pending": staticmethod(lambda: _nothing())})()
    data.place_bid_as(SANDBOX_RIVAL_ID, LIVE, 150)
    await next_round(poller)
    now = services.now()
    with services.db.session() as session:
        [intent] = autobids.lease_intents(session, now=now, lease_until=now + lease(2.0))  # the dying process took it
        session.commit()
    data.place_bid_as(SANDBOX_ALICE_ID, LIVE, intent.amount)  # ... and its bid landed
    assert (await AutoBidder(services).place_pending()).placed == 0, "leased: left alone until the lease ends"
    services.clock = lambda: now + lease(2.0) + timedelta(seconds=1)
    stats = await AutoBidder(services).place_pending()
    assert (stats.placed, stats.reconciled) == (0, 1)
    assert bids_by(data, SANDBOX_ALICE_ID) == [100, 126, 158]
    [(_, alert)] = outbox(services, "autobid")
    assert "I bid 158 DRT for you" in alert.text


async def _nothing():
    return None


async def test_autobid_off_stops_it(make_chat, services, auctionity_sandbox):
    data = auctionity_sandbox.data
    alice = make_chat(user_id="alice")
    await login(alice)
    await auto_bid(alice, 300)
    assert (await alice.say(f"/autobid off {LIVE}")).outcome is Outcome.SUCCESS
    assert "no auto-bid" in (await alice.say(f"/autobid off {LIVE}")).text
    poller = Poller(services)
    await poller.poll_once()
    data.place_bid_as(SANDBOX_RIVAL_ID, LIVE, 150)
    await next_round(poller)
    assert bids_by(data, SANDBOX_ALICE_ID) == [100, 126]
    assert [chat for chat, _ in outbox(services, "outbid")] == ["alice"], "a plain outbid alert again"


async def test_autobid_refuses_a_maximum_below_the_next_bid(make_chat):
    alice = make_chat(user_id="alice")
    await login(alice)
    refused = await alice.say(f"/autobid {LIVE} 110")
    assert refused.outcome is Outcome.ERROR and "at least 121 DRT" in refused.text
