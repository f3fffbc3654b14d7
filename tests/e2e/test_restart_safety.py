"""Restart safety: the alert worker SIGKILLed again and again while bids come in loses no alert and repeats none.

`python -m tests.support.alert_worker` runs as a real subprocess against the Auctionity sandbox (served in a
thread of this process, so the test places rival bids straight into its data) and appends every
alert it delivers to a file. The only repeats allowed are sends a kill caught between the send
and the outbox row being marked sent; they are counted and printed.
"""

from __future__ import annotations

import atexit
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from bot.sandbox.auctionity_data import SANDBOX_ALICE_ID, SANDBOX_BOB_ID, SANDBOX_RIVAL_ID
from storage import users, watches
from storage.db import create_db_engine, session_scope
from storage.models import AuctionState, Notification

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
KILLS = 10
AUCTIONS = 8
SETTLE_SECONDS = 40.0  # a killed poll's leases run out after 5 s (tests/support/alert_worker.py)
EARLY_KILLS = 0.3  # the share of kills aimed at start-up rather than at a working worker


_STARTED: list[subprocess.Popen] = []


@atexit.register
def _leave_no_process_behind() -> None:
    """A test that failed half-way must not leave workers running (and polling) after the session."""
    for process in _STARTED:
        if process.poll() is None:
            process.kill()


class Worker:
    """One run of the worker process."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.alert_worker"],
            env=env,
            cwd=log.parent,
            stdout=self.log,
            stderr=self.log,
        )
        _STARTED.append(self.process)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.log.close()

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(30)
        self.log.close()
        return code


class Bidding:
    """Places rival bids, one per auction between polls, and remembers which outbid alerts they owe."""

    def __init__(self, data, engine, watchers: dict[str, int], auction_ids: list[str], rng: random.Random) -> None:
        self.data, self.engine, self.watchers, self.auction_ids, self.rng = data, engine, watchers, auction_ids, rng
        self.expected: set[str] = set()
        self.bids = 0

    def caught_up(self) -> list[str]:
        """Auctions whose state shows every bid placed so far, so the next bid is diffed on its own."""
        with Session(self.engine) as session:
            seen = {s.auction_id: s for s in session.exec(select(AuctionState))}
        ready = []
        for auction_id in self.auction_ids:
            state, bids = seen.get(auction_id), self.data.auctions[auction_id].bids
            last = bids[-1].id if bids else None
            if state is not None and state.end_date is not None and state.last_bid_id == last:
                ready.append(auction_id)
        return ready

    def step(self, most: int | None = None) -> None:
        """Bid on about half the auctions whose last bid was seen (at most ``most`` of them)."""
        ready = [a for a in self.caught_up() if self.rng.random() >= 0.5]
        for auction_id in ready if most is None else ready[:most]:
            auction = self.data.auctions[auction_id]
            top = auction.bids[-1].user_id if auction.bids else None
            bidder = self.rng.choice([u for u in (SANDBOX_ALICE_ID, SANDBOX_BOB_ID, SANDBOX_RIVAL_ID) if u != top])
            amount = auction.amount + self.rng.randint(1, 5) if auction.bids else auction.base_amount
            placed = self.data.place_bid_as(bidder, auction_id, amount)
            self.bids += 1
            if top in self.watchers:
                self.expected.add(f"outbid:{auction_id}:{placed['id']}:{self.watchers[top]}")


def read_sink(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def unsent(engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(Notification.id).where(col(Notification.sent_at).is_(None))).all())


def test_sigkilled_worker_delivers_every_outbid_alert_once(auctionity_sandbox, database_url, secret_key, tmp_path):
    started = time.monotonic()
    seed = int(os.environ.get("GAVEL_RESTART_SEED") or time.time())
    rng = random.Random(seed)
    data = auctionity_sandbox.data
    now = datetime.now(UTC)
    auction_ids = [
        data.create_auction(f"Restart lot {i}", 10, now - timedelta(hours=1), now + timedelta(hours=2)).id
        for i in range(AUCTIONS)
    ]
    engine = create_db_engine(database_url)
    watchers: dict[str, int] = {}
    with session_scope(engine) as session:
        for name, auctionity_id in (("alice", SANDBOX_ALICE_ID), ("bob", SANDBOX_BOB_ID)):
            user = users.get_or_create_chat_user(
                session, platform="console", platform_user_id=name, now=datetime.now(UTC)
            )
            users.set_auctionity_user_id(session, chat_user_id=user.id, auctionity_user_id=auctionity_id)
            watchers[auctionity_id] = user.id
            for auction_id in auction_ids:
                watches.add_watch(
                    session,
                    chat_user_id=user.id,
                    auction_id=auction_id,
                    platform="console",
                    chat_id=name,
                    now=datetime.now(UTC),
                )

    sink, log = tmp_path / "alerts.jsonl", tmp_path / "worker.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GAVEL_", "AUCTIONITY_", "CRYPTOGIG_"))},
        "PYTHONPATH": str(REPO_ROOT),
        "DATABASE_URL": database_url,
        "GAVEL_SECRET_KEY": secret_key,
        "AUCTIONITY_BASE_URL": auctionity_sandbox.url,
        "CRYPTOGIG_BASE_URL": "http://127.0.0.1:9",  # never called by the worker
        "POLL_INTERVAL_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
        "GAVEL_ALERT_SINK": str(sink),
    }
    bidding = Bidding(data, engine, watchers, auction_ids, rng)
    pids_killed: set[int] = set()
    early = 0

    def run_for(seconds: float, worker: Worker) -> None:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            assert worker.process.poll() is None, log.read_text()[-3000:]
            bidding.step()
            time.sleep(0.05)

    try:
        for _ in range(KILLS):
            worker = Worker(env, log)
            if rng.random() < EARLY_KILLS:
                run_for(rng.uniform(0.2, 1.5), worker)  # during start-up: imports, migrations, the first poll
                early += 1
            else:
                # Once it is working: starting up takes most of a run, so a plain random delay would rarely get here.
                polls_before = data.requests["/auction"]
                deadline = time.monotonic() + 15
                while data.requests["/auction"] == polls_before and time.monotonic() < deadline:
                    run_for(0.05, worker)
                run_for(rng.uniform(0.0, 1.5), worker)
            pids_killed.add(worker.process.pid)
            worker.kill()

        worker = Worker(env, log)
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            delivered = {line["dedupe_key"] for line in read_sink(sink)}
            if len(bidding.caught_up()) == AUCTIONS and bidding.expected <= delivered and unsent(engine) == 0:
                break
            time.sleep(0.2)
        assert worker.stop() == 0, log.read_text()[-3000:]
    finally:
        engine.dispose()

    lines = read_sink(sink)
    counts = Counter(line["dedupe_key"] for line in lines)
    duplicates = sum(n - 1 for n in counts.values())
    print(
        f"\nrestart safety (seed {seed}): {KILLS} SIGKILLs ({early} during start-up), {bidding.bids} bids, "
        f"{len(bidding.expected)} outbid events injected, {len(counts)} delivered, "
        f"{duplicates} delivered twice (send/mark window), {time.monotonic() - started:.1f} s"
    )
    assert set(counts) == bidding.expected, "every outbid alert, and nothing else"
    assert len(bidding.expected) >= 10, "the run should have produced enough events to mean something"
    for key, n in counts.items():
        if n > 1:
            # A repeat is only acceptable across a kill: sent by a run that was killed, then again by the next.
            runs = [line["pid"] for line in lines if line["dedupe_key"] == key]
            assert n == 2 and runs[0] in pids_killed and runs[0] != runs[1], (key, runs)
    assert duplicates <= KILLS
