"""Auto-bids across SIGKILLs: the alert worker killed again and again while a rival keeps outbidding never bids
twice for one outbidding bid, never above the maximum, and answers the last rival bid once it is left to run.

The worker (`python -m tests.support.alert_worker`: the poller, its auto-bidder and the dispatcher) is a real
subprocess on the test's database; the Auctionity sandbox runs in a thread of this process, so the test reads
the auction's history, the only record of what was really bid, straight from its data.
"""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.sandbox.auctionity_data import SANDBOX_ALICE_EMAIL, SANDBOX_ALICE_ID, SANDBOX_ALICE_PASSWORD, SANDBOX_RIVAL_ID
from tests.e2e.test_restart_safety import REPO_ROOT, Worker

pytestmark = pytest.mark.slow

KILLS = 6
MAXIMUM = 100_000
SETTLE_SECONDS = 45.0  # a killed bid's intent is reconciled once its lease (8 s here: 4 HTTP timeouts) has passed


async def test_sigkilled_auto_bidder_never_bids_twice_for_one_outbid(
    settings_factory, auctionity_sandbox, database_url, secret_key, tmp_path
):
    from bot.core.adapter_port import AdapterPort
    from bot.core.routing import Core
    from bot.wiring.dependencies import open_services
    from tests.conftest import Chat

    seed = int(os.environ.get("GAVEL_RESTART_SEED") or time.time())
    rng = random.Random(seed)
    data = auctionity_sandbox.data
    now = datetime.now(UTC)
    auction_id = data.create_auction("Killed lot", 10, now - timedelta(hours=1), now + timedelta(hours=2)).id
    data.place_bid_as(SANDBOX_RIVAL_ID, auction_id, 20)
    async with open_services(settings_factory()) as services:
        alice = Chat(AdapterPort(Core(services)), user_id="alice")
        await alice.say("/login")
        await alice.say(SANDBOX_ALICE_EMAIL)
        await alice.say(SANDBOX_ALICE_PASSWORD)
        asked = await alice.say(f"/autobid {auction_id} {MAXIMUM}")
        assert (await alice.press(asked, "Confirm")).title == "Auto-bid on"

    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GAVEL_", "AUCTIONITY_", "CRYPTOGIG_"))},
        "PYTHONPATH": str(REPO_ROOT),
        "DATABASE_URL": database_url,
        "GAVEL_SECRET_KEY": secret_key,
        "AUCTIONITY_BASE_URL": auctionity_sandbox.url,
        "CRYPTOGIG_BASE_URL": "http://127.0.0.1:9",
        "POLL_INTERVAL_SECONDS": "1",
        "HTTP_TIMEOUT_SECONDS": "2",
        "LOG_LEVEL": "WARNING",
        "GAVEL_ALERT_SINK": str(tmp_path / "alerts.jsonl"),
    }
    log = tmp_path / "worker.log"
    rival_bids = 0

    def outbid_if_on_top() -> None:
        nonlocal rival_bids
        auction = data.auctions[auction_id]
        if auction.bids[-1].user_id == SANDBOX_ALICE_ID:
            data.place_bid_as(SANDBOX_RIVAL_ID, auction_id, auction.amount + rng.randint(1, 5))
            rival_bids += 1

    for _ in range(KILLS):
        worker = Worker(env, log)
        bids_before = len(data.auctions[auction_id].bids)
        deadline = time.monotonic() + 20
        # Kill it while it is working: once it has answered at least one rival bid, at a random moment after.
        while len(data.auctions[auction_id].bids) < bids_before + 2 and time.monotonic() < deadline:
            assert worker.process.poll() is None, log.read_text()[-3000:]
            outbid_if_on_top()
            time.sleep(0.02)
        until = time.monotonic() + rng.uniform(0.0, 1.0)
        while time.monotonic() < until:
            outbid_if_on_top()
            time.sleep(0.02)
        worker.kill()

    # One last rival bid, then the worker is left to run: it must answer it, once.
    outbid_if_on_top()
    worker = Worker(env, log)
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline and data.auctions[auction_id].bids[-1].user_id != SANDBOX_ALICE_ID:
        time.sleep(0.1)
    assert worker.stop() == 0, log.read_text()[-3000:]

    history = data.auctions[auction_id].bids
    answers_per_rival_bid: list[int] = []
    for bid in history:
        if bid.user_id == SANDBOX_RIVAL_ID:
            answers_per_rival_bid.append(0)
        elif bid.user_id == SANDBOX_ALICE_ID:
            answers_per_rival_bid[-1] += 1
    print(
        f"\nauto-bid restart safety (seed {seed}): {KILLS} SIGKILLs, {rival_bids} rival bids, "
        f"{sum(answers_per_rival_bid)} auto-bids"
    )
    assert rival_bids >= KILLS, "the rival should have outbid her at least once per run"
    assert max(answers_per_rival_bid) == 1, f"one answer per outbidding bid at most: {answers_per_rival_bid}"
    assert history[-1].user_id == SANDBOX_ALICE_ID, "the last rival bid was answered"
    assert max(b.amount for b in history if b.user_id == SANDBOX_ALICE_ID) <= MAXIMUM
