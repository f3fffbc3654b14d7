"""/verify end to end: the real core, the CryptoGig sandbox over HTTP, and a migrated database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from bot.core.messages import Outcome
from bot.sandbox.cryptogig import SAMPLE_PURCHASE_CODES
from storage import places
from storage.models import PurchaseClaim, VerifyAttempt

REGULAR = SAMPLE_PURCHASE_CODES["regular licence, supported"]
EXTENDED = SAMPLE_PURCHASE_CODES["extended licence, supported"]
EXPIRED = SAMPLE_PURCHASE_CODES["regular licence, support expired"]
NO_SUPPORT = SAMPLE_PURCHASE_CODES["regular licence, no support"]
DOWNLOADED = SAMPLE_PURCHASE_CODES["regular licence, already downloaded"]


def field(reply, name: str) -> str:
    return next(f.value for f in reply.fields if f.name == name)


async def test_verify_valid_code_shows_licence_item_and_support(chat):
    reply = await chat.say(f"/verify {REGULAR}")
    assert reply.outcome is Outcome.SUCCESS
    assert reply.title == "Purchase verified"
    assert field(reply, "Licence") == "Regular"
    assert field(reply, "Support").startswith("Supported until")
    assert "#" in field(reply, "Item")
    assert REGULAR not in reply.plain_text(), "the full code must never be echoed"
    assert reply.ephemeral


@pytest.mark.parametrize(
    ("code", "licence", "support"),
    [
        (EXTENDED, "Extended", "Supported until"),
        (EXPIRED, "Regular", "Support expired on"),
        (NO_SUPPORT, "Regular", "No support included"),
    ],
)
async def test_verify_reports_each_licence_and_support_status(chat, code, licence, support):
    reply = await chat.say(f"/verify {code}")
    assert field(reply, "Licence") == licence
    assert field(reply, "Support").startswith(support)


async def test_verify_marks_already_downloaded_purchase(chat):
    reply = await chat.say(f"/verify {DOWNLOADED}")
    assert field(reply, "Downloaded") == "yes"


async def test_verify_alias_validate_works(chat):
    reply = await chat.say(f"/validate {REGULAR}")
    assert reply.outcome is Outcome.SUCCESS


async def test_verify_without_code_asks_for_it_then_verifies(chat):
    prompt = await chat.say("/verify")
    assert "purchase code" in prompt.text
    reply = await chat.say(f"  {REGULAR}  ")
    assert reply.outcome is Outcome.SUCCESS


async def test_verify_invalid_code_is_refused_and_counted(chat, services):
    reply = await chat.say("/verify 00000000-0000-0000-0000-000000000000")
    assert reply.outcome is Outcome.ERROR
    assert "not valid" in reply.text
    with services.db.session() as session:
        assert len(session.exec(select(VerifyAttempt).where(VerifyAttempt.ok == False)).all()) == 1  # noqa: E712


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", "Please send the purchase code"),
        ("x" * 10_000, "too long"),
        ("🎉🎉🎉", "letters, digits and dashes"),
        ("abc' OR 1=1; --", "letters, digits and dashes"),
        ("$(rm -rf /)", "letters, digits and dashes"),
        ("код-покупки", "letters, digits and dashes"),
    ],
)
async def test_verify_rejects_impossible_codes_before_any_upstream_call(
    chat, services, cryptogig_sandbox, raw, expected
):
    before = cryptogig_sandbox.data.requests.total() if hasattr(cryptogig_sandbox.data, "requests") else None
    reply = await chat.say("/verify", args=(raw,) if raw else ())
    if raw == "":
        assert "purchase code" in reply.text  # no code: the bot asks for it
    else:
        assert reply.outcome is Outcome.ERROR
        assert expected in reply.text
    with services.db.session() as session:
        assert session.exec(select(VerifyAttempt)).all() == [], "a shape error must not use up an attempt"
    if before is not None:
        assert cryptogig_sandbox.data.requests.total() == before


async def test_verify_trims_surrounding_whitespace(chat):
    reply = await chat.say("/verify", args=(f"\t {REGULAR} \n",))
    assert reply.outcome is Outcome.SUCCESS


async def test_verify_rejects_code_claimed_by_another_user(make_chat):
    alice, bob = make_chat(user_id="alice"), make_chat(user_id="bob")
    assert (await alice.say(f"/verify {REGULAR}")).outcome is Outcome.SUCCESS
    reply = await bob.say(f"/verify {REGULAR}")
    assert reply.outcome is Outcome.ERROR
    assert "already linked to another account" in reply.text


async def test_verify_same_user_can_verify_again(chat):
    assert (await chat.say(f"/verify {REGULAR}")).outcome is Outcome.SUCCESS
    assert (await chat.say(f"/verify {REGULAR}")).outcome is Outcome.SUCCESS


async def test_verify_allows_more_claims_when_configured(settings_factory, make_chat):
    from bot.core.adapter_port import AdapterPort
    from bot.core.routing import Core
    from bot.wiring.dependencies import open_services
    from tests.conftest import Chat

    async with open_services(settings_factory(max_claims_per_code=2)) as services:
        core = AdapterPort(Core(services))
        for user in ("alice", "bob"):
            assert (await Chat(core, user_id=user).say(f"/verify {REGULAR}")).outcome is Outcome.SUCCESS
        assert (await Chat(core, user_id="carol").say(f"/verify {REGULAR}")).outcome is Outcome.ERROR


async def test_verify_brute_force_limit_blocks_after_five_failures(chat):
    for n in range(5):
        reply = await chat.say(f"/verify 00000000-0000-0000-0000-00000000000{n}")
        assert "not valid" in reply.text
    reply = await chat.say(f"/verify {REGULAR}")
    assert "Too many failed attempts" in reply.text
    assert "minute" in reply.text


async def test_verify_stores_code_only_hashed_and_encrypted(chat, services, settings):
    await chat.say(f"/verify {REGULAR}")
    with services.db.session() as session:
        claim = session.exec(select(PurchaseClaim)).one()
        assert claim.code_hash != REGULAR and REGULAR not in claim.code_encrypted
        assert services.box.decrypt(claim.code_encrypted) == REGULAR
    if settings.database_url.startswith("sqlite"):
        path = Path(settings.database_url.removeprefix("sqlite:///"))
        blob = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert REGULAR.encode() not in blob


@pytest.mark.parametrize(("status", "expected"), [(500, "not answering"), (503, "not answering")])
async def test_verify_upstream_errors_get_a_polite_reply_and_no_attempt(
    chat, services, cryptogig_sandbox, status, expected
):
    cryptogig_sandbox.faults.set(status=status)
    reply = await chat.say(f"/verify {REGULAR}")
    assert reply.outcome is Outcome.ERROR
    assert expected in reply.text
    with services.db.session() as session:
        assert session.exec(select(VerifyAttempt)).all() == []
        assert session.exec(select(PurchaseClaim)).all() == [], "nothing written half-way"


@pytest.mark.parametrize("body", ["html", "empty", "truncated", "not-json", "wrong-shape"])
async def test_verify_malformed_upstream_answers_get_a_polite_reply(chat, cryptogig_sandbox, body):
    cryptogig_sandbox.faults.set(malformed=body)
    reply = await chat.say(f"/verify {REGULAR}")
    assert reply.outcome is Outcome.ERROR
    assert "could not read" in reply.text


async def test_verify_upstream_timeout_gets_a_polite_reply(chat, cryptogig_sandbox):
    cryptogig_sandbox.faults.set(latency=3.0)
    reply = await chat.say(f"/verify {REGULAR}")
    assert "not answering" in reply.text


async def test_verify_returns_grants_for_the_item_on_the_same_platform(make_chat, services):
    from bot.sandbox.cryptogig import SAMPLE_PURCHASE_CODES  # noqa: F401 - the item comes from the code

    first = await make_chat(user_id="probe").say(f"/verify {EXTENDED}")
    item_id = int(field(first, "Item").rsplit("#", 1)[1].rstrip(")"))
    with services.db.session() as session:
        places.set_access_grant(
            session,
            platform="console",
            place_id="room",
            item_id=item_id,
            target_id="room",
            created_by="test",
            now=datetime.now(UTC),
        )
        places.set_access_grant(  # a role in another place: only a /verify run there hands it out
            session,
            platform="console",
            place_id="club",
            item_id=item_id,
            target_id="vip",
            created_by="test",
            now=datetime.now(UTC),
        )
        places.set_access_grant(
            session,
            platform="discord",
            place_id="guild",
            item_id=item_id,
            target_id="role",
            created_by="test",
            now=datetime.now(UTC),
        )
    reply = await make_chat(user_id="probe").say(f"/verify {EXTENDED}")
    assert [(g.platform, g.target_id) for g in reply.grants] == [("console", "room")]
