"""Verified buyers over time, through the core and the sandbox: the audit log, staff commands, re-checks, support ends.

Platform effects (Telegram groups, Discord roles, the staff log as a chat) are in test_staff_telegram.py and
test_staff_discord.py; here the outbox shows what the core decided.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.access.rechecks import Rechecker
from bot.core.messages import Outcome
from bot.core.payloads import decode
from bot.sandbox.cryptogig import SAMPLE_PURCHASE_CODES
from storage import claims, places, staff_logs
from storage.models import Notification, PurchaseClaim, VerifyAttempt
from tests.conftest import Chat

CODE = SAMPLE_PURCHASE_CODES["regular licence, supported"]  # item 101
OTHER = SAMPLE_PURCHASE_CODES["extended licence, supported"]  # item 103
ADMIN = "1000"  # telegram:1000 is in GAVEL_ADMINS (see conftest)
BUYER = "555"
GROUP = "-100777"


def staff(core) -> Chat:
    return Chat(core, platform="telegram", user_id=ADMIN)


def buyer(core, user_id: str = BUYER) -> Chat:
    return Chat(core, platform="telegram", user_id=user_id)


def outbox(services, kind: str | None = None) -> list[Notification]:
    with services.db.session() as session:
        query = select(Notification).order_by(Notification.id)
        if kind is not None:
            query = query.where(Notification.kind == kind)
        return list(session.exec(query))


def open_group(services, item_id: int = 101, *, expires_with_support: bool = False) -> None:
    with services.db.session() as session:
        places.set_access_grant(
            session, platform="telegram", place_id=GROUP, item_id=item_id, target_id=GROUP, created_by="test",
            now=services.now(), expires_with_support=expires_with_support,
        )  # fmt: skip


def make_staff_log(services, chat_id: str = "-100999") -> None:
    with services.db.session() as session:
        staff_logs.add_staff_log(session, platform="telegram", chat_id=chat_id, created_by="test", now=services.now())


# --- the audit log and the staff log ----------------------------------------------------------------------


async def test_every_attempt_is_audited_with_its_outcome_item_and_masked_code(core, services):
    make_staff_log(services)
    await buyer(core).say(f"/verify {CODE}")
    await buyer(core).say("/verify 00000000-0000-4000-8000-000000000000")
    await buyer(core, "556").say(f"/verify {CODE}")  # someone else tries the same code
    with services.db.session() as session:
        rows = session.exec(select(VerifyAttempt).order_by(VerifyAttempt.id)).all()
    assert [(r.outcome, r.item_id, r.masked_code) for r in rows] == [
        ("verified", 101, "3f6c…9e01"),
        ("invalid", None, "0000…0000"),
        ("claimed", None, "3f6c…9e01"),
    ]
    lines = [decode(n.payload).text for n in outbox(services, "staff_log")]
    assert lines[0].startswith("✅ Verified: someone (telegram:555) — Neon Admin Dashboard (#101), code 3f6c…9e01")
    assert "⛔ Refused" in lines[1] and "not a valid code" in lines[1]
    assert "already linked to another account" in lines[2]
    everything = " ".join(n.payload for n in outbox(services)) + " ".join(str(r) for r in rows)
    assert CODE not in everything, "the full code is never logged"


async def test_staff_log_is_for_the_bots_admins_and_can_be_switched_off(core, services):
    member = Chat(core, platform="telegram", user_id="42", chat_id=GROUP, private=False, place_id=GROUP)
    assert "Only the bot's admins" in (await member.say("/staff_log")).text
    admin = Chat(core, platform="telegram", user_id=ADMIN, chat_id=GROUP, private=False, place_id=GROUP)
    assert (await admin.say("/staff_log")).title == "Staff log on"
    with services.db.session() as session:
        assert staff_logs.staff_logs(session) == [("telegram", GROUP, "en")]
    assert "no longer a staff log" in (await admin.say("/staff_log off")).text
    with services.db.session() as session:
        assert staff_logs.staff_logs(session) == []


# --- staff commands ---------------------------------------------------------------------------------------


async def test_buyer_shows_what_a_user_verified_and_its_state(core):
    await buyer(core).say(f"/verify {CODE}")
    await buyer(core).say(f"/verify {OTHER}")
    reply = await staff(core).say(f"/buyer {BUYER}")
    assert reply.private and reply.title.startswith("Buyer")
    text = reply.plain_text()
    assert "item #101 — 3f6c…9e01" in text and "item #103 — a41d…6b52" in text
    assert "Regular" in text and "support until" in text and "active" in text
    assert CODE not in text
    assert "has verified nothing" in (await staff(core).say("/buyer 999")).text
    assert "Only the bot's admins" in (await buyer(core).say(f"/buyer {BUYER}")).text


async def test_code_says_who_claimed_it_and_only_in_a_private_chat(core):
    await buyer(core).say(f"/verify {CODE}")
    reply = await staff(core).say(f"/code {CODE.upper()}")
    assert reply.title == "Code 3f6c…9e01" and "telegram:555" in reply.plain_text()
    in_group = Chat(core, platform="telegram", user_id=ADMIN, chat_id=GROUP, private=False, place_id=GROUP)
    refused = await in_group.say(f"/code {CODE}")
    assert "only do /code in a private chat" in refused.text and CODE not in refused.text


async def test_revoke_takes_access_away_tells_the_buyer_and_the_claim_stays_revoked(core, services):
    open_group(services)
    make_staff_log(services)
    await buyer(core).say(f"/verify {CODE}")
    reply = await staff(core).say(f"/revoke {BUYER} 101")
    assert reply.outcome is Outcome.SUCCESS and "item #101" in reply.text
    (access,) = outbox(services, "access")
    assert (access.chat_id, asdict(decode(access.payload))) == (
        GROUP, {"place_id": GROUP, "target_id": GROUP, "user_id": BUYER, "grant": False}
    )  # fmt: skip
    (notice,) = outbox(services, "buyer_notice")
    assert notice.chat_id == BUYER and "revoked by the seller's staff" in notice.payload
    assert any("🔒 Revoked" in n.payload and "telegram:1000" in n.payload for n in outbox(services, "staff_log"))
    again = await buyer(core).say(f"/verify {CODE}")
    assert again.outcome is Outcome.ERROR and "The seller revoked this purchase" in again.text
    assert "no active verified purchase" in (await staff(core).say(f"/revoke {BUYER}")).text


async def test_unbind_frees_a_code_for_another_account(core, services):
    open_group(services)
    await buyer(core).say(f"/verify {CODE}")
    assert (await staff(core).say(f"/unbind {CODE}")).title == "Code freed"
    assert len(outbox(services, "access")) == 1  # the old account leaves the group
    assert (await buyer(core, "777").say(f"/verify {CODE}")).outcome is Outcome.SUCCESS
    assert "is not bound to any account" in (await staff(core).say("/unbind 00000000-0000-4000-8000-0000000000aa")).text


async def test_grants_lists_this_places_map(core, services):
    open_group(services, 101, expires_with_support=True)
    admin = Chat(core, platform="telegram", user_id=ADMIN, chat_id=GROUP, private=False, place_id=GROUP)
    reply = await admin.say("/grants")
    assert [(f.name, f.value) for f in reply.fields] == [
        ("Neon Admin Dashboard (#101)", "this group, while support lasts")
    ]


async def test_verify_setup_can_make_access_follow_the_licence(core, services):
    admin = Chat(core, platform="telegram", user_id=ADMIN, chat_id=GROUP, private=False, place_id=GROUP)
    reply = await admin.say("/verify_setup 101 expire=support")
    assert "for as long as their purchase's support lasts" in reply.text
    with services.db.session() as session:
        (grant,) = places.access_grants_for_item(session, item_id=101)
    assert grant.expires_with_support


async def test_verify_without_a_code_re_sends_a_buyers_way_in(core, services):
    open_group(services)
    await buyer(core).say(f"/verify {CODE}")
    again = await buyer(core).say("/verify")
    assert again.title == "Your access" and [g.target_id for g in again.grants] == [GROUP]
    stranger = await buyer(core, "888").say("/verify")
    assert stranger.prompt is not None and stranger.prompt.field_name == "code"


# --- re-checks --------------------------------------------------------------------------------------------


def _due_now(services) -> None:
    with services.db.session() as session:
        for claim in session.exec(select(PurchaseClaim)):
            claim.next_check_at = services.now() - timedelta(seconds=1)


async def test_a_refunded_purchase_loses_its_access_at_the_next_re_check(core, services, cryptogig_sandbox):
    open_group(services)
    make_staff_log(services)
    await buyer(core).say(f"/verify {CODE}")
    await buyer(core, "556").say(f"/verify {OTHER}")
    cryptogig_sandbox.data.refund(CODE)
    _due_now(services)
    stats = await Rechecker(services).run_once()
    assert (stats.checked, stats.revoked, stats.still_valid) == (2, 1, 1)
    with services.db.session() as session:
        (view,) = claims.claims_of(session, platform="telegram", platform_user_id=BUYER)
    assert (view.active, view.revoke_reason) == (False, "refunded")
    assert [decode(n.payload).user_id for n in outbox(services, "access")] == [BUYER]
    assert "refunded or charged back" in outbox(services, "buyer_notice")[0].payload
    assert any("🔒 Revoked" in n.payload and "refunded" in n.payload for n in outbox(services, "staff_log"))
    assert (await Rechecker(services).run_once()).checked == 0, "the other claim's next check is a period away"


@pytest.mark.parametrize("fault", [{"status": 503}, {"status": 500}, {"latency": 3.0}, {"malformed": "html"}])
async def test_upstream_trouble_never_revokes_anything(core, services, cryptogig_sandbox, fault):
    await buyer(core).say(f"/verify {CODE}")
    _due_now(services)
    cryptogig_sandbox.faults.set(**fault)
    stats = await Rechecker(services).run_once()
    assert (stats.revoked, stats.put_off) == (0, 1)
    with services.db.session() as session:
        (claim,) = session.exec(select(PurchaseClaim)).all()
    assert claim.revoked_at is None and claim.next_check_at > services.now(), "tried again later"
    assert outbox(services, "access") == []


async def test_re_checks_are_spread_over_the_period_and_paced(settings_factory, cryptogig_sandbox):
    from bot.core.adapter_port import AdapterPort
    from bot.core.routing import Core
    from bot.wiring.dependencies import open_services

    async with open_services(settings_factory(verify_recheck_per_minute=600)) as services:
        core = AdapterPort(Core(services))
        for n, code in enumerate(SAMPLE_PURCHASE_CODES.values()):
            await buyer(core, f"60{n}").say(f"/verify {code}")
        with services.db.session() as session:
            first = sorted(c.next_check_at - c.verified_at for c in session.exec(select(PurchaseClaim)))
        assert all(timedelta(0) <= delay < timedelta(days=1) for delay in first)
        assert len(set(first)) == len(first), "each claim has its own place in the period"
        _due_now(services)
        before = cryptogig_sandbox.data.requests["/api/purchases/validation"]
        started = datetime.now(UTC)
        assert (await Rechecker(services).run_once()).checked == 5
        took = (datetime.now(UTC) - started).total_seconds()
        assert cryptogig_sandbox.data.requests["/api/purchases/validation"] - before == 5
        assert took >= 0.35, "600 a minute is one every 0.1 s, never a burst"


async def test_access_that_follows_the_licence_ends_with_support_after_a_reminder(core, services):
    open_group(services, 101, expires_with_support=True)
    await buyer(core).say(f"/verify {CODE}")  # supported for another 180 days
    with services.db.session() as session:
        (claim,) = session.exec(select(PurchaseClaim)).all()
        until = claim.supported_until
    assert until is not None
    rechecker = Rechecker(services)
    services.clock = lambda: until - timedelta(days=2)
    assert (await rechecker.run_once()).reminded == 1
    assert (await rechecker.run_once()).reminded == 0, "reminded once"
    services.clock = lambda: until + timedelta(minutes=1)
    stats = await rechecker.run_once()
    assert stats.support_ended == 1
    assert (await rechecker.run_once()).support_ended == 0, "ended once"
    notices = [n.payload for n in outbox(services, "buyer_notice")]
    assert "Support ends soon" in notices[0] and "Support ended" in notices[1]
    assert [decode(n.payload).user_id for n in outbox(services, "access")] == [BUYER]
    with services.db.session() as session:
        left = places.entitled_targets(
            session, platform="telegram", place_id=GROUP, platform_user_id=BUYER, now=services.now()
        )
    assert left == [], "a join request is no longer approved"
