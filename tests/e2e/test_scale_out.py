"""Scale-out: three worker processes on one database (3,000 watches), one SIGKILLed again and again while bids come in.

Every outbid alert is delivered, and none twice except a send a kill caught between the platform taking it
and the outbox row being marked (then only by a killed process). Polling is not multiplied by the process
count: the leases hand each due auction to one process, so three processes make about the requests one does.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from bot.sandbox.auctionity_data import SANDBOX_ALICE_ID, SANDBOX_BOB_ID
from storage import users, watches
from storage.db import create_db_engine, session_scope
from tests.e2e.test_restart_safety import REPO_ROOT, Bidding, Worker, read_sink, unsent

pytestmark = pytest.mark.slow

PROCESSES = 3
KILLS = 6
AUCTIONS = 300
ONLOOKERS = 8  # users who only watch (no bids of theirs): 300 x (2 + 8) = 3,000 watches
BIDS_PER_STEP = 4
MEASURE_SECONDS = 6.0
SETTLE_SECONDS = 40.0  # a killed poll's leases run out after 5 s (tests/support/alert_worker.py)


def test_three_workers_share_the_work_and_a_killed_one_loses_and_repeats_nothing(
    auctionity_sandbox, database_url, secret_key, tmp_path
):
    seed = int(os.environ.get("GAVEL_RESTART_SEED") or time.time())
    rng = random.Random(seed)
    data = auctionity_sandbox.data
    now = datetime.now(UTC)
    auction_ids = [
        data.create_auction(f"Scale lot {i}", 10, now - timedelta(hours=1), now + timedelta(hours=2)).id
        for i in range(AUCTIONS)
    ]
    engine = create_db_engine(database_url)
    watchers: dict[str, int] = {}
    with session_scope(engine) as session:
        for name, auctionity_id in (("alice", SANDBOX_ALICE_ID), ("bob", SANDBOX_BOB_ID)):
            user = users.get_or_create_chat_user(session, platform="console", platform_user_id=name, now=now)
            users.set_auctionity_user_id(session, chat_user_id=user.id, auctionity_user_id=auctionity_id)
            watchers[auctionity_id] = user.id
            for auction_id in auction_ids:
                watches.add_watch(
                    session, chat_user_id=user.id, auction_id=auction_id, platform="console", chat_id=name, now=now
                )
        for n in range(ONLOOKERS):
            onlooker = users.get_or_create_chat_user(session, platform="console", platform_user_id=f"o{n}", now=now)
            for auction_id in auction_ids:
                watches.add_watch(
                    session, chat_user_id=onlooker.id, auction_id=auction_id, platform="console", chat_id=f"o{n}",
                    now=now,
                )  # fmt: skip
    sink = tmp_path / "alerts.jsonl"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GAVEL_", "AUCTIONITY_", "CRYPTOGIG_"))},
        "PYTHONPATH": str(REPO_ROOT),
        "DATABASE_URL": database_url,
        "GAVEL_SECRET_KEY": secret_key,
        "AUCTIONITY_BASE_URL": auctionity_sandbox.url,
        "CRYPTOGIG_BASE_URL": "http://127.0.0.1:9",
        "POLL_INTERVAL_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
        "GAVEL_ALERT_SINK": str(sink),
    }
    bidding = Bidding(data, engine, watchers, auction_ids, rng)
    logs = [tmp_path / f"worker-{n}.log" for n in range(PROCESSES)]

    def requests_per_second(running: list[Worker]) -> float:
        """Polls of the (never quiet: bids keep coming) auctions, measured while bids come in."""
        deadline = time.monotonic() + 15
        while len(bidding.caught_up()) < AUCTIONS and time.monotonic() < deadline:
            time.sleep(0.05)  # every process past its start-up and first poll
        before, started = data.requests["/auction"], time.monotonic()
        while time.monotonic() - started < MEASURE_SECONDS:
            assert all(w.process.poll() is None for w in running)
            bidding.step(BIDS_PER_STEP)
            time.sleep(0.05)
        return (data.requests["/auction"] - before) / (time.monotonic() - started)

    pids_killed: set[int] = set()
    workers: list[Worker] = []
    try:
        alone = Worker(env, logs[0])
        workers = [alone]
        one_rate = requests_per_second([alone])
        workers += [Worker(env, log) for log in logs[1:]]
        three_rate = requests_per_second(workers)
        for _ in range(KILLS):
            slot = rng.randrange(PROCESSES)
            until = time.monotonic() + rng.uniform(0.3, 1.5)
            while time.monotonic() < until:
                bidding.step(BIDS_PER_STEP)
                time.sleep(0.05)
            pids_killed.add(workers[slot].process.pid)
            workers[slot].kill()
            workers[slot] = Worker(env, logs[slot])
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            delivered = {line["dedupe_key"] for line in read_sink(sink)}
            if len(bidding.caught_up()) == AUCTIONS and bidding.expected <= delivered and unsent(engine) == 0:
                break
            time.sleep(0.2)
        codes = [worker.stop() for worker in workers]
        # -SIGTERM: a worker restarted a moment ago was still importing, before its signal handlers.
        assert all(code in (0, -signal.SIGTERM) for code in codes), codes
    finally:
        for worker in workers:  # never leave a process behind, whatever failed above
            if worker.process.poll() is None:
                worker.process.kill()
                worker.process.wait(10)
        engine.dispose()

    lines = read_sink(sink)
    counts = Counter(line["dedupe_key"] for line in lines)
    senders = {line["pid"] for line in lines}
    print(
        f"\nscale-out (seed {seed}): {PROCESSES} processes, {KILLS} SIGKILLs, {bidding.bids} bids, "
        f"{len(bidding.expected)} outbid alerts owed, {len(counts)} delivered by {len(senders)} processes, "
        f"{sum(n - 1 for n in counts.values())} twice; polls/s one process {one_rate:.2f}, three {three_rate:.2f}"
    )
    assert set(counts) == bidding.expected, "every outbid alert, and nothing else"
    for key, n in counts.items():
        if n > 1:
            runs = [line["pid"] for line in lines if line["dedupe_key"] == key]
            assert n == 2 and runs[0] in pids_killed and runs[0] != runs[1], (key, runs)
    assert three_rate <= 1.5 * one_rate, "three processes poll about as much as one"
