"""Auctionity models and error mapping: sloppy upstream JSON is read or refused with our own errors, never more."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.clients.auctionity import (
    Auction,
    AuctionityClient,
    AuctionPage,
    Bid,
    BidReceipt,
    Token,
    parse_auction_page,
    parse_auctions,
    parse_bid_receipt,
    parse_created_auction_id,
    parse_token,
    parse_winner_email,
    user_id_from_token,
)
from bot.core.errors import (
    AuctionClosed,
    AuctionNotFound,
    BadRequest,
    BidTooLow,
    Forbidden,
    GavelError,
    NotCreator,
    SessionExpired,
    UpstreamMalformed,
    UpstreamUnavailable,
    WrongCredentials,
)

AUCTION = {
    "id": "0x01",
    "name": "Lamp",
    "amount": 100,
    "start_date": "2018-01-25T14:00:00.000Z",
    "end_date": "2018-01-26T14:00:00.000Z",
    "history": [
        {"id": "0xb1", "user_id": "u1", "amount": 90, "date": "2018-01-25T15:00:00.000Z"},
        {"id": "0xb2", "user_id": "u2", "amount": 100, "date": "2018-01-25T16:00:00.000Z"},
    ],
}
TOKEN = jwt.encode({"sub": "16fd2706-8baf-433b-82eb-8c7fada847da", "exp": 1_900_000_000}, "k" * 32)


def auction(**changes: Any) -> Auction:
    data = {**AUCTION, **changes}
    return Auction.model_validate({k: v for k, v in data.items() if v is not ...})


# -- tolerance --------------------------------------------------------------------------------------------


def test_an_auction_as_documented_is_read_with_its_history_oldest_first() -> None:
    parsed = auction()
    assert parsed.amount == 100 and parsed.name == "Lamp"
    assert [b.id for b in parsed.history] == ["0xb1", "0xb2"]
    assert parsed.start_date == datetime(2018, 1, 25, 14, tzinfo=UTC)
    assert parsed.currency is None and parsed.base_amount is None


def test_amounts_may_come_as_numeric_strings_or_whole_floats() -> None:
    parsed = auction(amount="100", base_amount=" 80.00 ", history=[{**AUCTION["history"][0], "amount": 90.0}])
    assert (parsed.amount, parsed.base_amount, parsed.history[0].amount) == (100, 80, 90)


@pytest.mark.parametrize("amount", [100.5, "ten", True, None, [100], "nan", float("inf"), "1e400"])
def test_amounts_that_are_not_whole_numbers_are_refused(amount: Any) -> None:
    with pytest.raises(UpstreamMalformed):
        parse_auctions({"auctions": [{**AUCTION, "amount": amount, "history": [], "base_amount": amount}]})


@pytest.mark.parametrize(
    "text",
    ["2018-01-25T14:00:00.000Z", "2018-01-25T14:00:00Z", "2018-01-25T14:00:00", "2018-01-25T15:00:00+01:00",
     "2018-01-25T14:00:00.000000Z", "2018-01-25 14:00:00"],
)  # fmt: skip
def test_dates_with_or_without_fraction_or_zone_are_read_as_utc(text: str) -> None:
    parsed = auction(start_date=text)
    assert parsed.start_date == datetime(2018, 1, 25, 14, tzinfo=UTC)
    assert parsed.start_date.utcoffset() == timedelta(0)


def test_missing_or_null_history_means_no_bids() -> None:
    assert auction(history=...).history == []
    assert auction(history=None).history == []
    assert auction(history=None).top_bid is None


def test_a_missing_amount_is_the_top_bid_else_the_base_amount() -> None:
    assert auction(amount=...).amount == 100
    assert auction(amount=None, history=[], base_amount=70).amount == 70
    with pytest.raises(UpstreamMalformed):
        parse_auctions([{**AUCTION, "amount": None, "history": []}])


def test_auction_id_may_stand_in_for_id_and_extra_keys_are_ignored() -> None:
    parsed = auction(id=..., auction_id="0x02", creator="x", nested={"a": [1]})
    assert parsed.id == "0x02"


def test_history_out_of_order_is_sorted_and_the_top_bid_is_the_highest() -> None:
    parsed = auction(history=list(reversed(AUCTION["history"])))
    assert [b.id for b in parsed.history] == ["0xb1", "0xb2"]
    assert parsed.top_bid is not None and parsed.top_bid.id == "0xb2"


def test_started_and_ended_are_inclusive_of_their_instant() -> None:
    parsed = auction()
    assert not parsed.has_started(parsed.start_date - timedelta(milliseconds=1))
    assert parsed.has_started(parsed.start_date) and not parsed.has_ended(parsed.start_date)
    assert parsed.has_ended(parsed.end_date)
    assert parsed.has_ended(datetime(2018, 1, 26, 14, 0, 1))  # a naive "now" is taken as UTC


def test_parse_auctions_accepts_a_bare_list_and_null() -> None:
    assert [a.id for a in parse_auctions([AUCTION])] == ["0x01"]
    assert parse_auctions({"auctions": None}) == []
    assert parse_auctions({"auctions": [], "total": 0}) == []


def test_parse_auctions_skips_an_unreadable_entry_but_not_a_wholly_unreadable_list() -> None:
    assert [a.id for a in parse_auctions({"auctions": [AUCTION, {"id": "0x9"}, "junk"]})] == ["0x01"]
    with pytest.raises(UpstreamMalformed):
        parse_auctions({"auctions": [{"id": "0x9"}, "junk"]})
    with pytest.raises(UpstreamMalformed):
        parse_auctions({"items": [AUCTION]})
    with pytest.raises(UpstreamMalformed):
        parse_auctions("<html>")


def test_a_page_total_defaults_to_the_number_of_auctions_and_may_be_a_string() -> None:
    assert parse_auction_page({"auctions": [AUCTION]}) == AuctionPage(auctions=[auction()], total=1)
    assert parse_auction_page({"auctions": [AUCTION], "total": "41"}).total == 41
    assert parse_auction_page({"auctions": [AUCTION], "total": "many"}).total == 1


def test_a_token_needs_an_access_token_and_never_shows_it() -> None:
    token = parse_token({"access_token": TOKEN, "expires_in": "3600", "surprise": 1})
    assert (token.expires_in, token.token_type) == (3600, "Bearer")
    assert TOKEN not in repr(token) and TOKEN not in str(token)
    for payload in ({}, {"access_token": ""}, {"access_token": None}, [TOKEN]):
        with pytest.raises(UpstreamMalformed):
            parse_token(payload)


def test_a_malformed_token_answer_does_not_carry_the_token_in_its_error_chain() -> None:
    with pytest.raises(UpstreamMalformed) as caught:
        parse_token({"access_token": TOKEN, "expires_in": "soon"})
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert TOKEN not in str(caught.value)


def test_token_expiry_comes_from_expires_in_else_from_the_jwt() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert Token(access_token=TOKEN, expires_in=60).expires_at(now) == now + timedelta(seconds=60)
    assert Token(access_token=TOKEN).expires_at(now) == datetime.fromtimestamp(1_900_000_000, UTC)
    assert Token(access_token="opaque").expires_at(now) is None


def test_bid_receipts_winner_and_created_ids_are_read_leniently() -> None:
    assert parse_bid_receipt({"bid_id": "0xb", "user_id": "u"}) == BidReceipt(id="0xb", user_id="u")
    assert parse_bid_receipt({"id": "0xb"}).user_id is None
    assert parse_winner_email({"email": "w@example.org"}) == "w@example.org"
    assert parse_winner_email({"winner": {"email": "w@example.org"}}) == "w@example.org"
    assert parse_created_auction_id({"auction_id": "0xa"}) == "0xa"
    for bad in ({}, {"email": ""}, {"email": 5}, None):
        with pytest.raises(UpstreamMalformed):
            parse_winner_email(bad)
    with pytest.raises(UpstreamMalformed):
        parse_created_auction_id({"id": ""})


def test_user_id_is_read_from_an_unverified_jwt_and_garbage_gives_none() -> None:
    assert user_id_from_token(TOKEN) == "16fd2706-8baf-433b-82eb-8c7fada847da"
    expired = jwt.encode({"sub": "u-1", "exp": 1}, "other-key-of-at-least-32-bytes!!")
    assert user_id_from_token(expired) == "u-1"
    for garbage in ("", "abc", "a.b.c", "eyJ.eyJ.x", jwt.encode({"exp": 1}, "k" * 32), None, 42):
        assert user_id_from_token(garbage) is None  # type: ignore[arg-type]


# -- error mapping, through the client's transport seam ---------------------------------------------------


def respond(status: int, body: Any = None, text: str | None = None) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        # json.dumps, unlike httpx's json=, lets NaN and Infinity through, as sloppy servers do.
        content = text if text is not None else json.dumps(body)
        return httpx.Response(status, content=content.encode(), headers={"Content-Type": "application/json"})

    return httpx.MockTransport(handler)


async def call(transport: httpx.MockTransport, operation: str) -> Any:
    async with AuctionityClient("http://auctionity.test", transport=transport, retry_attempts=1) as client:
        if operation == "login":
            return await client.login("a@example.org", "secret-password")
        if operation == "bid":
            return await client.bid(TOKEN, "0x01", 10)
        if operation == "winner":
            return await client.winner(TOKEN, "0x01")
        if operation == "create":
            now = datetime.now(UTC)
            return await client.create_auction(
                TOKEN, name="x", base_amount=1, start_at=now, end_at=now + timedelta(hours=1)
            )
        return await client.user_auctions(TOKEN)


@pytest.mark.parametrize(
    ("operation", "status", "message", "error"),
    [
        ("bid", 400, "Bid must be higher than 120", BidTooLow),
        ("bid", 400, "Auction is closed", AuctionClosed),
        ("bid", 400, "Auction not yet started", AuctionClosed),
        ("bid", 404, "", AuctionNotFound),
        ("bid", 400, "amount must be an integer", BadRequest),
        ("bid", 403, "nope", Forbidden),
        ("bid", 401, "jwt expired", SessionExpired),
        ("bid", 429, "slow down", UpstreamUnavailable),
        ("create", 400, "base_amount must be greater than 0", BadRequest),
        ("winner", 400, "auction has not ended", BadRequest),
        ("winner", 400, "auction not found", AuctionNotFound),
        ("winner", 403, "forbidden", NotCreator),
        ("login", 403, "wrong password secret-password", WrongCredentials),
        ("login", 400, "email is required", BadRequest),
        ("mine", 302, "", UpstreamMalformed),
    ],
)
async def test_statuses_and_messages_map_to_our_errors(
    operation: str, status: int, message: str, error: type[Exception]
) -> None:
    with pytest.raises(error) as caught:
        await call(respond(status, {"message": message}), operation)
    assert type(caught.value) is error
    assert "secret-password" not in str(caught.value)


async def test_the_servers_message_is_kept_short_on_one_line_and_without_tokens() -> None:
    message = f"Bad\r\nthing happened with Bearer {TOKEN} and {TOKEN} " + "x" * 500
    with pytest.raises(BadRequest) as caught:
        await call(respond(400, {"error": {"message": message}}), "create")
    text = str(caught.value)
    assert TOKEN not in text and "\n" not in text and len(text) <= 160
    assert text.startswith("Bad thing happened")


async def test_an_html_error_page_gives_a_plain_message() -> None:
    with pytest.raises(BadRequest) as caught:
        await call(respond(400, text="<html><body>Bad Request</body></html>"), "create")
    assert "<" not in str(caught.value)


# -- fuzzing: only our models or our typed errors come out ------------------------------------------------

KEYS = ["id", "auction_id", "bid_id", "name", "amount", "base_amount", "currency", "start_date", "end_date",
        "history", "user_id", "date", "auctions", "total", "access_token", "expires_in", "token_type", "email",
        "winner", "message", "error"]  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["2018-01-25T14:00:00.000Z", "2018-01-25", "99999-01-01", "1e3", " 7 ", "-0", "u@x.io", TOKEN])
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=8,
)
# Shapes close to the real ones reach the deeper validators; their values are still arbitrary.
BID = st.fixed_dictionaries({}, optional={k: SCALARS for k in ("id", "bid_id", "user_id", "amount", "date")})
SHAPED = st.fixed_dictionaries(
    {"id": SCALARS, "amount": SCALARS, "start_date": SCALARS, "end_date": SCALARS},
    optional={
        "history": st.lists(BID, max_size=3) | JSON,
        **{k: SCALARS for k in ("name", "base_amount", "auction_id", "user_id", "access_token", "email")},
    },
)
PAYLOADS = (
    JSON
    | SHAPED
    | st.lists(SHAPED, max_size=3)
    | st.fixed_dictionaries({"auctions": st.lists(SHAPED, max_size=3) | JSON}, optional={"total": SCALARS})
)
PARSERS = [parse_auctions, parse_auction_page, parse_token, parse_bid_receipt, parse_winner_email,
           parse_created_auction_id, user_id_from_token]  # fmt: skip


@given(payload=PAYLOADS)  # examples: the profile's (2,000 in the thorough one)
def test_any_json_shape_gives_a_model_or_upstream_malformed(payload: Any) -> None:
    now = datetime(2020, 1, 1, tzinfo=UTC)
    for parse in PARSERS:
        try:
            result = parse(payload)
        except UpstreamMalformed:
            continue
        for item in result if isinstance(result, list) else [result]:
            assert isinstance(item, Auction | AuctionPage | Token | BidReceipt | Bid | str | None)
            if isinstance(item, Auction):
                assert item.top_bid is None or item.top_bid.amount == max(b.amount for b in item.history)
                item.has_ended(now)
            if isinstance(item, Token):
                item.expires_at(now)


# Each example makes four client calls: 15 % of the profile's examples (300 in the thorough one).
@settings(max_examples=max(settings.default.max_examples * 3 // 20, 1))
@given(status=st.sampled_from([200, 201, 400, 401, 403, 404, 409, 422, 429, 500, 503]), payload=PAYLOADS)
def test_any_answer_through_the_client_gives_a_result_or_a_gavel_error(status: int, payload: Any) -> None:
    # What each operation promises when it does not raise one of ours: its typed model, never raw JSON.
    promised = {"login": Token, "bid": BidReceipt, "winner": str, "mine": AuctionPage}
    for operation, kind in promised.items():
        try:
            result = asyncio.run(call(respond(status, payload), operation))
        except GavelError:
            continue
        assert isinstance(result, kind), f"{operation} gave {type(result).__name__} for {status} {payload!r:.80}"
        assert status < 400, f"{operation} accepted an error status {status}"


async def test_a_bid_receipt_that_names_no_bidder_is_credited_to_the_tokens_user() -> None:
    receipt = await call(respond(200, {"id": "0xb3", "amount": 10}), "bid")
    assert receipt.user_id == "16fd2706-8baf-433b-82eb-8c7fada847da"  # the token's sub
