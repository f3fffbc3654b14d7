"""Two hundred users at once through one core: every one answered, nobody sees anybody else's answer.

Each simulated user (Telegram, Discord and console ids mixed) logs in with an Auctionity
account of their own, verifies a purchase code of their own, creates an auction, bids on
it, watches it and lists what they watch and what they created, all at the same time as
the 199 others. Every answer must be a normal one (no error of any kind) and must name
that user's own email, item and auction, never another's.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from bot.core.adapter_port import AdapterPort
from bot.core.messages import Outcome, Reply
from bot.core.routing import Core
from bot.wiring.dependencies import open_services
from tests.conftest import Chat
from tests.hardening import assert_polite, backend, report

USERS = 200
FAN_OUT = 50  # messages in flight at once
ITEMS = {101: "Neon Admin Dashboard", 102: "Lo-Fi Beats Pack", 103: "Cinematic Title Sequence",
         104: "Crypto Wallet UI Kit", 105: "Gavel Auction Plugin", 106: "Synthwave Sound Effects",
         107: "Pixel Icon Set"}  # fmt: skip


@dataclass
class User:
    """One simulated user: who they are on their platform and upstream, and what is theirs."""

    number: int
    platform: str
    user_id: str
    email: str
    password: str
    code: str
    item_id: int
    auctionity_id: str = ""

    @property
    def lot(self) -> str:
        return f"Lot of user {self.number:03d}"


class Load:
    """Sends each message, timing it and counting how many users are mid-visit and how many messages in flight.

    At most ``fan_out`` messages are in flight at once (the clients' pools hold 50 connections, and httpcore
    scans its whole queue on every change, so thousands of queued requests measure httpcore, not Gavel); all
    the users are mid-visit together, their conversations and sessions interleaved.
    """

    def __init__(self, fan_out: int) -> None:
        self.slots = asyncio.Semaphore(fan_out)
        self.in_flight = self.most_in_flight = 0
        self.visiting = self.most_visiting = 0
        self.latencies: list[float] = []

    def arrive(self) -> None:
        self.visiting += 1
        self.most_visiting = max(self.most_visiting, self.visiting)

    def leave(self) -> None:
        self.visiting -= 1

    async def say(self, chat: Chat, text: str) -> Reply:
        async with self.slots:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            started = time.perf_counter()
            try:
                reply = await chat.say(text)
            finally:
                self.in_flight -= 1
            self.latencies.append(time.perf_counter() - started)
        assert_polite(reply, text)
        assert reply.outcome is not Outcome.ERROR, f"{chat.platform}:{chat.user_id} {text!r}: {reply.text!r}"
        return reply


def _make_users(cryptogig: Any, auctionity: Any) -> list[User]:
    users = []
    for n in range(USERS):
        platform = ("telegram", "discord", "console")[n % 3]
        user_id = {"telegram": str(700_000 + n), "discord": str(810_000_000_000_000_000 + n), "console": f"u{n}"}
        code, item_id = str(uuid.uuid4()), 101 + n % len(ITEMS)
        cryptogig.data.purchases[code] = {"item_id": item_id, "license_type": "Regular", "downloaded": False,
                                          "date": "2024-06-01T10:00:00Z"}  # fmt: skip
        user = User(
            n, platform, user_id[platform], f"load-{n:03d}@sandbox.test", f"load-password-{n:03d}", code, item_id
        )
        user.auctionity_id = auctionity.data.ensure_user(user.email, user.password)
        users.append(user)
    return users


async def _one_user(load: Load, chat: Chat, user: User, everyone: list[User], data: Any) -> None:
    """The whole visit of one user, checking at each step that what comes back is theirs."""
    others = [u for u in everyone if u is not user]
    load.arrive()
    await load.say(chat, "/login")
    await load.say(chat, user.email)
    reply = await load.say(chat, user.password)
    assert user.email in reply.text and not any(o.email in reply.text for o in others)

    verified = await load.say(chat, f"/verify {user.code}")
    assert dict((f.name, f.value) for f in verified.fields)["Item"] == f"{ITEMS[user.item_id]} (#{user.item_id})"

    created = await load.say(chat, f'/newauction "{user.lot}" 10 now +3h')
    auction_id = dict((f.name, f.value) for f in created.fields)["Id"]
    assert user.lot in created.text

    await load.say(chat, f"/bid {auction_id} 25")
    assert [(b.user_id, b.amount) for b in data.auctions[auction_id].bids] == [(user.auctionity_id, 25)]

    await load.say(chat, f"/watch {auction_id}")
    watching = await load.say(chat, "/watches")
    assert watching.title == "You watch 1 auction" and user.lot in watching.text and "you are on top" in watching.text

    mine = await load.say(chat, "/myauctions")
    assert mine.footer == "1 in all" and auction_id in mine.text and user.lot in mine.text
    load.leave()


@pytest.mark.slow
async def test_two_hundred_users_at_once_get_only_their_own_answers_and_no_errors(
    settings_factory, cryptogig_sandbox, auctionity_sandbox, capsys
):
    # A generous client timeout: the sandbox hashes 200 passwords on one thread, which real Auctionity does not.
    settings = settings_factory(http_timeout_seconds=30)
    users = _make_users(cryptogig_sandbox, auctionity_sandbox)
    load = Load(fan_out=FAN_OUT)
    async with open_services(settings) as services:
        core = AdapterPort(Core(services))
        started = time.perf_counter()
        await asyncio.gather(
            *(
                _one_user(load, Chat(core, platform=u.platform, user_id=u.user_id), u, users, auctionity_sandbox.data)
                for u in users
            )
        )
        elapsed = time.perf_counter() - started

    latencies = sorted(load.latencies)
    report(
        capsys,
        "concurrency: 200 users at once",
        database=backend(settings.database_url),
        users=USERS,
        messages=len(latencies),
        most_users_mid_visit=load.most_visiting,
        most_messages_in_flight=load.most_in_flight,
        run_s=round(elapsed, 1),
        median_ms=round(statistics.median(latencies) * 1000),
        p95_ms=round(latencies[int(len(latencies) * 0.95)] * 1000),
        slowest_ms=round(latencies[-1] * 1000),
    )
    assert load.most_visiting == USERS and load.most_in_flight == FAN_OUT, "the users did not overlap"
    assert len(latencies) == USERS * 9


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(settings, services):
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("WAL and busy_timeout are SQLite settings; this run uses PostgreSQL")
    with services.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
