"""Under random upstream faults (500/503, timeouts, malformed bodies) every command still answers, and alerts are kept.

Both sandboxes fail a seeded share of their requests: 30 % with 500 or 503, 10 % by
answering later than the client waits, 5 % with a body that is not what the endpoint sends.
Every command answers within 10 s with either its normal reply or a short message saying
what went wrong; the poller backs off and, once the faults stop, catches up without losing
or repeating an alert.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot.alerts.poller import Poller
from bot.core.adapter_port import AdapterPort
from bot.core.messages import Outcome
from bot.core.routing import Core
from bot.core.services import Services
from bot.sandbox.auctionity_data import (
    SANDBOX_ALICE_EMAIL,
    SANDBOX_ALICE_ID,
    SANDBOX_ALICE_PASSWORD,
    SANDBOX_BOB_EMAIL,
    SANDBOX_BOB_ID,
    SANDBOX_BOB_PASSWORD,
    SANDBOX_RIVAL_ID,
    SEED_IDS,
)
from bot.wiring.dependencies import open_services
from storage.models import AuctionState, Notification
from tests.conftest import Chat
from tests.hardening import assert_polite, backend, login, report

CLIENT_TIMEOUT = 0.5  # seconds the clients wait for an answer
FAULTS = {
    "error_rate": 0.30,
    "error_statuses": (500, 503),
    "timeout_rate": 0.10,
    "timeout_seconds": CLIENT_TIMEOUT + 0.3,  # the sandbox answers, but only after the client gave up
    "malformed_rate": 0.05,
}
ANSWER_WITHIN = 10.0
LIVE_AUCTIONS = [SEED_IDS["live_with_bids"], SEED_IDS["live_single_bid"], SEED_IDS["live_no_bids"]]
ITEM_IDS = [101, 102, 103, 104, 105, 106, 107]

# What a user may read when an upstream failed: user_message's words for UpstreamUnavailable / Malformed / Error.
UPSTREAM_TROUBLE = ("is not answering right now", "sent an answer I could not read", "could not do that right now")
# Refusals that have nothing to do with the faults but may come up in the mix (a rival bid first, and so on).
ORDINARY_REFUSALS = (
    "Someone bid higher a moment ago",
    "Your bid must be at least",
    "Your bid is too low",
    "That purchase code is not valid",
    "Too many failed attempts",
    "There is no item with that id",
)


def _add_purchase(cryptogig: Any, item_id: int) -> str:
    """A purchase code of the CryptoGig sandbox of one's own, so users' verifications do not collide."""
    code = str(uuid.uuid4())
    cryptogig.data.purchases[code] = {
        "item_id": item_id,
        "license_type": "Regular",
        "downloaded": False,
        "date": "2024-06-01T10:00:00Z",
        "supported_until": "2099-01-01T00:00:00Z",
    }
    return code


class Tally:
    """Every answer of the fault run: how long it took and what kind it was."""

    def __init__(self) -> None:
        self.kinds: Counter[str] = Counter()
        self.slowest = 0.0

    @property
    def answered(self) -> int:
        return sum(self.kinds.values())

    async def say(self, chat: Chat, text: str) -> Any:
        started = time.perf_counter()
        reply = await asyncio.wait_for(chat.say(text), timeout=ANSWER_WITHIN)  # TimeoutError fails the test
        self.slowest = max(self.slowest, time.perf_counter() - started)
        shown = assert_polite(reply, text)
        if reply.outcome is not Outcome.ERROR:
            self.kinds["normal"] += 1
        elif any(words in shown for words in UPSTREAM_TROUBLE):
            self.kinds["upstream trouble"] += 1
        elif any(words in shown for words in ORDINARY_REFUSALS):
            self.kinds["ordinary refusal"] += 1
        else:
            raise AssertionError(f"{text!r} got an unexpected error: {shown!r}")
        return reply


async def _user_session(
    tally: Tally, chat: Chat, email: str, password: str, code: str, rng: random.Random, amounts: Any, rounds: int
) -> None:
    """One user's mixed commands, in the order a seeded dice picks them."""
    commands: list[Callable[[], str | list[str]]] = [
        lambda: f"/verify {code}",
        lambda: f"/verify {uuid.UUID(int=rng.getrandbits(128))}" if rng.random() < 0.2 else f"/verify {code}",
        lambda: "/items",
        lambda: f"/items {rng.randint(1, 3)}",
        lambda: f"/item {rng.choice([*ITEM_IDS, 999])}",
        lambda: f"/auctions {rng.choice(LIVE_AUCTIONS)}",
        lambda: "/auctions",
        lambda: f"/bid {rng.choice(LIVE_AUCTIONS)} {next(amounts)}",
        lambda: f"/watch {rng.choice(LIVE_AUCTIONS)}",
        lambda: "/watches",
        lambda: "/myauctions",
        lambda: ["/login", email, password],
    ]
    for _ in range(rounds):
        chosen = rng.choice(commands)()
        for text in [chosen] if isinstance(chosen, str) else chosen:
            await tally.say(chat, text)


@pytest.mark.slow
async def test_every_command_answers_in_time_with_its_reply_or_a_polite_error_under_faults(
    settings_factory, cryptogig_sandbox, auctionity_sandbox, capsys
):
    settings = settings_factory(http_timeout_seconds=CLIENT_TIMEOUT)
    data = auctionity_sandbox.data
    users = [(SANDBOX_ALICE_EMAIL, SANDBOX_ALICE_PASSWORD), (SANDBOX_BOB_EMAIL, SANDBOX_BOB_PASSWORD)]
    for n in range(6):
        email, password = f"fault-user-{n}@sandbox.test", f"fault-password-{n}"
        data.ensure_user(email, password)
        users.append((email, password))
    amounts = itertools.count(1000, 7)  # every bid above the last, whoever sends it
    tally = Tally()
    async with open_services(settings) as services:
        core = AdapterPort(Core(services))
        chats = [Chat(core, platform="telegram", user_id=str(5000 + n)) for n in range(len(users))]
        for chat, (email, password) in zip(chats, users, strict=True):
            assert (await login(chat, email, password)).outcome is Outcome.SUCCESS  # healthy, to start with
        codes = [_add_purchase(cryptogig_sandbox, ITEM_IDS[n % len(ITEM_IDS)]) for n in range(len(users))]

        before = Counter(cryptogig_sandbox.faults.injected) + Counter(auctionity_sandbox.faults.injected)
        for sandbox, seed in ((cryptogig_sandbox, 8), (auctionity_sandbox, 88)):
            sandbox.faults.set(**FAULTS, seed=seed)
        started = time.perf_counter()
        await asyncio.gather(
            *(
                _user_session(tally, chat, email, password, code, random.Random(n), amounts, rounds=50)
                for n, (chat, (email, password), code) in enumerate(zip(chats, users, codes, strict=True))
            )
        )
        elapsed = time.perf_counter() - started
    injected = Counter(cryptogig_sandbox.faults.injected) + Counter(auctionity_sandbox.faults.injected) - before

    report(
        capsys,
        "faults: commands under 30% 5xx, 10% timeouts, 5% malformed",
        database=backend(settings.database_url),
        commands_answered=tally.answered,
        answers=dict(tally.kinds),
        faults_injected=dict(injected),
        faults_injected_total=sum(injected.values()),
        slowest_answer_s=round(tally.slowest, 2),
        run_s=round(elapsed, 1),
    )
    assert tally.slowest < ANSWER_WITHIN
    assert tally.kinds["normal"] > 0 and tally.kinds["upstream trouble"] > 0
    assert all(injected[kind] > 0 for kind in ("status", "timeout", "malformed")), injected


# -- the poller -----------------------------------------------------------------------------------------------

CAROL_EMAIL, CAROL_PASSWORD = "carol@sandbox.test", "carol-password"
AUCTIONS = 8
# Who bids in turn on every auction. Each watcher loses the top spot exactly once per auction, so the alerts
# they are owed do not depend on which polls the faults spoil: alice (by the rival), bob (by carol), carol
# (by the rival, during a full outage, so only the catch-up can find it).
BIDS = [("alice", 10), ("rival", 20), ("bob", 30), ("carol", 40), ("rival", 50)]
POLLS_PER_BID = 3


def _states(services: Services) -> dict[str, AuctionState]:
    with services.db.session() as session:
        return {s.auction_id: s for s in session.exec(select(AuctionState))}


def _outbid_alerts(services: Services, chat_id: str) -> int:
    with services.db.session() as session:
        query = select(Notification).where(Notification.chat_id == chat_id, Notification.kind == "outbid")
        return len(session.exec(query).all())


def _caught_up(services: Services, data: Any, ids: list[str]) -> bool:
    states = _states(services)
    return all(
        i in states and states[i].failures == 0 and states[i].last_bid_id == (data.auctions[i].bids or [None])[-1].id
        for i in ids
    )


async def test_poller_backs_off_under_faults_and_catches_up_with_no_alert_lost_or_repeated(
    settings_factory, auctionity_sandbox, capsys
):
    settings = settings_factory(http_timeout_seconds=CLIENT_TIMEOUT)
    data, faults = auctionity_sandbox.data, auctionity_sandbox.faults
    bidder_ids = {
        "alice": SANDBOX_ALICE_ID,
        "bob": SANDBOX_BOB_ID,
        "carol": data.ensure_user(CAROL_EMAIL, CAROL_PASSWORD),
        "rival": SANDBOX_RIVAL_ID,
    }
    ids = data.bulk_create(AUCTIONS)
    for auction_id in ids:
        data.auctions[auction_id].end += timedelta(days=30)  # far from its end however far the poller's clock moves

    async with open_services(settings) as services:
        start = services.now()
        ticks = itertools.count(1)
        # Each poll happens 16 minutes after the last: past the longest backoff (15 min), so failed batches are due.
        services.clock = lambda: start
        core = AdapterPort(Core(services))
        credentials = {
            "alice": (SANDBOX_ALICE_EMAIL, SANDBOX_ALICE_PASSWORD),
            "bob": (SANDBOX_BOB_EMAIL, SANDBOX_BOB_PASSWORD),
            "carol": (CAROL_EMAIL, CAROL_PASSWORD),
        }
        for name, (email, password) in credentials.items():
            chat = Chat(core, user_id=name)
            assert (await login(chat, email, password)).outcome is Outcome.SUCCESS
            for auction_id in ids:
                assert (await chat.say(f"/watch {auction_id}")).outcome is Outcome.SUCCESS

        poller = Poller(services, batch_size=2, rng=random.Random(1))
        assert (await poller.poll_once()).auctions == AUCTIONS  # the first sight of each: recorded, no alerts

        before = Counter(faults.injected)
        faults.set(**FAULTS, seed=7)
        polls = failed_batches = 0
        for step, (bidder, amount) in enumerate(BIDS):
            for auction_id in ids:
                data.place_bid_as(bidder_ids[bidder], auction_id, amount)
            if step == len(BIDS) - 1:
                faults.set(status=503)  # then a full outage: the last bids are only seen once it is over
            for _ in range(POLLS_PER_BID):
                moment = start + timedelta(minutes=16 * next(ticks))
                services.clock = lambda moment=moment: moment
                stats = await poller.poll_once()
                polls += 1
                failed_batches += stats.failures
                backed_off = {i for i, s in _states(services).items() if s.failures}
                # a failed auction waits out its backoff: it is not due until then
                assert all(_states(services)[i].next_poll_at > services.now() for i in backed_off)
        injected = Counter(faults.injected) - before
        assert _outbid_alerts(services, "carol") == 0, "carol was outbid during the outage: nobody could see it yet"
        faults.clear()

        catch_up = 0
        while not _caught_up(services, data, ids):
            catch_up += 1
            assert catch_up <= 5, "the poller did not catch up once the faults stopped"
            moment = start + timedelta(minutes=16 * next(ticks))
            services.clock = lambda moment=moment: moment
            await poller.poll_once()

        with services.db.session() as session:
            rows = list(session.exec(select(Notification).order_by(col(Notification.id))))

    per_pair = Counter((row.dedupe_key.split(":")[1], row.chat_id) for row in rows if row.kind == "outbid")
    expected = {(auction_id, name): 1 for auction_id in ids for name in ("alice", "bob", "carol")}
    report(
        capsys,
        "faults: poller under 30% 5xx, 10% timeouts, 5% malformed",
        database=backend(settings.database_url),
        polls_under_faults=polls,
        failed_batches=failed_batches,
        faults_injected=dict(injected),
        catch_up_polls=catch_up,
        alerts_expected=len(expected),
        alerts_queued=len(rows),
    )
    assert failed_batches > 0 and sum(injected.values()) > 0, "the faults never hit the poller"
    assert catch_up > 0
    assert {row.kind for row in rows} == {"outbid"}
    assert len({row.dedupe_key for row in rows}) == len(rows)
    assert dict(per_pair) == expected, "an outbid alert was lost or repeated"
