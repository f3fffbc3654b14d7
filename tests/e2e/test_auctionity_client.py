"""AuctionityClient against the Auctionity sandbox over real HTTP on loopback: every endpoint, rule and fault."""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest

from bot.clients.auctionity import AuctionityClient, user_id_from_token
from bot.core.errors import (
    AuctionClosed,
    AuctionNotFound,
    BadRequest,
    BidTooLow,
    NotCreator,
    SessionExpired,
    UpstreamMalformed,
    UpstreamUnavailable,
    WrongCredentials,
)
from bot.sandbox.auctionity import (
    SANDBOX_ALICE_EMAIL,
    SANDBOX_ALICE_ID,
    SANDBOX_ALICE_PASSWORD,
    SANDBOX_BOB_EMAIL,
    SANDBOX_BOB_ID,
    SANDBOX_BOB_PASSWORD,
    SANDBOX_RIVAL_EMAIL,
    SANDBOX_RIVAL_ID,
    SEED_IDS,
    rival_round,
    run_rival_bidders,
)
from bot.sandbox.faults import MALFORMED_BODIES

LIVE = SEED_IDS["live_with_bids"]  # base 100, top 120 by the rival
UNBID = SEED_IDS["live_no_bids"]  # base 50, no bids
ENDED = SEED_IDS["ended"]  # created by alice, won by the rival
UPCOMING = SEED_IDS["upcoming"]
UNKNOWN = "0x" + "ab" * 32


@pytest.fixture
async def client(auctionity_sandbox: Any) -> AsyncIterator[AuctionityClient]:
    async with AuctionityClient(auctionity_sandbox.url, timeout=5) as c:
        yield c


@pytest.fixture
async def alice(client: AuctionityClient) -> str:
    return (await client.login(SANDBOX_ALICE_EMAIL, SANDBOX_ALICE_PASSWORD)).access_token


@pytest.fixture
async def bob(client: AuctionityClient) -> str:
    return (await client.login(SANDBOX_BOB_EMAIL, SANDBOX_BOB_PASSWORD)).access_token


# -- authentication ---------------------------------------------------------------------------------------


async def test_login_returns_a_bearer_token_naming_the_user(client: AuctionityClient) -> None:
    token = await client.login(SANDBOX_ALICE_EMAIL, SANDBOX_ALICE_PASSWORD)
    assert token.token_type == "Bearer"
    assert token.expires_in == 86400
    assert user_id_from_token(token.access_token) == SANDBOX_ALICE_ID
    assert token.access_token not in repr(token)


async def test_signup_then_login_with_the_new_account(client: AuctionityClient, auctionity_sandbox: Any) -> None:
    await client.signup("newcomer@example.org", "long-enough-password")
    token = await client.login("newcomer@example.org", "long-enough-password")
    user_id = user_id_from_token(token.access_token)
    assert user_id and user_id in auctionity_sandbox.data.users


async def test_signup_stores_only_a_salted_hash_of_the_password(
    client: AuctionityClient, auctionity_sandbox: Any
) -> None:
    await client.signup("hashed@example.org", "plain-text-password")
    user = auctionity_sandbox.data.users[auctionity_sandbox.data.users_by_email["hashed@example.org"]]
    assert b"plain-text-password" not in user.password_hash
    assert len(user.salt) >= 16


@pytest.mark.parametrize(
    ("email", "password"),
    [(SANDBOX_ALICE_EMAIL, "another-password"), ("not-an-email", "long-enough-password"), ("x@example.org", "short")],
    ids=["duplicate-email", "bad-email", "short-password"],
)
async def test_signup_refusal_is_a_bad_request(client: AuctionityClient, email: str, password: str) -> None:
    with pytest.raises(BadRequest) as caught:
        await client.signup(email, password)
    assert caught.value.status == 400
    assert password not in str(caught.value)


async def test_login_with_a_wrong_password_raises_wrong_credentials(client: AuctionityClient) -> None:
    with pytest.raises(WrongCredentials) as caught:
        await client.login(SANDBOX_ALICE_EMAIL, "not-her-password")
    assert caught.value.status == 403
    assert caught.value.upstream == "Auctionity"
    assert "not-her-password" not in str(caught.value)


async def test_login_with_an_unknown_email_raises_wrong_credentials(client: AuctionityClient) -> None:
    with pytest.raises(WrongCredentials):
        await client.login("nobody@example.org", "whatever-password")


async def test_reset_password_answers_alike_for_known_and_unknown_emails(
    client: AuctionityClient, auctionity_sandbox: Any
) -> None:
    await client.reset_password(SANDBOX_ALICE_EMAIL)
    await client.reset_password("nobody@example.org")
    assert auctionity_sandbox.data.password_reset_mail == [SANDBOX_ALICE_EMAIL]


async def test_reset_password_with_a_malformed_email_is_a_bad_request(client: AuctionityClient) -> None:
    with pytest.raises(BadRequest):
        await client.reset_password("no-at-sign")


async def test_a_token_past_its_lifetime_raises_session_expired(
    client: AuctionityClient, alice: str, auctionity_sandbox: Any
) -> None:
    auctionity_sandbox.data.advance(timedelta(days=1, seconds=1))
    with pytest.raises(SessionExpired) as caught:
        await client.user_auctions(alice)
    assert caught.value.status == 401
    assert alice not in str(caught.value)


async def test_a_short_token_lifetime_is_announced_and_enforced(
    client: AuctionityClient, auctionity_sandbox: Any
) -> None:
    auctionity_sandbox.data.token_lifetime = 60
    token = await client.login(SANDBOX_ALICE_EMAIL, SANDBOX_ALICE_PASSWORD)
    assert token.expires_in == 60
    await client.user_auctions(token.access_token)
    auctionity_sandbox.data.advance(61)
    with pytest.raises(SessionExpired):
        await client.user_auctions(token.access_token)


async def test_a_tampered_token_raises_session_expired(client: AuctionityClient, alice: str) -> None:
    claims = jwt.decode(alice, options={"verify_signature": False})
    forged = jwt.encode({**claims, "sub": SANDBOX_BOB_ID}, "a-guessed-secret-of-32-bytes-long!", algorithm="HS256")
    with pytest.raises(SessionExpired):
        await client.user_auctions(forged)
    header, payload, signature = alice.split(".")
    with pytest.raises(SessionExpired):
        await client.bid(f"{header}.{payload}.{signature[::-1]}", LIVE, 500)


async def test_an_empty_or_unprintable_token_raises_session_expired_without_a_request(
    client: AuctionityClient, auctionity_sandbox: Any
) -> None:
    for token in ("", "abc\ndef", "tok en"):
        with pytest.raises(SessionExpired):
            await client.bid(token, LIVE, 500)
    assert auctionity_sandbox.data.requests["/bid"] == 0


# -- reading auctions -------------------------------------------------------------------------------------


async def test_auctions_returns_the_known_ids_and_leaves_out_unknown_ones(client: AuctionityClient) -> None:
    auctions = await client.auctions([LIVE, UNKNOWN, ENDED])
    assert {a.id for a in auctions} == {LIVE, ENDED}


async def test_auctions_reads_every_documented_field(client: AuctionityClient, auctionity_sandbox: Any) -> None:
    (auction,) = await client.auctions([LIVE])
    now = auctionity_sandbox.data.now()
    assert auction.name == "Vintage mechanical keyboard"
    assert auction.amount == 120 and auction.base_amount == 100 and auction.currency == "DRT"
    assert [b.user_id for b in auction.history] == [SANDBOX_ALICE_ID, SANDBOX_RIVAL_ID]
    assert auction.top_bid is not None and auction.top_bid.amount == 120
    assert auction.has_started(now) and not auction.has_ended(now)
    (upcoming,) = await client.auctions([UPCOMING])
    assert not upcoming.has_started(now) and upcoming.history == [] and upcoming.amount == 150


async def test_auctions_asks_for_many_ids_in_one_request(client: AuctionityClient, auctionity_sandbox: Any) -> None:
    await client.auctions(list(SEED_IDS.values()))
    assert auctionity_sandbox.data.requests["/auction"] == 1


async def test_auctions_splits_long_id_lists_into_batches_of_fifty(
    client: AuctionityClient, auctionity_sandbox: Any
) -> None:
    ids = auctionity_sandbox.data.bulk_create(120)
    auctions = await client.auctions([*ids, ids[0]])
    assert [a.id for a in auctions] == ids
    assert auctionity_sandbox.data.requests["/auction"] == 3


async def test_auctions_with_no_ids_asks_nothing(client: AuctionityClient, auctionity_sandbox: Any) -> None:
    assert await client.auctions([]) == []
    assert auctionity_sandbox.data.requests["/auction"] == 0


async def test_auctions_sorts_by_the_requested_field_and_order(client: AuctionityClient) -> None:
    ids = list(SEED_IDS.values())
    by_name = await client.auctions(ids, field="name", order="ASC")
    assert [a.name for a in by_name] == sorted(a.name for a in by_name)
    by_end = await client.auctions(ids, field="end_at", order="DESC")
    assert [a.end_date for a in by_end] == sorted((a.end_date for a in by_end), reverse=True)


async def test_sandbox_also_reads_id_without_brackets(auctionity_sandbox: Any) -> None:
    async with httpx.AsyncClient(base_url=auctionity_sandbox.url) as raw:
        response = await raw.get("/auction", params=[("id", LIVE), ("id", ENDED)])
    assert response.status_code == 200
    assert response.json()["total"] == 2
    assert response.json()["auctions"][0]["start_date"].endswith("Z")


# -- creating auctions ------------------------------------------------------------------------------------


async def test_create_auction_returns_a_hash_id_and_the_auction_is_readable(
    client: AuctionityClient, bob: str, auctionity_sandbox: Any
) -> None:
    now = auctionity_sandbox.data.now()
    auction_id = await client.create_auction(
        bob, name="Brass telescope", base_amount=75, start_at=now, end_at=now + timedelta(hours=2)
    )
    assert auction_id.startswith("0x") and len(auction_id) == 66
    (auction,) = await client.auctions([auction_id])
    assert (auction.name, auction.amount, auction.currency) == ("Brass telescope", 75, "DRT")
    assert auction.end_date == now + timedelta(hours=2)


async def test_create_auction_keeps_a_chosen_currency(
    client: AuctionityClient, bob: str, auctionity_sandbox: Any
) -> None:
    now = auctionity_sandbox.data.now()
    auction_id = await client.create_auction(
        bob, name="Lamp", base_amount=5, start_at=now, end_at=now + timedelta(days=1), currency="ETH"
    )
    assert (await client.auctions([auction_id]))[0].currency == "ETH"


@pytest.mark.parametrize(
    ("name", "base_amount", "start_offset", "end_offset"),
    [
        ("Ends before it starts", 10, timedelta(hours=2), timedelta(hours=1)),
        ("Ends in the past", 10, timedelta(hours=-3), timedelta(hours=-1)),
        ("Free", 0, timedelta(0), timedelta(hours=1)),
        ("Negative", -5, timedelta(0), timedelta(hours=1)),
        ("   ", 10, timedelta(0), timedelta(hours=1)),
    ],
    ids=["end-before-start", "end-in-past", "zero-base", "negative-base", "empty-name"],
)
async def test_create_auction_refuses_invalid_auctions(
    client: AuctionityClient,
    bob: str,
    auctionity_sandbox: Any,
    name: str,
    base_amount: int,
    start_offset: timedelta,
    end_offset: timedelta,
) -> None:
    now = auctionity_sandbox.data.now()
    with pytest.raises(BadRequest) as caught:
        await client.create_auction(
            bob, name=name, base_amount=base_amount, start_at=now + start_offset, end_at=now + end_offset
        )
    assert type(caught.value) is BadRequest


async def test_user_auctions_lists_only_the_callers_auctions_with_total_and_pages(
    client: AuctionityClient, alice: str, bob: str, auctionity_sandbox: Any
) -> None:
    mine = await client.user_auctions(alice)
    assert [a.id for a in mine.auctions] == [ENDED] and mine.total == 1
    bobs = await client.user_auctions(bob, field="name", order="ASC", page=1, per_page=2)
    assert bobs.total == 4 and len(bobs.auctions) == 2
    rest = await client.user_auctions(bob, field="name", order="ASC", page=2, per_page=2)
    names = [a.name for a in bobs.auctions + rest.auctions]
    assert names == sorted(names) and len(set(names)) == 4


# -- bidding ----------------------------------------------------------------------------------------------


async def test_a_bid_above_the_top_is_accepted_and_becomes_the_top(client: AuctionityClient, alice: str) -> None:
    receipt = await client.bid(alice, LIVE, 121)
    assert receipt.user_id == SANDBOX_ALICE_ID
    assert receipt.id.startswith("0x") and len(receipt.id) == 66
    (auction,) = await client.auctions([LIVE])
    assert auction.top_bid is not None
    assert (auction.top_bid.id, auction.top_bid.amount, auction.amount) == (receipt.id, 121, 121)


async def test_a_first_bid_of_exactly_the_base_amount_is_accepted(client: AuctionityClient, alice: str) -> None:
    receipt = await client.bid(alice, UNBID, 50)
    assert receipt.user_id == SANDBOX_ALICE_ID


@pytest.mark.parametrize(("auction_id", "amount"), [(LIVE, 120), (LIVE, 110), (UNBID, 49)])
async def test_a_bid_not_above_the_top_or_below_base_raises_bid_too_low(
    client: AuctionityClient, alice: str, auction_id: str, amount: int
) -> None:
    with pytest.raises(BidTooLow) as caught:
        await client.bid(alice, auction_id, amount)
    assert caught.value.status == 400


@pytest.mark.parametrize("auction_id", [UPCOMING, ENDED], ids=["not-started", "ended"])
async def test_a_bid_outside_the_auction_window_raises_auction_closed(
    client: AuctionityClient, alice: str, auction_id: str
) -> None:
    with pytest.raises(AuctionClosed):
        await client.bid(alice, auction_id, 10_000)


async def test_a_bid_on_an_unknown_auction_raises_auction_not_found(client: AuctionityClient, alice: str) -> None:
    with pytest.raises(AuctionNotFound):
        await client.bid(alice, UNKNOWN, 10_000)


@pytest.mark.parametrize("field", ["auction_id", "id"])
async def test_bid_works_against_a_server_that_reads_only_one_field_name(
    client: AuctionityClient, alice: str, auctionity_sandbox: Any, field: str
) -> None:
    auctionity_sandbox.data.bid_field = field
    receipt = await client.bid(alice, LIVE, 130)
    assert receipt.user_id == SANDBOX_ALICE_ID


@pytest.mark.parametrize(("required", "sent"), [("auction_id", "id"), ("id", "auction_id")])
async def test_a_server_reading_one_field_name_refuses_the_other(
    alice: str, auctionity_sandbox: Any, required: str, sent: str
) -> None:
    auctionity_sandbox.data.bid_field = required
    async with httpx.AsyncClient(base_url=auctionity_sandbox.url) as raw:
        response = await raw.post(
            "/bid", json={sent: LIVE, "amount": 130}, headers={"Authorization": f"Bearer {alice}"}
        )
    assert response.status_code == 400


# -- winner -----------------------------------------------------------------------------------------------


async def test_the_creator_learns_the_winners_email(client: AuctionityClient, alice: str) -> None:
    assert await client.winner(alice, ENDED) == SANDBOX_RIVAL_EMAIL


async def test_winner_asked_by_someone_else_raises_not_creator(client: AuctionityClient, bob: str) -> None:
    with pytest.raises(NotCreator) as caught:
        await client.winner(bob, ENDED)
    assert caught.value.status == 403


async def test_winner_of_a_running_auction_is_a_plain_bad_request(client: AuctionityClient, bob: str) -> None:
    with pytest.raises(BadRequest) as caught:
        await client.winner(bob, LIVE)
    assert type(caught.value) is BadRequest


async def test_winner_of_an_ended_auction_without_bids_is_a_plain_bad_request(
    client: AuctionityClient, bob: str, auctionity_sandbox: Any
) -> None:
    auctionity_sandbox.data.end_now(UNBID)
    with pytest.raises(BadRequest) as caught:
        await client.winner(bob, UNBID)
    assert type(caught.value) is BadRequest


async def test_winner_of_an_unknown_auction_raises_auction_not_found(client: AuctionityClient, bob: str) -> None:
    with pytest.raises(AuctionNotFound):
        await client.winner(bob, UNKNOWN)


# -- faults -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 503])
async def test_a_failing_get_is_retried_then_raises_upstream_unavailable(
    client: AuctionityClient, auctionity_sandbox: Any, status: int
) -> None:
    auctionity_sandbox.faults.set(status=status)
    with pytest.raises(UpstreamUnavailable) as caught:
        await client.auctions([LIVE])
    assert caught.value.status == status
    assert auctionity_sandbox.data.requests["/auction"] == 3


async def test_a_get_succeeds_when_the_server_recovers_within_the_retries(
    client: AuctionityClient, auctionity_sandbox: Any
) -> None:
    auctionity_sandbox.faults.set(status=503, remaining=2)
    assert [a.id for a in await client.auctions([LIVE])] == [LIVE]
    assert auctionity_sandbox.data.requests["/auction"] == 3


async def test_a_bid_hitting_503_is_sent_exactly_once(
    client: AuctionityClient, alice: str, auctionity_sandbox: Any
) -> None:
    auctionity_sandbox.faults.set(status=503)
    with pytest.raises(UpstreamUnavailable):
        await client.bid(alice, LIVE, 500)
    assert auctionity_sandbox.data.requests["/bid"] == 1


@pytest.mark.parametrize("path", ["/login", "/signup", "/password/reset", "/auction"])
async def test_no_post_is_retried(client: AuctionityClient, bob: str, auctionity_sandbox: Any, path: str) -> None:
    auctionity_sandbox.faults.set(status=500)
    now = auctionity_sandbox.data.now()
    before = auctionity_sandbox.data.requests[path]  # the bob fixture has logged in already
    calls = {
        "/login": lambda: client.login(SANDBOX_ALICE_EMAIL, SANDBOX_ALICE_PASSWORD),
        "/signup": lambda: client.signup("someone@example.org", "long-enough-password"),
        "/password/reset": lambda: client.reset_password(SANDBOX_ALICE_EMAIL),
        "/auction": lambda: client.create_auction(
            bob, name="Lot", base_amount=1, start_at=now, end_at=now + timedelta(hours=1)
        ),
    }
    with pytest.raises(UpstreamUnavailable):
        await calls[path]()
    assert auctionity_sandbox.data.requests[path] == before + 1


async def test_a_slow_server_raises_upstream_unavailable_after_the_client_timeout(
    auctionity_sandbox: Any,
) -> None:
    auctionity_sandbox.faults.set(latency=1.0)
    started = time.monotonic()
    async with AuctionityClient(auctionity_sandbox.url, timeout=0.3, retry_attempts=1) as slow:
        with pytest.raises(UpstreamUnavailable):
            await slow.auctions([LIVE])
    assert time.monotonic() - started < 0.9


async def test_an_unreachable_server_raises_upstream_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with AuctionityClient(f"http://127.0.0.1:{port}", timeout=1, retry_attempts=2) as nowhere:
        with pytest.raises(UpstreamUnavailable):
            await nowhere.auctions([LIVE])


@pytest.mark.parametrize("kind", sorted(MALFORMED_BODIES))
async def test_a_malformed_answer_raises_upstream_malformed(
    client: AuctionityClient, auctionity_sandbox: Any, kind: str
) -> None:
    auctionity_sandbox.faults.set(malformed=kind)
    with pytest.raises(UpstreamMalformed):
        await client.auctions([LIVE])
    with pytest.raises(UpstreamMalformed):
        await client.login(SANDBOX_ALICE_EMAIL, SANDBOX_ALICE_PASSWORD)


# -- control hooks ----------------------------------------------------------------------------------------


async def test_place_bid_as_obeys_the_rules_unless_forced(client: AuctionityClient, auctionity_sandbox: Any) -> None:
    data = auctionity_sandbox.data
    with pytest.raises(ValueError, match="bid too low"):
        data.place_bid_as(SANDBOX_BOB_ID, LIVE, 100)
    forced = data.place_bid_as(SANDBOX_BOB_ID, ENDED, 1, force=True)
    assert forced["user_id"] == SANDBOX_BOB_ID and forced["auction_id"] == ENDED
    placed = data.place_bid_as(SANDBOX_BOB_ID, LIVE, 200)
    (auction,) = await client.auctions([LIVE])
    assert auction.top_bid is not None and auction.top_bid.id == placed["id"]
    assert data.requests["/bid"] == 0  # hooks are not upstream traffic


async def test_end_now_closes_the_auction_to_bids(
    client: AuctionityClient, alice: str, auctionity_sandbox: Any
) -> None:
    auctionity_sandbox.data.end_now(LIVE)
    (auction,) = await client.auctions([LIVE])
    assert auction.has_ended(auctionity_sandbox.data.now())
    with pytest.raises(AuctionClosed):
        await client.bid(alice, LIVE, 1_000)


async def test_moving_the_sandbox_clock_ends_auctions(
    client: AuctionityClient, alice: str, auctionity_sandbox: Any
) -> None:
    auctionity_sandbox.data.advance(timedelta(hours=1))
    with pytest.raises(AuctionClosed):
        await client.bid(alice, UNBID, 50)


async def test_create_auction_hook_and_ensure_user(client: AuctionityClient, auctionity_sandbox: Any) -> None:
    data = auctionity_sandbox.data
    user_id = data.ensure_user("carol@example.org", "carol-password")
    assert data.ensure_user("carol@example.org", "changed-password") == user_id
    now = data.now()
    created = data.create_auction("Hooked lot", 30, now, now + timedelta(minutes=5), creator_id=user_id)
    token = await client.login("carol@example.org", "changed-password")
    page = await client.user_auctions(token.access_token)
    assert [a.id for a in page.auctions] == [created.id]


async def test_bulk_create_makes_ten_thousand_readable_auctions_quickly(
    client: AuctionityClient, auctionity_sandbox: Any
) -> None:
    started = time.perf_counter()
    ids = auctionity_sandbox.data.bulk_create(10_000)
    assert time.perf_counter() - started < 2.0
    assert len(set(ids)) == 10_000
    fetched = await client.auctions(ids[-50:])
    assert [a.id for a in fetched] == ids[-50:]


async def test_reset_restores_the_seed(client: AuctionityClient, alice: str, auctionity_sandbox: Any) -> None:
    await client.bid(alice, LIVE, 300)
    auctionity_sandbox.data.bulk_create(10)
    auctionity_sandbox.data.reset()
    (auction,) = await client.auctions([LIVE])
    assert auction.amount == 120
    assert len(auctionity_sandbox.data.auctions) == len(SEED_IDS)
    assert dict(auctionity_sandbox.data.requests) == {"/auction": 1}


async def test_control_hooks_over_http_work_even_while_faults_are_on(
    client: AuctionityClient, auctionity_sandbox: Any
) -> None:
    auctionity_sandbox.faults.set(status=503)
    now = auctionity_sandbox.data.now()
    async with httpx.AsyncClient(base_url=auctionity_sandbox.url) as raw:
        user = (await raw.post("/_sandbox/users", json={"email": "dave@example.org", "password": "dave-pw-123"})).json()
        created = await raw.post(
            "/_sandbox/auctions",
            json={"name": "Over HTTP", "base_amount": 20, "end_at": (now + timedelta(hours=1)).isoformat()},
        )
        auction_id = created.json()["id"]
        bid = await raw.post("/_sandbox/bid", json={"user_id": user["user_id"], "auction_id": auction_id, "amount": 20})
        too_low = await raw.post("/_sandbox/bid", json={"auction_id": auction_id, "amount": 20})
        ended = await raw.post("/_sandbox/end", json={"auction_id": auction_id})
        bulk = await raw.post("/_sandbox/bulk", json={"n": 3})
        state = await raw.post("/_sandbox/state", json={"advance": 60, "bid_field": "id"})
    assert created.status_code == 200 and bid.json()["user_id"] == user["user_id"]
    assert too_low.status_code == 400 and too_low.json()["message"] == "bid too low"
    assert ended.status_code == 200 and auctionity_sandbox.data.auctions[auction_id].end <= now + timedelta(minutes=1)
    assert len(bulk.json()["ids"]) == 3
    assert state.json()["bid_field"] == "id" and auctionity_sandbox.data.bid_field == "id"
    assert auction_id in auctionity_sandbox.data.auctions
    assert auctionity_sandbox.data.requests["/auction"] == 0


async def test_request_counter_counts_each_upstream_path(
    client: AuctionityClient, alice: str, auctionity_sandbox: Any
) -> None:
    await client.auctions([LIVE])
    await client.bid(alice, LIVE, 400)
    await client.winner(alice, ENDED)
    assert dict(auctionity_sandbox.data.requests) == {
        "/login": 1,
        "/auction": 1,
        "/bid": 1,
        "/auction/winner/info": 1,
    }


# -- the rival --------------------------------------------------------------------------------------------


async def test_rival_outbids_other_users_and_keeps_a_short_auction_running(
    client: AuctionityClient, alice: str, auctionity_sandbox: Any
) -> None:
    data = auctionity_sandbox.data
    await client.bid(alice, LIVE, 150)
    placed = rival_round(data, rng=random.Random(7))
    assert any(p["auction_id"] == LIVE for p in placed)
    (auction,) = await client.auctions([LIVE])
    assert auction.top_bid is not None and auction.top_bid.user_id == SANDBOX_RIVAL_ID
    assert 150 < auction.amount <= 150 + 15
    now = data.now()
    assert any(now <= a.end <= now + timedelta(minutes=10) for a in data.auctions.values())


async def test_rival_does_not_bid_against_itself_or_past_its_budget(auctionity_sandbox: Any) -> None:
    data = auctionity_sandbox.data
    data.place_bid_as(SANDBOX_ALICE_ID, LIVE, 300)  # three times the base amount
    placed = rival_round(data, rng=random.Random(1))
    assert all(p["auction_id"] not in (LIVE, SEED_IDS["live_single_bid"]) for p in placed)


async def test_run_rival_bidders_plays_until_stopped(auctionity_sandbox: Any) -> None:
    data = auctionity_sandbox.data
    data.place_bid_as(SANDBOX_ALICE_ID, LIVE, 150)
    stop = asyncio.Event()
    task = asyncio.create_task(run_rival_bidders(data, interval=0.01, stop=stop, rng=random.Random(3)))
    for _ in range(200):
        if data.auctions[LIVE].bids[-1].user_id == SANDBOX_RIVAL_ID:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 1)
    assert data.auctions[LIVE].bids[-1].user_id == SANDBOX_RIVAL_ID
