"""`gavel worker` as a real process: it polls and sends alerts through the platform's HTTP API, and takes no updates.

The worker talks to the fake Bot API and the Auctionity sandbox, both served on loopback by this process,
on the test's database; the test watches an auction, lets a rival outbid, and waits for the alert.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.sandbox.auctionity_data import SANDBOX_ALICE_ID, SANDBOX_RIVAL_ID
from storage import users, watches
from storage.db import create_db_engine, session_scope
from storage.models import AuctionState
from tests.fakes.telegram_api import TOKEN
from tests.support.telegram import ALICE

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]


async def _until(condition, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_gavel_worker_sends_alerts_through_the_bot_api_and_takes_no_updates(
    telegram, _telegram_server, auctionity_sandbox, database_url, secret_key, tmp_path
):
    from storage.db import upgrade

    _, url = _telegram_server
    data = auctionity_sandbox.data
    now = datetime.now(UTC)
    auction_id = data.create_auction("Worker lot", 10, now - timedelta(hours=1), now + timedelta(hours=2)).id
    data.place_bid_as(SANDBOX_ALICE_ID, auction_id, 20)
    upgrade(database_url)
    engine = create_db_engine(database_url)
    with session_scope(engine) as session:
        user = users.get_or_create_chat_user(session, platform="telegram", platform_user_id=str(ALICE), now=now)
        users.set_auctionity_user_id(session, chat_user_id=user.id, auctionity_user_id=SANDBOX_ALICE_ID)
        watches.add_watch(
            session, chat_user_id=user.id, auction_id=auction_id, platform="telegram", chat_id=str(ALICE), now=now
        )
    env = {
        **{
            k: v for k, v in os.environ.items() if not k.startswith(("GAVEL_", "AUCTIONITY_", "CRYPTOGIG_", "TELEGRAM"))
        },
        "PYTHONPATH": str(REPO_ROOT),
        "DATABASE_URL": database_url,
        "GAVEL_SECRET_KEY": secret_key,
        "AUCTIONITY_BASE_URL": auctionity_sandbox.url,
        "CRYPTOGIG_BASE_URL": "http://127.0.0.1:9",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": f"{url}/bot",
        "POLL_INTERVAL_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
    }
    log = (tmp_path / "worker.log").open("wb")
    since = telegram.mark()
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot.wiring.cli", "worker"], env=env, cwd=tmp_path, stdout=log, stderr=log
    )
    try:

        def seen() -> bool:
            with Session(engine) as session:
                state = session.exec(select(AuctionState).where(AuctionState.auction_id == auction_id)).first()
                return state is not None and state.end_date is not None

        await _until(lambda: worker.poll() is not None or seen())
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
        data.place_bid_as(SANDBOX_RIVAL_ID, auction_id, 30)
        [alert] = await telegram.next_sent(ALICE, since=since, timeout=30)
        assert "outbid" in alert.text.lower() and "30 DRT" in alert.text
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(30)
        log.close()
        engine.dispose()
    assert code == 0, (tmp_path / "worker.log").read_text()[-3000:]
    methods = {call.method for call in telegram.calls[since:]}
    assert not methods & {"getUpdates", "setWebhook", "setMyCommands"}, f"a worker takes no updates: {methods}"
