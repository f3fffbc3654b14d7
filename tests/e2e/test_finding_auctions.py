"""Finding auctions and the words around them (issue 22): /auctions with no id lists every auction seen through the
bot, live first, paged, with buttons; fields name a person; reminders only when they can come; auctions named by
name and price; licences and durations alike in every language; a chart's time axis never repeats a label."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.auctions.charts import draw_chart
from bot.core import formatting as fmt
from bot.core import i18n
from bot.core.messages import Outcome
from bot.sandbox.auctionity_data import SANDBOX_ALICE_EMAIL, SANDBOX_ALICE_ID, SANDBOX_ALICE_PASSWORD, SEED_IDS
from bot.sandbox.cryptogig import SAMPLE_PURCHASE_CODES

NOW = datetime.now(UTC)


async def login(chat, email=SANDBOX_ALICE_EMAIL, password=SANDBOX_ALICE_PASSWORD):
    await chat.say("/login")
    await chat.say(email)
    return await chat.say(password)


def buttons(reply) -> list[str]:
    return [b.command for row in reply.buttons for b in row]


async def test_auctions_with_no_id_lists_what_anyone_saw_live_first_with_buttons(make_chat):
    alice, bob = make_chat(user_id="alice"), make_chat(user_id="bob")
    nothing = await bob.say("/auctions")
    assert "I do not know of any auction yet" in nothing.text
    await alice.say(f"/auctions {SEED_IDS['ended']}")  # looked at by one person...
    await alice.say(f"/auctions {SEED_IDS['live_with_bids']} {SEED_IDS['live_no_bids']}")
    await alice.say(f"/auctions {SEED_IDS['upcoming']}")

    listed = await bob.say("/auctions")  # ...listed for another
    assert listed.title == "Auctions (page 1 of 1)"
    names = [line.split(" — ")[0] for line in listed.text.splitlines()]
    order = [SEED_IDS["live_no_bids"], SEED_IDS["live_with_bids"], SEED_IDS["upcoming"], SEED_IDS["ended"]]
    assert buttons(listed) == [f"auctions {auction_id}" for auction_id in order], names
    assert "ends in" in listed.text.splitlines()[0] and "ended" in listed.text.splitlines()[-1]


async def test_the_live_auctions_button_of_start_lists_them_too(chat):
    await chat.say(f"/auctions {SEED_IDS['live_no_bids']}")
    start = await chat.say("/start")
    assert "auctions" in buttons(start)
    assert (await chat.press(start, "Live auctions")).title == "Auctions (page 1 of 1)"


async def test_auctions_created_and_watched_are_listed_a_page_at_a_time(chat, auctionity_sandbox):
    await login(chat)
    for n in range(6):
        created = await chat.say(f'/newauction "Lot {n}" 10 now +{n + 1}h')
        assert created.outcome is Outcome.SUCCESS
    await chat.say(f"/watch {SEED_IDS['live_single_bid']}")
    first = await chat.say("/auctions")
    assert first.title == "Auctions (page 1 of 2)" and first.text.splitlines()[0].startswith("Lot 0 — ")
    second = await chat.press(first, "Next ▶")
    assert second.title == "Auctions (page 2 of 2)" and "Lot 5" in second.text
    assert "auctions_page 1" in buttons(second)


def test_the_demo_banner_puts_each_live_auction_id_on_its_own_line():
    import subprocess
    import sys
    from pathlib import Path

    result = subprocess.run(
        [sys.executable, "-m", "bot.wiring.cli", "demo", "--no-rivals"],
        input="", capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    ids = re.findall(r"^  (0x[0-9a-f]{64})$", result.stdout, flags=re.MULTILINE)
    assert len(ids) >= 2 and SEED_IDS["live_with_bids"] in ids, result.stdout


async def test_the_top_bidder_field_names_a_person(chat):
    shown = await chat.say(f"/auctions {SEED_IDS['live_with_bids']}")
    assert {f.name: f.value for f in shown.fields}["Top bidder"] == "someone else"
    ended = await chat.say(f"/auctions {SEED_IDS['ended']}")
    assert {f.name: f.value for f in ended.fields}["Winner"] == "someone else"


async def test_watching_offers_unwatch_and_counts_in_words(chat):
    await chat.say(f"/watch {SEED_IDS['live_with_bids']}")
    shown = await chat.say(f"/auctions {SEED_IDS['live_with_bids']}")
    assert f"unwatch {SEED_IDS['live_with_bids']}" in buttons(shown)
    assert f"watch {SEED_IDS['live_with_bids']}" not in buttons(shown), "no Watch button when already watching"
    assert (await chat.say("/watches")).title == "You watch 1 auction"


async def test_a_bid_on_a_watched_auction_offers_unwatch(chat):
    await login(chat)
    await chat.say(f"/watch {SEED_IDS['live_with_bids']}")
    placed = await chat.say(f"/bid {SEED_IDS['live_with_bids']} 150")
    assert placed.title == "Bid placed" and f"unwatch {SEED_IDS['live_with_bids']}" in buttons(placed)


async def test_a_reminder_is_promised_only_when_it_can_still_come(chat, auctionity_sandbox):
    now = datetime.now(UTC)
    soon = auctionity_sandbox.data.create_auction("Kettle", 10, now - timedelta(hours=1), now + timedelta(seconds=53))
    watched = await chat.say(f"/watch {soon.id} remind 2m")
    assert "too soon for a reminder" in watched.text and "before the end" not in watched.text


async def test_winner_and_autobid_stop_name_the_auction_and_its_price(chat, auctionity_sandbox):
    await login(chat)
    won = await chat.say(f"/winner {SEED_IDS['ended']}")
    assert re.fullmatch(r"The winner of .+ is rival@sandbox\.test, at [\d,]+ DRT\.", won.text), won.text
    assert "0x" not in won.text
    running = auctionity_sandbox.data.create_auction(
        "Clock", 10, NOW - timedelta(hours=1), NOW + timedelta(hours=1), creator_id=SANDBOX_ALICE_ID
    )
    early = await chat.say(f"/winner {running.id}")
    assert early.text.startswith("Clock is still running, so it has no winner yet: ask again after it ends (in ")

    asked = await chat.say(f"/autobid {SEED_IDS['live_with_bids']} 500")
    await chat.press(asked, "Confirm")
    stopped = await chat.say(f"/autobid_off {SEED_IDS['live_with_bids']}")
    assert re.fullmatch(r"Auto-bid on .+ stopped at a price of [\d,]+ DRT\. Your bids so far stay\.", stopped.text)
    assert "0x" not in stopped.text


@pytest.mark.parametrize(("language", "regular"), [("en", "Regular"), ("es", "Estándar"), ("ru", "Стандартная")])
async def test_licence_kinds_read_as_licences(make_chat, language, regular):
    reply = await make_chat(user_id=f"b-{language}", language=language).say(
        f"/verify {SAMPLE_PURCHASE_CODES['regular licence, supported']}"
    )
    assert reply.outcome is Outcome.SUCCESS
    assert regular in [f.value for f in reply.fields]


def test_durations_round_alike_in_every_language():
    shown = {}
    for language in ("en", "es", "ru"):
        with i18n.speaking(language):
            shown[language] = {fmt.duration(timedelta(days=180, seconds=s)) for s in (-50, -5, 5)}
    assert all(len(values) == 1 for values in shown.values()), shown
    assert shown["en"] == {"180d"} and shown["es"] == {"180d"}


def test_words_fixed_in_the_catalogues():
    with i18n.speaking("es"):
        outbid = i18n._("Someone outbid you on {name}. The price is now {price}, with {left} left.")
        assert outbid.startswith("Alguien superó tu puja")
    with i18n.speaking("ru"):
        assert "команды" not in i18n._("Make this group or channel the staff log (/staff_log off stops it).")


@pytest.mark.parametrize("seconds", [40, 3 * 3600, 2 * 86400, 3 * 86400 + 3600])
def test_the_chart_time_axis_never_repeats_a_label(seconds):
    start = NOW.replace(microsecond=0)
    step = seconds / 6
    points = [(start + timedelta(seconds=step * n), 100 + 10 * n) for n in range(7)]
    figure = draw_chart(points, currency="DRT", title="t", now=start + timedelta(seconds=seconds))
    figure.canvas.draw()
    labels = [tick.get_text() for tick in figure.axes[0].get_xticklabels() if tick.get_text()]
    assert len(labels) >= 2 and len(labels) == len(set(labels)), labels
