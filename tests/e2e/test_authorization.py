"""Who may do what: admin and manager commands refuse everyone else, sessions never cross, a code binds to one user.

Two users interleave every step (and run at the same time through asyncio.gather) and
the Auctionity sandbox, which knows users only by their tokens, shows whose session each
bid and each listing used. Verifications of one purchase code race, as coroutines of one
process and as threads sharing one database: exactly one wins each race.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.core.adapter_port import AdapterPort
from bot.core.messages import Outcome
from bot.core.routing import Core
from bot.sandbox.auctionity_data import (
    SANDBOX_ALICE_EMAIL,
    SANDBOX_ALICE_ID,
    SANDBOX_ALICE_PASSWORD,
    SANDBOX_BOB_EMAIL,
    SANDBOX_BOB_ID,
    SANDBOX_BOB_PASSWORD,
    SEED_IDS,
)
from bot.sandbox.cryptogig import SAMPLE_PURCHASE_CODES
from bot.wiring.dependencies import open_services
from storage.models import AccessGrant, PurchaseClaim
from tests.conftest import Chat
from tests.hardening import assert_polite, backend, login, report

LIVE, NO_BIDS, SINGLE_BID, ENDED = (SEED_IDS[k] for k in ("live_with_bids", "live_no_bids", "live_single_bid", "ended"))
ADMINS = {"telegram": "1000", "discord": "2000", "console": "admin"}  # settings_factory's GAVEL_ADMINS
ACCOUNT_PATH = "/api/account/details"


# -- admin and manager commands -------------------------------------------------------------------------------


@pytest.mark.parametrize("platform", sorted(ADMINS))
async def test_account_refuses_everyone_but_the_bots_admins_on_every_platform(make_chat, cryptogig_sandbox, platform):
    others = {"1001", "admin2", "Admin", " admin", *(i for p, i in ADMINS.items() if p != platform)}
    for user_id in sorted(others):
        for chat in (
            make_chat(platform=platform, user_id=user_id),
            # A group's admin is not the bot's admin.
            make_chat(platform=platform, user_id=user_id, chat_id="-100", private=False, place_id="-100"),
        ):
            reply = await chat.say("/account", is_place_admin=True)
            assert reply.outcome is Outcome.ERROR, (platform, user_id)
            assert "Only the bot's admins" in reply.text
    assert cryptogig_sandbox.data.requests[ACCOUNT_PATH] == 0, "a refused /account must not reach CryptoGig"

    reply = await make_chat(platform=platform, user_id=ADMINS[platform]).say("/account")
    assert reply.outcome is not Outcome.ERROR and reply.title.startswith("Account")
    assert cryptogig_sandbox.data.requests[ACCOUNT_PATH] == 1


async def test_verify_setup_refuses_whoever_does_not_administer_the_group(make_chat, services):
    def group_chat(user_id: str, platform: str = "telegram") -> Chat:
        return make_chat(platform=platform, user_id=user_id, chat_id="-100200", private=False, place_id="-100200")

    for platform in sorted(ADMINS):
        reply = await group_chat("555", platform).say("/verify_setup 101", is_place_admin=False)
        assert "Only an admin of this server or group" in reply.text
        private = await make_chat(platform=platform, user_id="555").say("/verify_setup 101", is_place_admin=True)
        assert "only works inside a server or group" in private.text
    with services.db.session() as session:
        assert session.exec(select(AccessGrant)).all() == [], "a refusal must not set anything up"

    assert (await group_chat("555").say("/verify_setup 101", is_place_admin=True)).outcome is Outcome.SUCCESS
    assert (await group_chat(ADMINS["telegram"]).say("/verify_setup 102")).outcome is Outcome.SUCCESS  # bot admin
    with services.db.session() as session:
        grants = session.exec(select(AccessGrant)).all()
    assert sorted((g.item_id, g.created_by) for g in grants) == [(101, "telegram:555"), (102, "telegram:1000")]


# -- sessions never cross ------------------------------------------------------------------------------------


def _bids_by(data: Any, auction_id: str) -> list[tuple[str, int]]:
    return [(bid.user_id, bid.amount) for bid in data.auctions[auction_id].bids]


async def test_two_users_interleaving_every_step_each_use_only_their_own_session(make_chat, auctionity_sandbox):
    data = auctionity_sandbox.data
    alice, bob = make_chat(platform="telegram", user_id="42"), make_chat(platform="telegram", user_id="43")
    # The login conversations, one message each in turn.
    for alice_says, bob_says in (
        ("/login", "/login"),
        (SANDBOX_ALICE_EMAIL, SANDBOX_BOB_EMAIL),
        (SANDBOX_ALICE_PASSWORD, SANDBOX_BOB_PASSWORD),
    ):
        alice_reply, bob_reply = await alice.say(alice_says), await bob.say(bob_says)
    assert SANDBOX_ALICE_EMAIL in alice_reply.text and SANDBOX_BOB_EMAIL in bob_reply.text

    # The same user id on another platform is somebody else, with no session.
    assert "not logged in" in (await make_chat(platform="discord", user_id="42").say(f"/bid {LIVE} 9000")).text

    before = len(data.auctions[LIVE].bids)
    for amount in (500, 510, 520, 530):
        chat = alice if amount % 20 == 0 else bob
        assert (await chat.say(f"/bid {LIVE} {amount}")).outcome is Outcome.SUCCESS
    assert _bids_by(data, LIVE)[before:] == [
        (SANDBOX_ALICE_ID, 500),
        (SANDBOX_BOB_ID, 510),
        (SANDBOX_ALICE_ID, 520),
        (SANDBOX_BOB_ID, 530),
    ]

    # At the same time, on two auctions: each bid lands under its sender.
    for round_ in range(5):
        alice_bid, bob_bid = await asyncio.gather(
            alice.say(f"/bid {NO_BIDS} {100 + round_}"), bob.say(f"/bid {SINGLE_BID} {300 + round_}")
        )
        assert alice_bid.outcome is Outcome.SUCCESS and bob_bid.outcome is Outcome.SUCCESS
    assert {user for user, _ in _bids_by(data, NO_BIDS)} == {SANDBOX_ALICE_ID}
    assert [user for user, _ in _bids_by(data, SINGLE_BID)][1:] == [SANDBOX_BOB_ID] * 5

    # Listings at the same time: each sees only what they created (alice one auction, bob the four others).
    for _ in range(5):
        mine_alice, mine_bob = await asyncio.gather(alice.say("/myauctions"), bob.say("/myauctions"))
        assert ENDED in mine_alice.text and mine_alice.footer == "1 in all"
        assert ENDED not in mine_bob.text and LIVE in mine_bob.text and mine_bob.footer == "4 in all"


async def test_logins_at_the_same_time_then_commands_at_the_same_time_never_mix(make_chat, auctionity_sandbox):
    data = auctionity_sandbox.data
    users = {f"9{n}": (f"user{n}@sandbox.test", f"password-{n}") for n in range(8)}
    ids = {uid: data.ensure_user(*credentials) for uid, credentials in users.items()}
    chats = {uid: make_chat(platform="discord", user_id=uid) for uid in users}
    replies = await asyncio.gather(*(login(chats[uid], *users[uid]) for uid in users))
    for uid, reply in zip(users, replies, strict=True):
        assert users[uid][0] in reply.text and all(users[o][0] not in reply.text for o in users if o != uid)

    now = data.now()
    auctions = {uid: data.create_auction(f"Lot of {uid}", 10, now, now + timedelta(hours=1)).id for uid in users}
    placed = await asyncio.gather(*(chats[uid].say(f"/bid {auctions[uid]} 11") for uid in users))
    assert all(reply.outcome is Outcome.SUCCESS for reply in placed)
    assert {uid: _bids_by(data, auctions[uid]) for uid in users} == {uid: [(ids[uid], 11)] for uid in users}


async def test_winner_is_only_told_through_the_creators_session(make_chat):
    alice, bob, carol = (make_chat(user_id=name) for name in ("alice", "bob", "carol"))
    await login(alice, SANDBOX_ALICE_EMAIL, SANDBOX_ALICE_PASSWORD)  # alice created the ended auction
    await login(bob, SANDBOX_BOB_EMAIL, SANDBOX_BOB_PASSWORD)
    for _ in range(3):
        mine, not_bobs, nobodys = await asyncio.gather(
            alice.say(f"/winner {ENDED}"), bob.say(f"/winner {ENDED}"), carol.say(f"/winner {ENDED}")
        )
        assert mine.title == "Winner" and "rival@sandbox.test" in mine.text
        assert not_bobs.outcome is Outcome.ERROR and "Only the creator" in not_bobs.text
        assert "not logged in" in nobodys.text
        assert "@" not in not_bobs.text + nobodys.text


# -- one purchase code, one user -----------------------------------------------------------------------------


def _verify_outcome(reply: Any) -> str:
    """What a racer's /verify came to: verified, or one of the two refusals a race may give."""
    assert_polite(reply, "/verify")
    if reply.outcome is Outcome.SUCCESS:
        return "verified"
    if "tried too many times" in reply.text:
        # Past five tries of one code in flight at once, the rest are refused before CryptoGig.
        return "refused: code tried too often"
    assert "already linked to another account" in reply.text, reply.text
    return "refused: already linked"


async def _race(make_chat: Any, code: str, racers: int, tag: str) -> Counter[str]:
    chats = [make_chat(platform="telegram", user_id=f"{tag}{n}") for n in range(racers)]
    replies = await asyncio.gather(*(chat.say(f"/verify {code}") for chat in chats))
    return Counter(_verify_outcome(reply) for reply in replies)


@pytest.mark.parametrize("racers", [2, 10])
async def test_a_purchase_code_binds_to_one_user_when_verifications_race(make_chat, services, racers, capsys):
    outcomes: Counter[str] = Counter()
    for number, code in enumerate(SAMPLE_PURCHASE_CODES.values()):
        outcome = await _race(make_chat, code, racers, tag=f"{racers}r{number}u")
        assert outcome["verified"] == 1, outcome
        outcomes += outcome
    with services.db.session() as session:
        claims = session.exec(select(PurchaseClaim)).all()
    assert len(claims) == len(SAMPLE_PURCHASE_CODES) == len({c.code_hash for c in claims})
    report(
        capsys,
        f"authorization: races of {racers} coroutines per code",
        database=backend(services.settings.database_url),
        races=len(SAMPLE_PURCHASE_CODES),
        **outcomes,
    )


async def test_a_purchase_code_binds_to_one_user_when_threads_race_on_one_database(settings, services, capsys):
    """Ten event loops in ten threads, each with its own clients, one engine: real parallel transactions."""
    racers, codes = 10, list(SAMPLE_PURCHASE_CODES.values())
    start = threading.Barrier(racers)
    replies: list[list[Any]] = [[] for _ in codes]

    async def verify(n: int) -> None:
        async with open_services(settings, engine=services.engine) as own:
            chat = Chat(AdapterPort(Core(own)), platform="discord", user_id=f"thread{n}")
            for code, answers in zip(codes, replies, strict=True):  # one race per code, all threads at once
                start.wait(timeout=10)
                answers.append(await chat.say(f"/verify {code}"))

    threads = [threading.Thread(target=asyncio.run, args=(verify(n),)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    outcomes = [Counter(_verify_outcome(reply) for reply in answers) for answers in replies]
    report(
        capsys,
        f"authorization: races of {racers} threads per code",
        database=backend(settings.database_url),
        races=len(codes),
        **sum(outcomes, Counter()),
    )
    assert [outcome["verified"] for outcome in outcomes] == [1] * len(codes)
    assert [outcome.total() for outcome in outcomes] == [racers] * len(codes)
    with services.db.session() as session:
        claims = session.exec(select(PurchaseClaim)).all()
    assert len(claims) == len(codes) == len({c.code_hash for c in claims})
