"""Paid access stays paid, tried as an attacker would, through the real core against the sandboxes.

Platform-specific holes (Telegram groups and join requests, Discord roles) have their own files:
test_telegram_attacks.py and test_discord_attacks.py.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from bot.core.messages import Outcome, Request, RoleChoice
from bot.sandbox.auctionity_data import SANDBOX_ALICE_EMAIL, SANDBOX_ALICE_PASSWORD
from bot.sandbox.cryptogig import SAMPLE_PURCHASE_CODES
from storage import claims, places, users
from storage.models import PurchaseClaim
from tests.conftest import Chat

CODE = SAMPLE_PURCHASE_CODES["regular licence, supported"]
VALIDATION = "/api/purchases/validation"


def validations(cryptogig_sandbox) -> int:
    return cryptogig_sandbox.data.requests[VALIDATION]


@pytest.mark.parametrize(
    "variant",
    [CODE.upper(), f"  {CODE.upper()}  ", CODE.title(), f"`{CODE.swapcase()}`", f'"{CODE}"', f"\t{CODE}\n"],
)
async def test_attacker_cannot_claim_a_taken_code_again_by_changing_its_case_or_spacing(make_chat, services, variant):
    alice, mallory = make_chat(user_id="alice"), make_chat(user_id="mallory")
    assert (await alice.say("/verify", args=(CODE,))).outcome is Outcome.SUCCESS
    reply = await mallory.say("/verify", args=(variant,))
    assert reply.outcome is Outcome.ERROR
    assert "already linked to another account" in reply.text
    with services.db.session() as session:
        claims = session.exec(select(PurchaseClaim)).all()
    assert len(claims) == 1, "one purchase, one claim, whatever the spelling"
    assert services.box.decrypt(claims[0].code_encrypted) == CODE  # stored (and re-checked) in its one spelling


async def test_a_buyer_may_re_verify_their_own_code_typed_in_capitals(chat):
    assert (await chat.say(f"/verify {CODE}")).outcome is Outcome.SUCCESS
    assert (await chat.say(f"/verify {CODE.upper()}")).outcome is Outcome.SUCCESS


async def test_attacker_firing_forty_concurrent_verifications_reaches_cryptogig_five_times(core, cryptogig_sandbox):
    mallory = Chat(core, user_id="mallory")
    before = validations(cryptogig_sandbox)
    codes = [f"00000000-0000-4000-8000-{n:012d}" for n in range(40)]
    replies = await asyncio.gather(*(mallory.say("/verify", args=(code,)) for code in codes))
    assert validations(cryptogig_sandbox) - before == 5, "the limit is reserved before the call, not counted after"
    assert sum("not valid" in reply.text for reply in replies) == 5
    assert sum("Too many failed attempts" in reply.text for reply in replies) == 35


async def test_attacker_with_many_accounts_cannot_keep_trying_one_claimed_code(make_chat, cryptogig_sandbox):
    assert (await make_chat(user_id="alice").say(f"/verify {CODE}")).outcome is Outcome.SUCCESS
    for n in range(5):
        reply = await make_chat(user_id=f"sock-{n}").say(f"/verify {CODE}")
        assert "already linked" in reply.text
    before = validations(cryptogig_sandbox)
    reply = await make_chat(user_id="sock-5").say(f"/verify {CODE}")
    assert "tried too many times" in reply.text
    assert validations(cryptogig_sandbox) == before, "a blocked try never reaches CryptoGig"
    # The buyer who holds the code is not locked out of their own purchase.
    assert (await make_chat(user_id="alice").say(f"/verify {CODE}")).outcome is Outcome.SUCCESS


async def test_an_upstream_outage_does_not_use_up_a_buyers_attempts(chat, cryptogig_sandbox):
    cryptogig_sandbox.faults.set(status=503)
    for _ in range(8):
        assert "not answering" in (await chat.say(f"/verify {CODE}")).text
    cryptogig_sandbox.faults.clear()
    assert (await chat.say(f"/verify {CODE}")).outcome is Outcome.SUCCESS


async def _login(chat: Chat, email: str, password: str):
    await chat.say("/login")
    await chat.say(email)
    return await chat.say(password)


async def test_attacker_guessing_a_password_is_stopped_after_five_tries_without_reaching_auctionity(
    make_chat, auctionity_sandbox
):
    mallory = make_chat(user_id="mallory")
    for n in range(5):
        reply = await _login(mallory, SANDBOX_ALICE_EMAIL, f"guess-number-{n}")
        assert "did not accept" in reply.text
    logins = auctionity_sandbox.data.requests["/login"]
    reply = await _login(mallory, SANDBOX_ALICE_EMAIL, SANDBOX_ALICE_PASSWORD)
    assert "Too many failed logins" in reply.text and "minute" in reply.text
    assert auctionity_sandbox.data.requests["/login"] == logins, "the sixth try never left the bot"
    # Another chat account guessing the same address is stopped too: it is one account being attacked.
    other = await _login(make_chat(user_id="mallory-2"), SANDBOX_ALICE_EMAIL, "guess-again")
    assert "Too many failed logins" in other.text


async def test_a_user_who_types_the_right_password_is_not_held_back_by_earlier_successes(make_chat):
    alice = make_chat(user_id="alice")
    for _ in range(7):
        assert (await _login(alice, SANDBOX_ALICE_EMAIL, SANDBOX_ALICE_PASSWORD)).outcome is Outcome.SUCCESS


async def test_attacker_cannot_flood_an_address_with_reset_emails(make_chat, auctionity_sandbox):
    for n in range(3):
        reply = await make_chat(user_id=f"mallory-{n}").say(f"/reset_password {SANDBOX_ALICE_EMAIL}")
        assert "reset link is on its way" in reply.text
    sent = auctionity_sandbox.data.requests["/password/reset"]
    reply = await make_chat(user_id="mallory-9").say(f"/reset_password {SANDBOX_ALICE_EMAIL}")
    assert "enough reset emails" in reply.text and "minute" in reply.text
    assert auctionity_sandbox.data.requests["/password/reset"] == sent


# --- /verify_setup: what a place admin may map -------------------------------------------------------


def _setup(core, *, role=None, has_roles: bool, place: str = "-100200300") -> Request:
    options = {"item_id": "101", **({"role": role} if role is not None else {})}
    return Request(
        platform="console",
        user_id="moderator",
        chat_id=place,
        command="verify_setup",
        options=options,
        is_private=False,
        place_id=place,
        is_place_admin=True,
        place_has_roles=has_roles,
    )


async def test_group_admin_cannot_point_an_item_at_another_groups_chat(core, services):
    reply = await core.handle(_setup(core, role="-100999888777", has_roles=False))
    assert reply.outcome is Outcome.ERROR
    assert "this group itself" in reply.text
    with services.db.session() as session:
        assert places.access_grants_for_item(session, item_id=101) == []


async def test_group_admin_maps_an_item_to_the_group_they_run_it_in(core, services):
    reply = await core.handle(_setup(core, has_roles=False))
    assert reply.outcome is Outcome.SUCCESS
    with services.db.session() as session:
        (grant,) = places.access_grants_for_item(session, item_id=101)
    assert (grant.place_id, grant.target_id) == ("-100200300", "-100200300")


@pytest.mark.parametrize(
    ("role", "why"),
    [
        (RoleChoice("55", "Admins", resolved=True, privileged=True), "administer or moderate"),
        (RoleChoice("56", "Mods", resolved=True, outranks_invoker=True), "not below your own highest role"),
        (RoleChoice("57", "Bot role", resolved=True, managed=True), "managed by an integration"),
        (RoleChoice("58"), "Pick the role"),  # typed, never looked up
        (RoleChoice("-100200300", "@everyone", resolved=True), "@everyone"),
    ],
)
async def test_moderator_cannot_map_an_item_to_a_role_they_could_not_hand_out(core, services, role, why):
    reply = await core.handle(_setup(core, role=role, has_roles=True))
    assert reply.outcome is Outcome.ERROR
    assert why in reply.text
    with services.db.session() as session:
        assert places.access_grants_for_item(session, item_id=101) == []


async def test_moderator_maps_an_item_to_a_plain_role_below_their_own(core, services):
    role = RoleChoice("59", "Verified buyer", resolved=True)
    reply = await core.handle(_setup(core, role=role, has_roles=True))
    assert reply.outcome is Outcome.SUCCESS
    assert "@Verified buyer" in reply.text


async def test_claims_made_before_normalisation_are_re_keyed_so_another_spelling_cannot_claim_them(make_chat, services):
    from bot.access.upkeep import normalise_stored_codes

    # As the old code stored it: hashed and encrypted exactly as typed, in capitals.
    with services.db.session() as session:
        alice = users.get_or_create_chat_user(
            session, platform="console", platform_user_id="alice", now=datetime.now(UTC)
        )
        bob = users.get_or_create_chat_user(session, platform="console", platform_user_id="bob", now=datetime.now(UTC))
        for user, spelling in ((alice, CODE.upper()), (bob, CODE)):  # bob got in through the case hole
            claims.claim_purchase(
                session, chat_user_id=user.id, code_hash=services.box.keyed_hash(spelling),
                code_encrypted=services.box.encrypt(spelling), item_id=101, license="regular",
                supported_until=None, now=services.now(),
            )  # fmt: skip
    assert await normalise_stored_codes(services) == 2  # alice's re-keyed, bob's revoked
    assert await normalise_stored_codes(services) == 0, "once per database"
    with services.db.session() as session:
        assert claims.holds_claim(session, chat_user_id=alice.id, code_hash=services.box.keyed_hash(CODE))
        assert claims.claims_for_user(session, chat_user_id=bob.id) == [], "the later spelling lost its claim"
    reply = await make_chat(user_id="mallory").say(f"/verify {CODE.upper()}")
    assert "already linked" in reply.text
