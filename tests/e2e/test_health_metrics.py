"""/healthz and /metrics over real HTTP on loopback, with real services against the sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.alerts.dispatch import Dispatcher
from bot.alerts.poller import Poller
from bot.core.messages import Reply
from bot.core.payloads import encode_reply
from bot.wiring.health import serve_health
from storage import outbox, users, watches
from storage.db import Database, create_db_engine

ROOT = Path(__file__).resolve().parents[2]
# Shorter than the client's wait below and far shorter than PostgreSQL's 5 s connect timeout: an answer
# in time can only come from the health check's own bound.
HEALTH_TIMEOUT = 0.3
CLIENT_TIMEOUT = 3.0

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def health_server(services: Any, settings_factory: Any, **options: Any) -> AsyncIterator[httpx.AsyncClient]:
    """serve_health as `gavel run` starts it (METRICS_PORT set), and an HTTP client pointed at it."""
    settings = settings_factory(metrics_port=_free_port())
    async with (
        serve_health(services, settings, **options) as url,
        httpx.AsyncClient(base_url=url, timeout=CLIENT_TIMEOUT) as client,
    ):
        yield client


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def increase(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@contextlib.contextmanager
def database_at(address: tuple[str, int]) -> Iterator[Database]:
    """A Database whose PostgreSQL is ``address`` on loopback (closed, or never answering)."""
    engine = create_db_engine(f"postgresql://gavel:secret@{address[0]}:{address[1]}/gavel")
    database = Database(engine)
    try:
        yield database
    finally:
        database.close()
        engine.dispose()


async def test_a_command_and_its_upstream_calls_are_counted_and_healthz_says_ok(services, chat, settings_factory):
    async with health_server(services, settings_factory) as client:
        before = await scrape(client)
        reply = await chat.say("/items")
        after = await scrape(client)
        health = await client.get("/healthz")

    assert reply.title.startswith("Items (page 1 of")
    assert increase(before, after, "gavel_commands_total", command="items", outcome="ok") == 1
    assert increase(before, after, "gavel_command_duration_seconds_count", command="items") == 1
    assert increase(before, after, "gavel_upstream_requests_total", upstream="CryptoGig", status="2xx") >= 1
    assert (health.status_code, health.json()) == (200, {"status": "ok", "database": "ok"})


async def test_an_unknown_item_counts_as_refused_not_as_an_upstream_error(services, chat, settings_factory):
    async with health_server(services, settings_factory) as client:
        before = await scrape(client)
        reply = await chat.say("/item 424242")
        after = await scrape(client)

    assert "no item with that id" in reply.text
    assert increase(before, after, "gavel_commands_total", command="item", outcome="refused") == 1
    assert increase(before, after, "gavel_commands_total", command="item", outcome="upstream_error") == 0
    assert increase(before, after, "gavel_upstream_requests_total", upstream="CryptoGig", status="4xx") == 1


async def test_an_upstream_outage_counts_as_upstream_error_with_its_5xx_answers(
    services, chat, settings_factory, cryptogig_sandbox
):
    cryptogig_sandbox.faults.set(status=503)
    async with health_server(services, settings_factory) as client:
        before = await scrape(client)
        await chat.say("/items")
        after = await scrape(client)

    assert increase(before, after, "gavel_commands_total", command="items", outcome="upstream_error") == 1
    assert increase(before, after, "gavel_upstream_requests_total", upstream="CryptoGig", status="5xx") >= 1


async def test_sends_are_counted_by_platform_and_outcome_and_the_due_backlog_is_reported(services, settings_factory):
    now = services.now()
    with services.db.session() as session:
        for platform, text in (("fake", "sent"), ("fake", "also sent"), ("flaky", "fails")):
            outbox.enqueue_notification(
                session,
                dedupe_key=f"metrics:{platform}:{text}",
                platform=platform,
                chat_id="100",
                chat_user_id=None,
                kind="outbid",
                payload=encode_reply(Reply(text=text)),
                now=now,
            )

    class Sender:
        def __init__(self, error: Exception | None = None) -> None:
            self.error = error

        async def send(self, alert: Any) -> None:
            if self.error is not None:
                raise self.error

    async with health_server(services, settings_factory) as client:
        before = await scrape(client)
        await Dispatcher(services, {"fake": Sender(), "flaky": Sender(RuntimeError("down"))}).run_once()
        after = await scrape(client)

    assert value(before, "gavel_outbox_due") == 3
    assert increase(before, after, "gavel_alerts_total", platform="fake", outcome="sent") == 2
    assert increase(before, after, "gavel_alerts_total", platform="flaky", outcome="failed") == 1
    assert value(after, "gavel_outbox_due") == 0  # the failed one waits for its backoff: not due now


async def test_a_poll_is_timed_and_its_auctions_counted(services, auctionity_sandbox, settings_factory):
    auction_ids = auctionity_sandbox.data.bulk_create(3)
    with services.db.session() as session:
        watcher = users.get_or_create_chat_user(session, platform="console", platform_user_id="w", now=services.now())
        for auction_id in auction_ids:
            watches.add_watch(
                session,
                chat_user_id=watcher.id,
                auction_id=auction_id,
                platform="console",
                chat_id="w",
                now=services.now(),
            )

    async with health_server(services, settings_factory) as client:
        before = await scrape(client)
        stats = await Poller(services).poll_once()
        after = await scrape(client)

    assert stats.auctions == 3
    assert increase(before, after, "gavel_poll_duration_seconds_count") == 1
    assert increase(before, after, "gavel_auctions_polled_total") == 3
    assert increase(before, after, "gavel_upstream_requests_total", upstream="Auctionity", status="2xx") >= 1


async def test_an_unreachable_database_gives_503_and_metrics_still_answer(services, settings_factory):
    with database_at(("127.0.0.1", _free_port())) as closed:  # nothing listens there: connections are refused
        down = replace(services, db=closed)
        async with health_server(down, settings_factory, check_timeout=HEALTH_TIMEOUT) as client:
            health = await client.get("/healthz")
            samples = await scrape(client)

    assert (health.status_code, health.json()) == (503, {"status": "unavailable", "database": "unreachable"})
    backlog = value(samples, "gavel_outbox_due")
    assert backlog != backlog, "an unread backlog is NaN, not a stale number"


async def test_a_database_that_never_answers_gives_503_within_the_timeout(services, settings_factory):
    # Accepts connections (the kernel does, into the backlog) and never says a word: a hung database.
    silent = socket.create_server(("127.0.0.1", 0))
    try:
        with database_at(silent.getsockname()) as hung:
            async with health_server(
                replace(services, db=hung), settings_factory, check_timeout=HEALTH_TIMEOUT
            ) as client:
                health = await client.get("/healthz")  # CLIENT_TIMEOUT: a hang fails here
            silent.close()  # resets the waiting connection, so the database thread ends now
    finally:
        silent.close()

    assert (health.status_code, health.json()["database"]) == (503, "unreachable")


def _image_healthcheck() -> list[str]:
    """The Dockerfile's HEALTHCHECK command, run with this interpreter as the image's `python`."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    (line,) = [line for line in text.splitlines() if line.startswith("HEALTHCHECK ")]
    command = json.loads(line.split(" CMD ", 1)[1])
    assert command[0] == "python"
    return [sys.executable, *command[1:]]


async def _run_healthcheck(metrics_port: str | None) -> int:
    env = {key: value for key, value in os.environ.items() if key != "METRICS_PORT"}
    if metrics_port is not None:
        env["METRICS_PORT"] = metrics_port
    # A subprocess the loop awaits: the server it asks runs in this same loop.
    process = await asyncio.create_subprocess_exec(
        *_image_healthcheck(), env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    return await asyncio.wait_for(process.wait(), timeout=30)


async def test_the_image_health_check_passes_when_healthy_and_fails_when_the_database_is_down(
    services, settings_factory
):
    assert await _run_healthcheck(None) == 0, "without METRICS_PORT there is nothing to check"
    async with health_server(services, settings_factory) as client:
        assert await _run_healthcheck(str(client.base_url.port)) == 0
    with database_at(("127.0.0.1", _free_port())) as closed:
        async with health_server(
            replace(services, db=closed), settings_factory, check_timeout=HEALTH_TIMEOUT
        ) as client:
            assert await _run_healthcheck(str(client.base_url.port)) != 0


@pytest.mark.parametrize("port", ["0", "65536", "http"])
def test_metrics_port_must_be_a_port(settings_factory, port):
    from bot.core.config import SettingsError

    with pytest.raises(SettingsError, match="METRICS_PORT"):
        settings_factory(metrics_port=port)


def test_metrics_port_left_blank_serves_nothing(settings_factory):
    assert settings_factory(metrics_port="").metrics_port is None
