"""Upstream words never shown raw (issue 22): each known Auctionity answer, as the sandbox gives it over real HTTP,
reads as our own words with the next step in English, Spanish and Russian; an unknown one reads as a generic
line while its text goes to the log, redacted."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bot.clients.auctionity import AuctionityClient
from bot.core import i18n
from bot.core.errors import BadRequest
from bot.core.wording import user_message
from bot.sandbox.auctionity import SANDBOX_ALICE_EMAIL, SANDBOX_ALICE_ID, SANDBOX_ALICE_PASSWORD

Call = Callable[[AuctionityClient, str, Any], Awaitable[Any]]


async def _running_auction_of_alice(client: AuctionityClient, token: str, sandbox: Any) -> Any:
    now = datetime.now(UTC)
    auction_id = await client.create_auction(
        token, name="Lamp", base_amount=10, start_at=now, end_at=now + timedelta(hours=2)
    )
    return await client.winner(token, auction_id)


async def _ended_unbid_auction_of_alice(client: AuctionityClient, token: str, sandbox: Any) -> Any:
    now = datetime.now(UTC)
    auction = sandbox.data.create_auction(
        "Vase", 10, now - timedelta(days=2), now - timedelta(days=1), creator_id=SANDBOX_ALICE_ID
    )
    return await client.winner(token, auction.id)


def _create(**overrides: timedelta | str | int) -> Call:
    """A create_auction call; times are given as offsets from the moment it runs."""

    async def call(client: AuctionityClient, token: str, sandbox: Any) -> Any:
        now = datetime.now(UTC)
        values: dict[str, Any] = {
            "name": "Lamp",
            "base_amount": 10,
            "start_at": now,
            "end_at": now + timedelta(hours=2),
        }
        for name, value in overrides.items():
            values[name] = now + value if isinstance(value, timedelta) else value
        return await client.create_auction(token, **values)

    return call


# (reason, what Auctionity says, how to make it say it, the next step our words must name)
ANSWERS: list[tuple[str, str, Call, tuple[str, ...]]] = [
    ("email_taken", "email already registered",
     lambda c, t, s: c.signup(SANDBOX_ALICE_EMAIL, "long-enough-pass"), ("/login", "/reset_password")),
    ("weak_password", "password must be at least", lambda c, t, s: c.signup("new@sandbox.test", "short"), ("/signup",)),
    ("bad_email", "invalid email address", lambda c, t, s: c.signup("no-at-sign", "long-enough-pass"), ()),
    ("bad_email", "invalid email address", lambda c, t, s: c.reset_password("no-at-sign"), ()),
    ("still_running", "auction is still running", _running_auction_of_alice, ()),
    ("no_bids", "auction received no bids", _ended_unbid_auction_of_alice, ()),
    ("end_before_start", "end_at must be after start_at", _create(end_at=-timedelta(hours=1)), ()),
    ("end_in_past", "end_at must be in the future",
     _create(start_at=-timedelta(hours=3), end_at=-timedelta(hours=1)), ()),
    ("name_missing", "name is required", _create(name=""), ()),
    ("bad_base_amount", "base_amount must be a positive integer", _create(base_amount=0), ()),
]  # fmt: skip


@pytest.fixture
async def client(auctionity_sandbox: Any) -> AsyncIterator[AuctionityClient]:
    async with AuctionityClient(auctionity_sandbox.url, timeout=5) as c:
        yield c


@pytest.mark.parametrize(("reason", "raw", "call", "steps"), ANSWERS, ids=[f"{a[0]}:{a[1]}" for a in ANSWERS])
async def test_each_known_answer_reads_as_our_words_in_three_languages(
    client: AuctionityClient, auctionity_sandbox: Any, reason: str, raw: str, call: Call, steps: tuple[str, ...]
):
    token = (await client.login(SANDBOX_ALICE_EMAIL, SANDBOX_ALICE_PASSWORD)).access_token
    with pytest.raises(BadRequest) as raised:
        await call(client, token, auctionity_sandbox)
    error = raised.value
    assert raw in error.message and error.reason == reason, "the sandbox said what Auctionity documents"
    said = {}
    for language in ("en", "es", "ru"):
        with i18n.speaking(language):
            said[language] = user_message(error)
    for language, text in said.items():
        assert "Auctionity refused that request" not in text and not text.rstrip(".").endswith(raw), (language, text)
        assert language == "en" or raw not in text, (language, text)
        assert all(step in text for step in steps), (language, text)
    assert len(set(said.values())) == 3, f"each language its own words: {said}"


async def test_a_currency_auctionity_refuses_reads_as_our_currency_rule():
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"message": "currency must be a non-empty string", "status": 400})

    async with AuctionityClient("http://auctionity.test", transport=httpx.MockTransport(refuse)) as client:
        with pytest.raises(BadRequest) as raised:
            now = datetime.now(UTC)
            await client.create_auction("t", name="x", base_amount=1, start_at=now, end_at=now, currency="€")
    with i18n.speaking("ru"):
        assert user_message(raised.value) == i18n._(
            "A currency is three to five capital letters, like DRT, ETH or USDC."
        )


async def test_an_unknown_answer_reads_generically_and_goes_to_the_log_redacted(caplog: Any):
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"message": f"quota exceeded for token {jwt}"})

    caplog.set_level(logging.WARNING)
    async with AuctionityClient("http://auctionity.test", transport=httpx.MockTransport(refuse)) as client:
        with pytest.raises(BadRequest) as raised:
            await client.signup("a@b.cd", "long-enough-pass")
    for language in ("en", "es", "ru"):
        with i18n.speaking(language):
            text = user_message(raised.value)
        assert "quota" not in text and jwt not in text
    assert "Auctionity refused signup (400): quota exceeded for token ***" in caplog.text and jwt not in caplog.text


async def test_signing_up_with_a_taken_email_points_to_login_in_spanish(make_chat):
    chat = make_chat(user_id="ana", language="es")
    await chat.say("/signup")
    await chat.say(SANDBOX_ALICE_EMAIL)
    reply = await chat.say("long-enough-pass")
    assert "/login" in reply.text and "/reset_password" in reply.text and "already registered" not in reply.text
    with i18n.speaking("es"):
        assert reply.text == i18n._(
            "That email already has an Auctionity account. Send /login to log in with it, "
            "or /reset_password if you forgot its password."
        )
