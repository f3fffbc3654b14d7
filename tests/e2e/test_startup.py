"""`gavel run` at start: a platform or database that does not answer yet is waited for, one log line an attempt;
a definite refusal ends it with one line and exit status 2; a database behind the code says so, then migrates
under a lock; apscheduler keeps its chatter to itself."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from bot.core.logs import setup_logging
from bot.sandbox.server import serve_in_thread
from bot.wiring.app import run_bot
from bot.wiring.startup import Backoff, migrate
from storage.db import create_db_engine, current_revision, head_revision, upgrade
from tests.fakes.telegram_api import TOKEN, FakeTelegram
from tests.support.dashboard import free_port

QUICK = Backoff((0.05, 0.1, 0.2))
POSTGRES_URL = os.environ.get("GAVEL_TEST_POSTGRES_URL")


async def eventually(check: Callable[[], Any], *, timeout: float = 20.0, what: str = "the condition") -> Any:
    """Wait until ``check()`` is true (polled, as the fakes' own wait_for does)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (result := check()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
    return result


async def test_gavel_run_waits_for_an_unreachable_bot_api_then_starts(settings_factory: Any, caplog: Any):
    port = free_port()  # nothing listens there yet: every getMe is refused
    settings = settings_factory(telegram_bot_token=TOKEN, telegram_api_base_url=f"http://127.0.0.1:{port}/bot")
    stop = asyncio.Event()
    caplog.set_level(logging.INFO)
    running = asyncio.create_task(run_bot(settings, backoff=QUICK, stop=stop))
    try:
        await eventually(
            lambda: caplog.text.count("Telegram is not reachable (connection refused, getMe at") >= 2,
            what="two retries logged",
        )
        assert "retrying in 0.05 s" in caplog.text and "retrying in 0.1 s" in caplog.text
        assert not running.done(), "a network blip at start is not a crash"
        fake = FakeTelegram()
        with serve_in_thread(fake.app, port):  # the Bot API comes back
            await eventually(lambda: fake.polls > 0, what="the bot polling the Bot API")
            stop.set()
            assert await asyncio.wait_for(running, 30) == 0
    finally:
        running.cancel()
    assert "telegram bot @gavel_test_bot is listening" in caplog.text
    assert "Traceback" not in caplog.text


async def test_gavel_run_stops_at_once_on_a_rejected_token(
    settings_factory: Any, telegram: Any, _telegram_server: Any, capsys: Any
):
    _, url = _telegram_server
    settings = settings_factory(telegram_bot_token="123456:made-up", telegram_api_base_url=f"{url}/bot")
    assert await asyncio.wait_for(run_bot(settings, backoff=QUICK), 30) == 2
    err = capsys.readouterr().err
    refusals = [line for line in err.splitlines() if line.startswith("gavel: ")]
    assert refusals == [
        f"gavel: Telegram rejected the token (401 from getMe at {url}/bot): copy it again from @BotFather into "
        "TELEGRAM_BOT_TOKEN"
    ]
    assert "made-up" not in err and "Traceback" not in err


@pytest.mark.skipif(not POSTGRES_URL, reason="needs GAVEL_TEST_POSTGRES_URL (a PostgreSQL server)")
async def test_gavel_run_waits_for_a_database_that_does_not_answer(settings_factory: Any, caplog: Any):
    closed = make_url(POSTGRES_URL).set(port=free_port(), database="firstday_nothing_here")
    settings = settings_factory(database_url=closed.render_as_string(hide_password=False), telegram_bot_token=TOKEN)
    caplog.set_level(logging.INFO)
    running = asyncio.create_task(run_bot(settings, backoff=QUICK))
    try:
        await eventually(lambda: caplog.text.count("is not reachable (connection refused)") >= 2, what="retries")
        assert (
            f"the database at 127.0.0.1:{closed.port} is not reachable (connection refused); retrying in" in caplog.text
        )
        assert not running.done()
    finally:
        running.cancel()


@pytest.mark.skipif(not POSTGRES_URL, reason="needs GAVEL_TEST_POSTGRES_URL (a PostgreSQL server)")
async def test_gavel_run_stops_on_a_database_that_is_not_there(settings_factory: Any, capsys: Any):
    missing = make_url(POSTGRES_URL).set(database="firstday_no_such_database")
    settings = settings_factory(database_url=missing.render_as_string(hide_password=False), telegram_bot_token=TOKEN)
    assert await asyncio.wait_for(run_bot(settings, backoff=QUICK), 30) == 2
    (line,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("gavel: ")]
    assert 'database "firstday_no_such_database" does not exist' in line and line.endswith("check DATABASE_URL")


def test_a_database_behind_the_code_says_so_before_migrating(tmp_path: Any, caplog: Any):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0007")
    caplog.set_level(logging.INFO)
    migrate(url)
    assert f"database at 0007, code at {head_revision()}: migrating" in caplog.text
    engine = create_db_engine(url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


@pytest.mark.skipif(not POSTGRES_URL, reason="needs GAVEL_TEST_POSTGRES_URL (a PostgreSQL server)")
def test_replicas_migrating_together_never_race(tmp_path: Any):
    import psycopg

    name = "firstday_migrate_race"
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        failures: list[BaseException] = []
        start = threading.Barrier(4)

        def replica() -> None:
            start.wait()
            try:
                upgrade(url)
            except BaseException as error:  # collected for the assertion below
                failures.append(error)

        threads = [threading.Thread(target=replica) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert failures == []
        engine = create_db_engine(url)
        assert current_revision(engine) == head_revision()
        engine.dispose()
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_apscheduler_says_nothing_at_info(caplog: Any):
    setup_logging("INFO")
    caplog.set_level(logging.INFO)
    logging.getLogger("apscheduler.executors.default").info('Running job "poll" (scheduled at now)')
    logging.getLogger("apscheduler.executors.default").warning("Run time of job was missed")
    assert "Running job" not in caplog.text and "was missed" in caplog.text


async def test_discord_unreachable_at_start_is_worth_a_retry_and_a_rejected_token_is_not(
    core: Any, settings_factory: Any
):
    from adapters.discord.adapter import DiscordAdapter
    from bot.core.errors import Refused, Unreachable
    from tests.fakes.discord_standin import DiscordStandIn, serve_standin

    closed = settings_factory(discord_bot_token="x.y.z", discord_api_base_url=f"http://127.0.0.1:{free_port()}/api/v10")
    with pytest.raises(Unreachable) as unreachable:
        await DiscordAdapter(core, closed).start()
    assert unreachable.value.reason == "connection refused" and "GET /users/@me at http://127.0.0.1:" in str(
        unreachable.value.called
    )
    async with serve_standin(DiscordStandIn(token="the-right-token")) as standin:
        wrong = settings_factory(discord_bot_token="a-wrong-token", discord_api_base_url=standin.api)
        with pytest.raises(Refused, match=r"Discord rejected the token \(401 from GET /users/@me at "):
            await DiscordAdapter(core, wrong).start()


def test_gavel_sandbox_prints_the_settings_codes_and_auction_ids():
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from bot.sandbox.cryptogig import SAMPLE_PURCHASE_CODES

    sandbox = subprocess.Popen(
        [sys.executable, "-m", "bot.wiring.cli", "sandbox", "--cryptogig-port", "0", "--auctionity-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    try:
        assert sandbox.stdout is not None
        printed = []
        while not (
            printed and printed[-1].startswith("  0x") and len([p for p in printed if p.startswith("  0x")]) >= 2
        ):
            line = sandbox.stdout.readline()
            assert line, "".join(printed)
            printed.append(line)
        sandbox.send_signal(signal.SIGINT)
        sandbox.wait(timeout=15)
    finally:
        if sandbox.poll() is None:
            sandbox.kill()
    text = "".join(printed)
    assert "CRYPTOGIG_API_KEY=sandbox-cryptogig-key" in text and "AUCTIONITY_BASE_URL=http://127.0.0.1:" in text
    assert all(code in text for code in SAMPLE_PURCHASE_CODES.values())
