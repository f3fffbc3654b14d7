"""Auction commands end to end: sign up, log in, create, bid, watch, winner, and every bad input of issue 4."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.auctions import charts
from bot.core.messages import Outcome
from bot.sandbox.auctionity_data import (
    SANDBOX_ALICE_EMAIL,
    SANDBOX_ALICE_ID,
    SANDBOX_ALICE_PASSWORD,
    SANDBOX_BOB_EMAIL,
    SANDBOX_BOB_PASSWORD,
    SANDBOX_RIVAL_ID,
    SEED_IDS,
)
from storage.models import AuctionitySession, ChatUser

LIVE = SEED_IDS["live_with_bids"]
LIVE_NO_BIDS = SEED_IDS["live_no_bids"]
ENDED = SEED_IDS["ended"]
UPCOMING = SEED_IDS["upcoming"]
UNKNOWN = "0x" + "ab" * 32
PNG = b"\x89PNG\r\n\x1a\n"


async def login(chat, email=SANDBOX_ALICE_EMAIL, password=SANDBOX_ALICE_PASSWORD):
    await chat.say("/login")
    await chat.say(email)
    return await chat.say(password)


async def test_login_keeps_an_encrypted_session_and_never_the_password(chat, services):
    reply = await login(chat)
    assert reply.outcome is Outcome.SUCCESS and SANDBOX_ALICE_EMAIL in reply.text
    with services.db.session() as session:
        stored = session.exec(select(AuctionitySession)).one()
        assert SANDBOX_ALICE_PASSWORD not in stored.token_encrypted
        assert services.box.decrypt(stored.token_encrypted).startswith("eyJ")
        user = session.exec(select(ChatUser)).one()
        assert user.auctionity_user_id == SANDBOX_ALICE_ID


async def test_login_with_wrong_password_is_refused_politely(chat):
    reply = await login(chat, password="not-the-password")
    assert reply.outcome is Outcome.ERROR
    assert "did not accept that email and password" in reply.text


async def test_signup_creates_an_account_and_logs_in(chat):
    await chat.say("/signup")
    await chat.say("newcomer@example.com")
    reply = await chat.say("a-long-password")
    assert reply.outcome is Outcome.SUCCESS and "newcomer@example.com" in reply.text


async def test_signup_rejects_short_password_and_bad_email(chat):
    await chat.say("/signup")
    await chat.say("newcomer@example.com")
    assert "8 to 128 characters" in (await chat.say("short")).text
    await chat.say("/signup")
    await chat.say("not an email")
    assert "email address" in (await chat.say("a-long-password")).text


async def test_reset_password_always_answers_the_same(chat, auctionity_sandbox):
    reply = await chat.say(f"/reset_password {SANDBOX_ALICE_EMAIL}")
    assert "reset link is on its way" in reply.text
    assert SANDBOX_ALICE_EMAIL in auctionity_sandbox.data.password_reset_mail


async def test_logout_forgets_the_session(chat):
    await login(chat)
    assert "logged out" in (await chat.say("/logout")).text
    reply = await chat.say(f"/bid {LIVE} 5000")
    assert "not logged in" in reply.text


async def test_auctions_shows_price_bids_top_bidder_and_time_left(chat):
    await login(chat)
    reply = await chat.say(f"/auctions {LIVE}")
    fields = {f.name: f.value for f in reply.fields}
    assert fields["Current price"] == "120 DRT"
    assert fields["Bids"] == "2"
    assert fields["Top bidder"] == "someone else"  # a person, not a sentence
    assert "ends in 1d 23h" in fields["Ends"] or "ends in 2d" in fields["Ends"]
    labels = [b.label for row in reply.buttons for b in row]
    assert "Watch" in labels and "Refresh" in labels and any(label.startswith("Bid ") for label in labels)


async def test_auctions_accepts_several_ids_and_uppercase_hex(chat):
    reply = await chat.say(f"/auctions {LIVE.upper().replace('0X', '0x')} {ENDED} {UNKNOWN}")
    assert reply.title == "Auctions"
    assert "not found" in reply.text and "ended" in reply.text


@pytest.mark.parametrize("bad", ["0x123", "hello", "0x" + "g" * 64, "0x" + "a" * 65, "💥", "'; DROP TABLE auctions;--"])
async def test_malformed_auction_ids_get_a_clear_message(chat, bad):
    reply = await chat.say("/auctions", args=(bad,))
    assert reply.outcome is Outcome.ERROR
    assert "0x followed by 64 hexadecimal digits" in reply.text


async def test_unknown_auction_id_says_so(chat):
    reply = await chat.say(f"/auctions {UNKNOWN}")
    assert "no auction with that id" in reply.text


async def test_an_auction_with_two_bids_or_more_comes_with_its_price_chart(chat):
    reply = await chat.say(f"/auctions {LIVE}")
    assert reply.image is not None and reply.image.data.startswith(PNG)
    assert reply.image.filename.endswith(".png")
    assert reply.image.alt == "Price of Vintage mechanical keyboard over 2 bids: from 100 DRT to 120 DRT"
    assert {f.name: f.value for f in reply.fields}["Bids"] == "2", "the picture adds to the text, never replaces it"


@pytest.mark.parametrize("key", ["live_single_bid", "live_no_bids", "upcoming"])
async def test_an_auction_with_fewer_than_two_bids_comes_without_a_chart(chat, key):
    reply = await chat.say(f"/auctions {SEED_IDS[key]}")
    assert reply.fields and reply.image is None


async def test_several_auctions_at_once_come_without_charts(chat):
    reply = await chat.say(f"/auctions {LIVE} {ENDED}")
    assert reply.title == "Auctions" and reply.image is None


async def test_the_price_chart_is_drawn_off_the_event_loop(chat, monkeypatch):
    drawn_in = []
    draw = charts.price_chart

    def spy(*args, **kwargs):
        drawn_in.append(threading.current_thread())
        return draw(*args, **kwargs)

    monkeypatch.setattr(charts, "price_chart", spy)
    reply = await chat.say(f"/auctions {ENDED}")
    assert reply.image is not None
    assert drawn_in and drawn_in[0] is not threading.current_thread()


async def test_a_chart_that_cannot_be_drawn_leaves_the_auction_shown_without_it(chat, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise ValueError("no fonts")

    monkeypatch.setattr(charts, "price_chart", broken)
    monkeypatch.setattr(charts, "_drawn", charts._Drawn())  # nothing drawn before (the sandbox's bids repeat)
    reply = await chat.say(f"/auctions {LIVE}")
    assert reply.outcome is Outcome.INFO and reply.title == "Vintage mechanical keyboard"
    assert reply.image is None
    assert "could not draw the price chart" in caplog.text


async def test_bid_places_a_bid_and_puts_you_on_top(chat, auctionity_sandbox):
    await login(chat)
    reply = await chat.say(f"/bid {LIVE} 150")
    assert reply.outcome is Outcome.SUCCESS and "150 DRT" in reply.text
    top = auctionity_sandbox.data.get(LIVE).bids[-1]
    assert (top.user_id, top.amount) == (SANDBOX_ALICE_ID, 150)
    shown = await chat.say(f"/auctions {LIVE}")
    assert {f.name: f.value for f in shown.fields}["Top bidder"] == "you"


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("0", "between 1"),
        ("-5", "between 1"),
        ("12.5", "whole number"),
        ("lots", "whole number"),
        ("99999999999999999999999", "between 1 and 1,000,000,000,000"),  # a whole number, too big: the range
        ("10000000000000", "between 1"),
    ],
)
async def test_bid_rejects_bad_amounts_before_any_request(chat, auctionity_sandbox, amount, expected):
    await login(chat)
    before = auctionity_sandbox.data.requests.get("/bid", 0)
    reply = await chat.say("/bid", args=(LIVE, amount))
    assert reply.outcome is Outcome.ERROR and expected in reply.text
    assert auctionity_sandbox.data.requests.get("/bid", 0) == before


async def test_bid_below_the_top_is_refused_with_the_minimum(chat, auctionity_sandbox):
    await login(chat)
    reply = await chat.say(f"/bid {LIVE} 110")
    assert "at least 121 DRT" in reply.text
    assert auctionity_sandbox.data.requests.get("/bid", 0) == 0


async def test_bid_on_ended_and_upcoming_auctions_is_refused(chat):
    await login(chat)
    assert "has ended" in (await chat.say(f"/bid {ENDED} 500")).text
    assert "not started yet" in (await chat.say(f"/bid {UPCOMING} 500")).text


async def test_bid_race_lost_upstream_says_someone_bid_higher(chat, auctionity_sandbox):
    await login(chat)
    original = auctionity_sandbox.data.place_bid_as

    # The rival slips in between our check and our bid: the sandbox then answers 400 "bid too low".
    def sneaky(user_id, auction_id, amount, force=False):
        auctionity_sandbox.data.place_bid_as = original
        original(SANDBOX_RIVAL_ID, auction_id, 10_000)
        return original(user_id, auction_id, amount, force=force)

    auctionity_sandbox.data.place_bid_as = sneaky
    try:
        reply = await chat.say(f"/bid {LIVE} 130")
    finally:
        auctionity_sandbox.data.place_bid_as = original
    assert reply.outcome is Outcome.ERROR and "Someone bid higher" in reply.text


async def test_newauction_creates_and_lists_in_myauctions(chat):
    await login(chat, SANDBOX_BOB_EMAIL, SANDBOX_BOB_PASSWORD)
    created = await chat.say('/newauction "Brass telescope" 200 now +2h')
    assert created.outcome is Outcome.SUCCESS and "ends in 2h" in created.text
    new_id = created.fields[0].value
    listing = await chat.say("/myauctions")
    assert new_id in listing.text and "Brass telescope" in listing.text


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (('""', "100", "now", "+2h"), "needs a name"),
        (("x" * 200, "100", "now", "+2h"), "too long"),
        (("Lamp", "100", "+3h", "+2h"), "end must come after the start"),
        (("Lamp", "100", "2020-01-01T00:00Z", "2020-01-02T00:00Z"), "end must be in the future"),
        (("Lamp", "100", "now", "tomorrow-ish"), "ISO 8601"),
        (("Lamp", "0", "now", "+2h"), "between 1"),
        (("Lamp", "100", "now", "+2h", "€€"), "three to five capital letters"),
        (("Lamp", "100", "now", "+2h", "XY"), "three to five capital letters"),
    ],
)
async def test_newauction_validates_before_any_request(chat, auctionity_sandbox, args, expected):
    await login(chat)
    reply = await chat.say("/newauction", args=tuple(a.strip('"') for a in args))
    assert reply.outcome is Outcome.ERROR and expected in reply.text
    assert auctionity_sandbox.data.requests.get("/auction", 0) == 0, "nothing sent upstream"


async def test_myauctions_pages_with_buttons(chat, auctionity_sandbox):
    await login(chat, SANDBOX_BOB_EMAIL, SANDBOX_BOB_PASSWORD)
    data = auctionity_sandbox.data
    for n in range(7):
        data.create_auction(
            f"Lot {n}",
            10,
            data.now(),
            data.now() + timedelta(days=1),
            creator_id=data.users_by_email[SANDBOX_BOB_EMAIL],
        )
    first = await chat.say("/myauctions name asc")
    assert first.title.startswith("Your auctions (page 1 of")
    second = await chat.press(first, "Next")
    assert second.title.startswith("Your auctions (page 2 of") and second.text != first.text


async def test_winner_is_only_for_the_creator(make_chat):
    alice, bob = make_chat(user_id="alice"), make_chat(user_id="bob")
    await login(alice)
    await login(bob, SANDBOX_BOB_EMAIL, SANDBOX_BOB_PASSWORD)
    assert "rival@sandbox.test" in (await alice.say(f"/winner {ENDED}")).text
    refused = await bob.say(f"/winner {ENDED}")
    assert refused.outcome is Outcome.ERROR and "Only the creator" in refused.text


async def test_tampered_token_leads_to_login_again_and_is_forgotten(chat, services):
    await login(chat)
    with services.db.session() as session:
        stored = session.exec(select(AuctionitySession)).one()
        token = services.box.decrypt(stored.token_encrypted)
        stored.token_encrypted = services.box.encrypt(token[:-4] + "AAAA")
        session.add(stored)
    reply = await chat.say("/myauctions")
    assert "session expired" in reply.text and "/login" in reply.text
    assert "not logged in" in (await chat.say("/myauctions")).text


async def test_expired_session_asks_to_login_again(chat, core):
    await login(chat)
    real = core.services.clock
    core.services.clock = lambda: real() + timedelta(days=2)
    try:
        reply = await chat.say("/myauctions")
    finally:
        core.services.clock = real
    assert "session expired" in reply.text


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"status": 500}, "not answering"),
        ({"status": 503}, "not answering"),
        ({"malformed": "html"}, "could not read"),
        ({"latency": 3.0}, "not answering"),
    ],
)
async def test_auctionity_failures_get_polite_replies(chat, auctionity_sandbox, fault, expected):
    auctionity_sandbox.faults.set(**fault)
    reply = await chat.say(f"/auctions {LIVE}")
    assert reply.outcome is Outcome.ERROR and expected in reply.text


async def test_login_in_a_group_is_refused(make_chat):
    reply = await make_chat(chat_id="group", private=False).say("/login")
    assert "private chat" in reply.text


async def test_watch_then_watches_then_unwatch(chat):
    await login(chat)
    watched = await chat.say(f"/watch {LIVE} remind 1h,10m")
    assert watched.outcome is Outcome.SUCCESS and "1h before the end and 10m before the end" in watched.text
    listing = await chat.say("/watches")
    assert "Vintage mechanical keyboard" in listing.text and "120 DRT" in listing.text
    assert "No more alerts" in (await chat.say(f"/unwatch {LIVE}")).text
    assert "not watching any" in (await chat.say("/watches")).text


@pytest.mark.parametrize("options", ["remind", "remind soon", "remind 0m", "remind 9d", "later 1h"])
async def test_watch_rejects_bad_reminders(chat, options):
    reply = await chat.say(f"/watch {LIVE} {options}")
    assert reply.outcome is Outcome.ERROR
