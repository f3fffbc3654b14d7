"""Every word in the reader's language: what their app says, what they chose with /language, and alerts in the
recipient's own language, through the real core, the sandbox and the poller."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.alerts.poller import Poller
from bot.core import i18n
from bot.core.payloads import decode
from bot.sandbox.auctionity_data import (
    SANDBOX_ALICE_EMAIL,
    SANDBOX_ALICE_PASSWORD,
    SANDBOX_BOB_EMAIL,
    SANDBOX_BOB_PASSWORD,
    SANDBOX_RIVAL_ID,
    SEED_IDS,
)
from bot.sandbox.cryptogig import SAMPLE_PURCHASE_CODES
from bot.wiring.commands import build_registry
from storage.models import Notification
from tests.hardening import assert_polite

LIVE = SEED_IDS["live_with_bids"]
CODE = SAMPLE_PURCHASE_CODES["regular licence, supported"]


def said(language: str, message: str) -> str:
    with i18n.speaking(language):
        return i18n._(message)


async def login(chat, email=SANDBOX_ALICE_EMAIL, password=SANDBOX_ALICE_PASSWORD):
    await chat.say("/login")
    await chat.say(email)
    return await chat.say(password)


@pytest.mark.parametrize("language", ["es", "ru"])
async def test_help_answers_in_the_language_the_users_app_speaks(make_chat, language):
    reply = await make_chat(user_id="ana", language=language).say("/help")
    text = assert_polite(reply, "/help")
    assert reply.title == said(language, "Commands") != "Commands"
    visible = [c for c in build_registry().visible() if c.scope.value != "admin"]
    for command in visible:
        assert said(language, command.help) in text, f"/{command.name}'s help is not in {language}"
    translated = [c for c in visible if said(language, c.help) != c.help]
    assert len(translated) == len(visible), "every command's help has a translation"


async def test_a_regional_variant_of_a_language_gets_that_language(make_chat):
    reply = await make_chat(user_id="lat", language="es-419").say("/help")
    assert reply.title == said("es", "Commands")


async def test_a_language_gavel_does_not_speak_gets_the_default(make_chat):
    reply = await make_chat(user_id="joao", language="pt-BR").say("/help")
    assert reply.title == "Commands"


async def test_a_verification_is_answered_in_spanish_and_a_refusal_in_russian(make_chat, cryptogig_sandbox):
    verified = await make_chat(user_id="sofia", language="es").say(f"/verify {CODE}")
    assert verified.title == said("es", "Purchase verified") != "Purchase verified"
    assert CODE not in assert_polite(verified, "/verify")

    refused = await make_chat(user_id="ivan", language="ru").say(f"/verify {CODE}")
    claimed = "This purchase code is already linked to another account. If it is yours, contact the seller."
    assert refused.text == said("ru", claimed) != claimed


async def test_the_users_choice_beats_their_apps_language_until_they_go_back_to_auto(make_chat):
    chat = make_chat(user_id="olga", language="ru")
    assert (await chat.say("/help")).title == said("ru", "Commands")

    menu = await chat.say("/language")
    labels = [button.label for row in menu.buttons for button in row]
    assert {"English", "Español", "Русский"} <= set(labels)  # each named in itself, whatever the reader reads
    chosen = await chat.press(menu, "Español")
    assert "español" in chosen.text and chosen.text == said("es", chosen.text)
    assert (await chat.say("/help")).title == said("es", "Commands")

    back = await chat.say("/language auto")
    assert "русский" in back.text
    assert (await chat.say("/help")).title == said("ru", "Commands")


async def test_an_unknown_language_code_is_refused_with_the_choices(make_chat):
    reply = await make_chat(user_id="k", language="es").say("/language klingon")
    text = assert_polite(reply, "/language klingon")
    assert "en, es, ru, auto" in text and reply.outcome.value == "error"


async def test_each_outbid_watcher_is_alerted_in_their_own_language(make_chat, services, auctionity_sandbox):
    ana = make_chat(user_id="ana", language="es-ES")  # Spanish from her app
    boris = make_chat(user_id="boris", language="en")  # English app, but he chose Russian
    await login(ana)
    await login(boris, SANDBOX_BOB_EMAIL, SANDBOX_BOB_PASSWORD)
    await boris.say("/language ru")
    for chat in (ana, boris):
        await chat.say(f"/watch {LIVE}")
    poller = Poller(services)
    await poller.poll_once()  # the first poll only records what is there

    async def next_round():
        start = services.clock()
        services.clock = lambda: start + timedelta(seconds=services.settings.poll_interval_seconds)
        await poller.poll_once()

    await ana.say(f"/bid {LIVE} 130")
    await next_round()
    await boris.say(f"/bid {LIVE} 1400")  # Ana is outbid by Boris
    await next_round()
    auctionity_sandbox.data.place_bid_as(SANDBOX_RIVAL_ID, LIVE, 1500)  # and Boris by a rival
    await next_round()
    with services.db.session() as session:
        query = select(Notification).where(Notification.kind == "outbid").order_by(col(Notification.id))
        rows = list(session.exec(query))
    alerts = {row.chat_id: decode(row.payload) for row in rows}
    assert set(alerts) == {"ana", "boris"}
    assert alerts["ana"].title == said("es", "You were outbid") != "You were outbid"
    assert alerts["boris"].title == said("ru", "You were outbid")
    assert "1.400 DRT" in alerts["ana"].text  # Spanish groups thousands with a dot
    assert "1\xa0500 DRT" in alerts["boris"].text  # Russian with a no-break space
    assert [b.label for b in alerts["ana"].buttons[0]][1:] == [said("es", "Show"), said("es", "Unwatch")]
