"""Poller benchmark: 10,000 auctions, 50,000 watches by 20,000 users, 5 cycles of 1,000 bids, against a naive baseline.

Run: ``python benchmarks/poller.py`` (``make bench``). The Auctionity sandbox serves real HTTP on
loopback from a thread of this process; the database is a temporary SQLite file migrated with
Alembic. Bids are injected straight into the sandbox's data as random watchers, so every change
of the top bid between two watchers owes exactly one outbid alert, which the benchmark counts
itself (independently of the poller) and compares with the outbid rows the poller wrote.

The naive baseline is what the poller replaces: one ``GET /auction`` per watch. It is measured in
the same run on a sample of the watches and scaled to all of them; it only fetches and parses
(no database work), so its figures are a lower bound on what it would really cost.
"""

from __future__ import annotations

import asyncio
import math
import random
import resource
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import Session, col, select

from bot.alerts.poller import Poller
from bot.core.config import load_settings
from bot.sandbox.auctionity import create_auctionity_app
from bot.sandbox.server import serve_in_thread
from bot.wiring.dependencies import open_services
from storage.crypto import generate_key
from storage.db import upgrade
from storage.models import ChatUser, Notification, Watch

AUCTIONS = 10_000
WATCHES = 50_000
USERS = 20_000
CYCLES = 5
BIDS_PER_CYCLE = 1_000
NAIVE_SAMPLE = 5_000
CONCURRENCY = 4
SEED = 20_240_601


@dataclass
class Cycle:
    wall: float
    cpu: float  # the whole process's CPU time in the cycle, the sandbox's share included
    requests: int
    expected: set[str]
    detected: set[str]
    duplicates: int
    latencies: list[float] = field(default_factory=list)


def populate(engine, auction_ids: list[str], rng: random.Random) -> dict[str, dict[str, list[int]]]:
    """20,000 chat users and 50,000 distinct watches, bulk-inserted; auction -> Auctionity user -> chat user ids."""
    now = datetime.now(UTC)
    users = [
        {
            "id": i,
            "platform": "console",
            "platform_user_id": f"user{i}",
            "display_name": "",
            "auctionity_user_id": f"bench-user-{i}",
            "created_at": now,
        }
        for i in range(1, USERS + 1)
    ]
    pairs: set[tuple[int, str]] = set()
    while len(pairs) < WATCHES:
        pairs.add((rng.randint(1, USERS), rng.choice(auction_ids)))
    watches = [
        {
            "chat_user_id": user,
            "auction_id": auction,
            "platform": "console",
            "chat_id": f"user{user}",
            "remind_minutes": "10",
            "active": True,
            "created_at": now,
        }
        for user, auction in sorted(pairs)
    ]
    with engine.begin() as connection:
        connection.execute(ChatUser.__table__.insert(), users)
        connection.execute(Watch.__table__.insert(), watches)
    watchers: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for user, auction in pairs:
        watchers[auction][f"bench-user-{user}"].append(user)
    return watchers


def inject(data, watch_pairs, watchers, rng) -> tuple[set[str], dict[str, float]]:
    """1,000 bids by random watchers; the outbid alerts they owe (counted here, not by the poller) and bid times."""
    before = {}
    placed_at: dict[str, float] = {}
    placed: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for _ in range(BIDS_PER_CYCLE):
        user, auction_id = rng.choice(watch_pairs)
        auction = data.auctions[auction_id]
        before.setdefault(auction_id, auction.bids[-1].user_id if auction.bids else None)
        bid = data.place_bid_as(f"bench-user-{user}", auction_id, auction.amount + rng.randint(1, 9))
        placed_at[bid["id"]] = time.time()
        placed[auction_id].append((bid["id"], bid["user_id"]))
    expected = set()
    for auction_id, bids in placed.items():
        holder, taken_from = before[auction_id], {}
        for bid_id, bidder in bids:  # each bid is higher than the last, so each takes the top
            if holder is not None and holder != bidder:
                taken_from[holder] = bid_id
            holder = bidder
        for loser, bid_id in taken_from.items():
            if loser != holder:
                expected |= {f"outbid:{auction_id}:{bid_id}:{cu}" for cu in watchers[auction_id].get(loser, [])}
    return expected, placed_at


def new_outbid_rows(engine, after_id: int) -> list[Notification]:
    with Session(engine) as session:
        query = select(Notification).where(Notification.kind == "outbid", col(Notification.id) > after_id)
        return list(session.exec(query.order_by(col(Notification.id))))


async def naive_cycle(services, auction_ids_of_watches: list[str]) -> tuple[float, int]:
    """The baseline: one GET /auction per watch, with the same concurrency; (seconds, requests)."""
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(auction_id: str) -> None:
        async with limit:
            await services.auctionity.auctions([auction_id])

    start = time.perf_counter()
    await asyncio.gather(*(one(a) for a in auction_ids_of_watches))
    return time.perf_counter() - start, len(auction_ids_of_watches)


async def main() -> None:
    rng = random.Random(SEED)
    app = create_auctionity_app()
    data = app.state.data
    folder = Path(tempfile.mkdtemp(prefix="gavel-bench-"))
    url = f"sqlite:///{folder / 'bench.db'}"
    setup = time.perf_counter()
    upgrade(url)
    auction_ids = data.bulk_create(AUCTIONS)
    with serve_in_thread(app) as sandbox:
        settings = load_settings(
            auctionity_base_url=sandbox.url,
            database_url=url,
            gavel_secret_key=generate_key(),
            poll_interval_seconds=30,
            _env_file=None,
        )
        async with open_services(settings) as services:
            watchers = populate(services.engine, auction_ids, rng)
            watch_pairs = [(int(cu), a) for a, users in watchers.items() for cus in users.values() for cu in cus]
            watch_pairs.sort()
            took = time.perf_counter() - setup
            print(f"setup: {AUCTIONS:,} auctions, {WATCHES:,} watches by {USERS:,} users in {took:.1f} s")
            poller = Poller(services, concurrency=CONCURRENCY)
            # Each cycle polls one interval after the last (every auction due again): the poller's clock runs
            # ahead of the wall clock by the intervals skipped; latencies below take that lead off again.
            lead = timedelta(0)
            services.clock = lambda: datetime.now(UTC) + lead

            start = time.perf_counter()
            first = await poller.poll_once()
            print(
                f"first poll (records state, no alerts): {time.perf_counter() - start:.2f} s, "
                f"{first.requests} requests, {first.auctions:,} auctions, {first.events} alerts"
            )

            cycles: list[Cycle] = []
            last_id = 0
            for _ in range(CYCLES):
                expected, placed_at = inject(data, watch_pairs, watchers, rng)
                requests_before = data.requests["/auction"]
                start, cpu_start = time.perf_counter(), time.process_time()
                lead += timedelta(seconds=settings.poll_interval_seconds)
                stats = await poller.poll_once()
                wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
                rows = new_outbid_rows(services.engine, last_id)
                last_id = max([last_id, *(r.id for r in rows)])
                detected = {r.dedupe_key for r in rows}
                per_pair = defaultdict(int)
                for row in rows:
                    per_pair[(row.dedupe_key.split(":")[1], row.chat_user_id)] += 1
                latencies = [(r.created_at - lead).timestamp() - placed_at[r.dedupe_key.split(":")[2]] for r in rows]
                cycles.append(
                    Cycle(
                        wall,
                        cpu,
                        data.requests["/auction"] - requests_before,
                        expected,
                        detected,
                        duplicates=sum(n - 1 for n in per_pair.values()) + (len(rows) - len(detected)),
                        latencies=latencies,
                    )
                )
                assert stats.failures == 0, stats

            sample = [a for _, a in rng.sample(watch_pairs, NAIVE_SAMPLE)]
            naive_seconds, naive_requests = await naive_cycle(services, sample)
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report(cycles, naive_seconds, naive_requests, peak_rss_mb)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


def report(cycles: list[Cycle], naive_seconds: float, naive_requests: int, peak_rss_mb: float) -> None:
    scale = WATCHES / naive_requests
    naive_cycle_seconds = naive_seconds * scale
    print()
    columns = ("cycle", "requests", "wall s", "cpu s", "injected", "detected", "missed", "extra", "dup")
    print(" ".join(f"{name:>9}" for name in columns))
    for i, c in enumerate(cycles, 1):
        missed, extra = len(c.expected - c.detected), len(c.detected - c.expected)
        values = (i, c.requests, f"{c.wall:.2f}", f"{c.cpu:.2f}", len(c.expected), len(c.detected), missed, extra)
        print(" ".join(f"{v:>9}" for v in (*values, c.duplicates)))
    latencies = [x for c in cycles for x in c.latencies]
    requests = statistics.mean(c.requests for c in cycles)
    wall = statistics.mean(c.wall for c in cycles)
    expected = sum(len(c.expected) for c in cycles)
    detected = sum(len(c.detected & c.expected) for c in cycles)
    extra = sum(len(c.detected - c.expected) for c in cycles)
    duplicates = sum(c.duplicates for c in cycles)
    naive = f"naive: 1 GET per watch (fetch only; {naive_requests:,} sampled x{scale:g})"
    slowest = max(c.wall for c in cycles)
    cpu = statistics.mean(c.cpu for c in cycles)
    p50, p99 = pct(latencies, 0.5), pct(latencies, 0.99)
    naive_latency = f"~{naive_cycle_seconds / 2:.0f} s (half a cycle)"
    rows = [
        ("upstream requests / cycle", f"{requests:,.0f}", f"{WATCHES:,}", f"<= {WATCHES // 40:,}"),
        ("requests per watch", f"1/{WATCHES / requests:,.0f}", "1/1", "<= 1/40"),
        ("cycle wall time (mean / max)", f"{wall:.2f} / {slowest:.2f} s", f"{naive_cycle_seconds:.1f} s", "< 3 s"),
        ("cycle CPU time, whole process (mean)", f"{cpu:.2f} s", "", ""),
        ("outbid events injected", f"{expected:,}", "n/a", ""),
        ("outbid events detected", f"{detected:,} (+{extra} extra)", "not measured", "= injected"),
        ("duplicate alerts", f"{duplicates}", "n/a", "0"),
        ("detection latency p50 / p99", f"{p50:.2f} / {p99:.2f} s", naive_latency, ""),
        ("peak RSS (whole process, sandbox incl.)", f"{peak_rss_mb:,.0f} MB", "same process", ""),
    ]
    print()
    widths = [max(len(r[i]) for r in [*rows, ("metric", "batched poller", naive, "target")]) for i in range(4)]
    header = ("metric", "batched poller", naive, "target")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    ok = requests <= WATCHES / 40 and slowest < 3 and detected == expected and not extra
    print()
    print(f"{AUCTIONS:,} auctions, {WATCHES:,} watches, {USERS:,} users, {CYCLES} cycles of {BIDS_PER_CYCLE:,} bids")
    print("targets met" if ok and duplicates == 0 else "TARGETS MISSED")


if __name__ == "__main__":
    asyncio.run(main())
