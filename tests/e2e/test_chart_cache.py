"""A price chart is drawn once per auction and bid, however often it is shown, and Refresh is limited per user: the
bot's CPU is everyone's. The real core and the Auctionity sandbox over HTTP; the drawing function is counted."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.auctions import charts
from bot.core.messages import Outcome
from bot.sandbox.auctionity_data import SANDBOX_RIVAL_ID, SEED_IDS

LIVE = SEED_IDS["live_with_bids"]  # two bids: a chart is drawn


@pytest.fixture
def draws(monkeypatch):
    """How many times a chart was really drawn."""
    drawn = []
    draw = charts.price_chart

    def counted(*args, **kwargs):
        drawn.append(args)
        return draw(*args, **kwargs)

    monkeypatch.setattr(charts, "price_chart", counted)
    monkeypatch.setattr(charts, "_drawn", charts._Drawn())  # nothing drawn before (the sandbox's bids repeat)
    return drawn


async def test_thirty_refreshes_draw_the_chart_once(make_chat, services, auctionity_sandbox, draws):
    alice, bob = make_chat(user_id="alice"), make_chat(user_id="bob")
    shown = await alice.say(f"/auctions {LIVE}")
    assert shown.image is not None and len(draws) == 1
    pressed = [await alice.press(shown, "Refresh") for _ in range(30)]
    assert pressed[0].image is not None and pressed[0].image.data == shown.image.data
    assert all("just refreshed" in reply.text for reply in pressed[1:]), pressed[1].text
    assert len(draws) == 1, f"{len(draws)} draws for one auction with no new bid"

    assert (await bob.press(shown, "Refresh")).image is not None, "Refresh is limited per user"
    together = await asyncio.gather(*(make_chat(user_id=f"u{n}").say(f"/auctions {LIVE}") for n in range(10)))
    assert all(reply.image is not None for reply in together) and len(draws) == 1

    auctionity_sandbox.data.place_bid_as(SANDBOX_RIVAL_ID, LIVE, 150)  # a new bid: a new picture
    start = services.now()
    services.clock = lambda: start + timedelta(seconds=11)
    refreshed = await alice.press(shown, "Refresh")
    assert refreshed.image is not None and refreshed.image.data != shown.image.data and len(draws) == 2


async def test_just_refreshed_is_said_in_the_readers_language(make_chat, auctionity_sandbox, draws):
    sofia = make_chat(user_id="sofia", language="es")
    shown = await sofia.say(f"/auctions {LIVE}")
    await sofia.press(shown, "Actualizar")
    again = await sofia.press(shown, "Actualizar")
    assert "acabas de actualizar" in again.text.lower()
    assert again.outcome is Outcome.ERROR, "said apart: the card it was pressed under stays as it is"
