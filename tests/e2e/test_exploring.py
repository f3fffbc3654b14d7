"""Exploring without a lock-out (issue 22): tries left before the pause, a refunded code called refunded without
using up the person's tries, /whoami's GAVEL_ADMINS line, and input errors that say what would work."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from bot.access.rechecks import Rechecker
from bot.core import i18n
from bot.core.messages import Outcome
from bot.sandbox.auctionity_data import SANDBOX_ALICE_EMAIL, SANDBOX_ALICE_PASSWORD, SEED_IDS
from bot.sandbox.cryptogig import SAMPLE_PURCHASE_CODES
from storage import claims
from tests.support.telegram import ALICE, GROUP, say

ROOT = Path(__file__).resolve().parents[2]
GOOD = SAMPLE_PURCHASE_CODES["regular licence, supported"]
REFUNDED = SAMPLE_PURCHASE_CODES["regular licence, already downloaded"]
WRONG = "00000000-0000-4000-8000-0000000000{:02d}"


async def login(chat, email=SANDBOX_ALICE_EMAIL, password=SANDBOX_ALICE_PASSWORD):
    await chat.say("/login")
    await chat.say(email)
    return await chat.say(password)


async def test_a_wrong_code_says_how_many_tries_are_left_before_the_pause(chat):
    first = await chat.say(f"/verify {WRONG.format(1)}")
    assert "not valid" in first.text and "You can try 4 more times; after that I ask you to wait 15m." in first.text
    for n in range(2, 5):
        await chat.say(f"/verify {WRONG.format(n)}")
    fifth = await chat.say(f"/verify {WRONG.format(5)}")
    assert "That was your last try for now: the next one has to wait up to 15m." in fifth.text
    sixth = await chat.say(f"/verify {WRONG.format(6)}")
    assert "Too many failed attempts" in sixth.text


async def test_tries_left_are_said_in_the_readers_language(make_chat):
    reply = await make_chat(user_id="ana", language="es").say(f"/verify {WRONG.format(1)}")
    assert "Puedes intentarlo 4 veces más; después te pediré que esperes 15min." in reply.text


async def test_a_refunded_code_says_refunded_and_spares_the_persons_tries(chat, core, cryptogig_sandbox):
    """The demo's own refunded sample: verified, refunded, re-checked; trying it again is no guess."""
    services = core.services
    cryptogig_sandbox.data.refund_after_first_validation.add(REFUNDED)
    assert (await chat.say(f"/verify {REFUNDED}")).outcome is Outcome.SUCCESS
    code_hash = services.box.keyed_hash(REFUNDED)
    with services.db.session() as session:  # its re-check is due now rather than somewhere in the next day
        (claim,) = claims.claims_of_code(session, code_hash=code_hash)
        claims.schedule_check(session, claim_id=claim.id, at=services.now() - timedelta(seconds=1))
    assert (await Rechecker(services).run_once()).revoked == 1

    for _ in range(3):
        again = await chat.say(f"/verify {REFUNDED}")
        assert "That purchase was refunded" in again.text and "typos" not in again.text
    wrong = await chat.say(f"/verify {WRONG.format(1)}")
    assert "You can try 4 more times" in wrong.text, "the refunded code used up none of the person's tries"
    assert (await chat.say(f"/verify {GOOD}")).outcome is Outcome.SUCCESS


async def test_a_refunded_code_tried_over_and_over_still_stops(chat, core, cryptogig_sandbox):
    services = core.services
    cryptogig_sandbox.data.refund_after_first_validation.add(REFUNDED)
    await chat.say(f"/verify {REFUNDED}")
    with services.db.session() as session:
        (claim,) = claims.claims_of_code(session, code_hash=services.box.keyed_hash(REFUNDED))
        claims.revoke_claim(session, claim_id=claim.id, at=services.now(), reason="refunded")
    for _ in range(5):
        await chat.say(f"/verify {REFUNDED}")
    assert "tried too many times" in (await chat.say(f"/verify {REFUNDED}")).text


async def test_whoami_gives_the_line_to_paste(chat):
    reply = await chat.say("/whoami")
    assert {f.name: f.value for f in reply.fields} == {"Platform": "console", "Your id": "alice"}
    assert "GAVEL_ADMINS=console:alice" in reply.text


async def test_whoami_in_a_telegram_group_answers_privately(adapter, telegram):
    await say(telegram, "/whoami", chat=GROUP)
    private = await telegram.next_sent(ALICE, since=0)
    assert f"GAVEL_ADMINS=telegram:{ALICE}" in private[0].text
    assert "GAVEL_ADMINS" not in " ".join(call.text for call in telegram.sent_to(GROUP))


async def test_a_huge_amount_says_the_range(chat):
    reply = await chat.say(f"/bid {SEED_IDS['live_with_bids']} 99999999999999999999")
    assert reply.text == "<amount> must be between 1 and 1,000,000,000,000."


async def test_an_unquoted_name_gets_a_hint_at_the_quotes(chat, auctionity_sandbox):
    await login(chat)
    reply = await chat.say("/newauction Old lamp 150 now +2h")
    assert "'lamp' is not a whole number: is it part of the name?" in reply.text and '"Old lamp"' in reply.text
    assert auctionity_sandbox.data.requests.get("/auction", 0) == 0


async def test_a_page_past_the_end_says_so(chat):
    reply = await chat.say("/items 3")
    assert reply.title == "Items (page 2 of 2)" and reply.text.startswith(
        "There is no page 3: the catalogue has 2 pages"
    )


async def test_help_of_a_command_lists_the_words_an_argument_takes(chat):
    reply = await chat.say("/help myauctions")
    fields = {f.name: f.value for f in reply.fields}
    assert fields["<field>"] == "sort by: one of created_at, name, start_at, end_at"
    assert fields["<order>"] == "the order: one of desc, asc"


async def test_a_short_signup_password_is_asked_for_again(chat, auctionity_sandbox):
    await chat.say("/signup")
    await chat.say("new.person@sandbox.test")
    short = await chat.say("short")
    assert short.outcome is Outcome.WARNING and "A password needs 8 to 128 characters." in short.text
    assert short.text.endswith("And the password you want (at least 8 characters)?"), "the flow goes on"
    done = await chat.say("a-long-enough-password")
    assert done.title == "Welcome to Auctionity"


async def test_a_currency_must_be_three_to_five_capitals_and_is_upper_cased(chat, auctionity_sandbox):
    await login(chat)
    bad = await chat.say('/newauction "Old lamp" 150 now +2h XY')
    assert bad.text == "A currency is three to five capital letters, like DRT, ETH or USDC."
    good = await chat.say('/newauction "Old lamp" 150 now +2h usdc')
    assert good.outcome is Outcome.SUCCESS and "150 USDC" in good.text


def test_demo_with_a_language_it_does_not_speak_names_the_ones_it_does():
    result = subprocess.run(
        [sys.executable, "-m", "bot.wiring.cli", "demo", "--no-rivals", "--language", "de"],
        input="/help\n", capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0
    assert f"there is no 'de' catalogue; Gavel speaks {', '.join(i18n.LANGUAGES)}" in result.stderr
    assert "Commands" in result.stdout, "carried on in English"
