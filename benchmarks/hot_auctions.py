"""Hot-auction figure: how soon a bid placed in an auction's last 5 minutes is seen, hot cadence against fixed.

Run: ``python benchmarks/hot_auctions.py`` (``make bench`` runs it after the poller benchmark). Both pollers
run in this one process on simulated time (the poller's clock is injected; nothing sleeps), each against
its own Auctionity sandbox (real HTTP on loopback) and its own SQLite database, seeded alike: 2,000 watched
auctions ending over the next 6 hours, two watchers each, and the same schedule of bids, all placed in an
auction's last 5 minutes, alternating between its two watchers so that each owes exactly one outbid alert.
A bid's detection latency is the simulated time of the poll that wrote its outbid alert minus the time it
was placed. "fixed" is the poller before hot auctions (every auction each POLL_INTERVAL_SECONDS = 30);
"hot" polls auctions in their last HOT_MINUTES = 5 every HOT_POLL_SECONDS = 5, within its budget.
"""

from __future__ import annotations

import asyncio
import math
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import Session, col, select

from bot.alerts.poller import Poller
from bot.core.config import load_settings
from bot.sandbox.auctionity import create_auctionity_app
from bot.sandbox.server import serve_in_thread
from bot.wiring.dependencies import open_services
from storage import users, watches
from storage.crypto import generate_key
from storage.db import session_scope, upgrade
from storage.models import Notification

AUCTIONS = 2_000
WINDOW = timedelta(minutes=20)  # simulated time
STEP = timedelta(seconds=5)  # the simulation's resolution: bids land between steps, polls run on them
BIDS = 300
INTERVAL = 30
SEED = 20_261_201
START = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


@dataclass
class Result:
    name: str
    latencies: list[float]
    requests: int
    polls: int
    expected: int
    wall: float

    @property
    def per_interval(self) -> float:
        return self.requests / (WINDOW / timedelta(seconds=INTERVAL))


def schedule(rng: random.Random) -> tuple[list[timedelta], list[tuple[timedelta, int]]]:
    """Each auction's end (from START) and the bids (time, auction index), every bid in its auction's last 5 min."""
    ends = [timedelta(seconds=rng.uniform(60, 6 * 3600)) for _ in range(AUCTIONS)]
    bids: list[tuple[timedelta, int]] = []
    while len(bids) < BIDS:
        at = timedelta(seconds=rng.uniform(0, WINDOW.total_seconds()))
        hot = [i for i, end in enumerate(ends) if timedelta(0) < end - at <= timedelta(minutes=5)]
        if hot:
            bids.append((at, rng.choice(hot)))
    return ends, sorted(bids)


async def run(name: str, hot_minutes: int, ends: list[timedelta], bids: list[tuple[timedelta, int]]) -> Result:
    app = create_auctionity_app(clock=lambda: START)
    data = app.state.data
    folder = Path(tempfile.mkdtemp(prefix=f"gavel-hot-{name}-"))
    url = f"sqlite:///{folder / 'bench.db'}"
    upgrade(url)
    ids = [
        data.create_auction(f"Lot {i}", 10, START - timedelta(hours=1), START + end).id for i, end in enumerate(ends)
    ]
    with serve_in_thread(app) as sandbox:
        settings = load_settings(
            auctionity_base_url=sandbox.url, database_url=url, gavel_secret_key=generate_key(),
            poll_interval_seconds=INTERVAL, hot_minutes=hot_minutes, hot_poll_seconds=5, _env_file=None,
        )  # fmt: skip
        async with open_services(settings) as services:
            watcher_ids = _watch_everything(services.engine, ids)
            clock = {"now": START}
            services.clock = lambda: clock["now"]
            poller = Poller(services)
            placed: dict[str, timedelta] = {}
            expected = 0
            requests = polls = 0
            pending = list(bids)
            began = time.perf_counter()
            moment = timedelta(0)
            while moment <= WINDOW:
                while pending and pending[0][0] <= moment:
                    at, index = pending.pop(0)
                    auction = data.auctions[ids[index]]
                    bidder = "A" if len(auction.bids) % 2 == 0 else "B"
                    bid = data.place_bid_as(f"bench-{bidder}", ids[index], auction.amount + 1, force=True)
                    placed[bid["id"]] = at
                    expected += len(auction.bids) > 1  # the first bid outbids nobody
                if moment % poller.tick == timedelta(0):
                    clock["now"] = START + moment
                    stats = await poller.poll_once()
                    requests += stats.requests
                    polls += 1
                moment += STEP
            wall = time.perf_counter() - began
            with Session(services.engine) as session:
                rows = session.exec(select(Notification).where(col(Notification.kind) == "outbid")).all()
    latencies = [
        (row.created_at - START - placed[row.dedupe_key.split(":")[2]]).total_seconds()
        for row in rows
        if row.dedupe_key.split(":")[2] in placed
    ]
    assert watcher_ids
    return Result(name, latencies, requests, polls, expected, wall)


def _watch_everything(engine, auction_ids: list[str]) -> list[int]:
    """Two watchers on every auction, whose Auctionity ids are the two bench bidders."""
    made = []
    with session_scope(engine) as session:
        for name in ("A", "B"):
            user = users.get_or_create_chat_user(session, platform="console", platform_user_id=name, now=START)
            users.set_auctionity_user_id(session, chat_user_id=user.id, auctionity_user_id=f"bench-{name}")
            for auction_id in auction_ids:
                watches.add_watch(
                    session, chat_user_id=user.id, auction_id=auction_id, platform="console", chat_id=name, now=START
                )
            made.append(user.id)
    return made


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] if ordered else float("nan")


async def main() -> bool:
    ends, bids = schedule(random.Random(SEED))
    fixed = await run("fixed", 0, ends, bids)
    hot = await run("hot", 5, ends, bids)
    print()
    print(f"hot auctions: {AUCTIONS:,} auctions ending over 6 h, {BIDS} bids in last-5-minute windows, ")
    print(f"{WINDOW.total_seconds() / 60:.0f} simulated minutes, POLL_INTERVAL_SECONDS={INTERVAL}")
    # "too late": outbids the auction's end overtook (it ended before the next poll; its result alert said it).
    header = ("poller", "outbid alerts", "too late", "p50 s", "p99 s", "max s", "req/interval", "polls", "wall s")
    print("  ".join(f"{h:>13}" for h in header))
    for r in (fixed, hot):
        values = (
            r.name, len(r.latencies), r.expected - len(r.latencies), f"{pct(r.latencies, 0.5):.1f}",
            f"{pct(r.latencies, 0.99):.1f}", f"{max(r.latencies):.1f}", f"{r.per_interval:.1f}", r.polls,
            f"{r.wall:.1f}",
        )  # fmt: skip
        print("  ".join(f"{v:>13}" for v in values))
    ratio = hot.per_interval / fixed.per_interval
    p99 = pct(hot.latencies, 0.99)
    print(f"detection p99: {p99:.1f} s hot against {pct(fixed.latencies, 0.99):.1f} s fixed (target <= 6 s)")
    print(f"upstream requests per interval: {ratio:.2f} x the fixed poller's (target <= 1.2 x)")
    ok = p99 <= 6 and ratio <= 1.2 and len(hot.latencies) >= len(fixed.latencies)
    print("targets met" if ok else "TARGETS MISSED")
    return ok


if __name__ == "__main__":
    sys.exit(0 if asyncio.run(main()) else 1)
