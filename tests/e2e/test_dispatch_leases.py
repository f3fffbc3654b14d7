"""Outbox leases: dispatchers in several processes on one database send each alert once, each chat in order.

Each process is an ``open_services`` of its own on the test database (SQLite, or PostgreSQL when
GAVEL_TEST_DATABASE_URL names one, where the row locks are real); time is the injected clock.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from bot.alerts.dispatch import LEASE, SEND_MARGIN, DispatchStats
from bot.core.errors import DeliveryFailed
from bot.wiring.dependencies import open_services
from storage import outbox
from storage.models import Notification
from tests.e2e.test_dispatch import Clock, FakeSender, dispatcher, enqueue, stored


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def other_services(settings: Any):
    """A second process on the same database."""
    async with open_services(settings) as built:
        yield built


async def test_two_processes_send_every_row_exactly_once_and_each_chat_in_order(services, other_services, clock):
    chats = [str(100 + c) for c in range(40)]
    for n in range(5):
        for chat_id in chats:
            enqueue(services, clock, f"{chat_id}-{n}", chat_id=chat_id)
    with services.db.session() as session:
        row_ids = {n.dedupe_key: n.id for n in session.exec(select(Notification))}
    assert len(row_ids) == 200
    sender = FakeSender()  # the platform both processes send to: it sees every send, and each chat's in flight
    sent_by: Counter[str] = Counter()

    async def rounds(name: str, services: Any) -> None:
        dispatch = dispatcher(services, clock, sender)
        while len(sender.sent) < len(row_ids):
            # Small rounds: chats are cut short by the limit, and the two processes' rounds overlap.
            sent_by[name] += (await dispatch.run_once(limit=7)).sent

    await asyncio.wait_for(asyncio.gather(rounds("one", services), rounds("other", other_services)), timeout=60)

    sends_per_row = Counter(row_ids[alert.extra["dedupe_key"]] for alert in sender.calls)
    assert sends_per_row == Counter(set(row_ids.values()))  # every row, each exactly once
    for chat_id in chats:
        assert sender.texts(chat_id) == [f"{chat_id}-{n}" for n in range(5)]
    assert sender.most_in_flight_per_chat == 1  # never two sends to one chat at once, across the processes
    assert sent_by["one"] > 0 and sent_by["other"] > 0 and sent_by.total() == 200
    with services.db.session() as session:
        assert outbox.count_due_notifications(session, now=clock() + timedelta(days=365)) == 0


async def test_rows_leased_by_a_process_that_died_wait_for_their_lease_then_go_out_in_order(services, settings, clock):
    for n in range(3):
        enqueue(services, clock, f"held-{n}", chat_id="100")
    async with open_services(settings) as doomed:
        with doomed.db.session() as session:
            taken = outbox.lease_due_notifications(
                session, now=clock(), until=clock() + LEASE, platforms=["fake"], limit=2
            )
        assert [n.dedupe_key for n in taken] == ["test:fake:100:held-0", "test:fake:100:held-1"]
    # ...and that process is gone without sending them.
    enqueue(services, clock, "newer", chat_id="100")
    enqueue(services, clock, "elsewhere", chat_id="200")
    sender = FakeSender()
    survivor = dispatcher(services, clock, sender)

    assert await survivor.run_once() == DispatchStats(sent=1)
    assert sender.texts() == ["elsewhere"]  # chat 100 is held: not even its rows the dead process did not take
    clock.advance((LEASE - timedelta(seconds=1)).total_seconds())
    assert await survivor.run_once() == DispatchStats()
    clock.advance(1)
    assert await survivor.run_once() == DispatchStats(sent=4)
    assert sender.texts("100") == ["held-0", "held-1", "held-2", "newer"]
    assert await survivor.run_once() == DispatchStats()


async def test_a_stopping_process_hands_back_what_it_did_not_send_and_another_sends_it_at_once(
    services, other_services, clock
):
    for n in range(3):
        enqueue(services, clock, f"m{n}")
    gate = asyncio.Event()
    stopping_sender = FakeSender(gate=gate)
    stopping = dispatcher(services, clock, stopping_sender)
    taker_sender = FakeSender()
    taker = dispatcher(other_services, clock, taker_sender)

    running = asyncio.create_task(stopping.run_once())
    await stopping_sender.until_calls(1)
    assert await taker.run_once() == DispatchStats()  # the chat is held while its first alert is in flight
    stopping.stop()
    gate.set()
    assert await running == DispatchStats(sent=1)

    assert await taker.run_once() == DispatchStats(sent=2)  # no wait for the lease: the rest was handed back
    assert stopping_sender.texts() == ["m0"] and taker_sender.texts() == ["m1", "m2"]


async def test_after_a_failed_send_the_chats_later_rows_are_handed_back_and_the_failed_one_backs_off(
    services, other_services, clock
):
    for n in range(3):
        enqueue(services, clock, f"m{n}")
    failing = FakeSender(lambda alert: DeliveryFailed("Bad Gateway"))

    assert await dispatcher(services, clock, failing).run_once() == DispatchStats(failed=1)
    taker = FakeSender()
    assert await dispatcher(other_services, clock, taker).run_once() == DispatchStats(sent=2)
    assert taker.texts() == ["m1", "m2"]
    row = stored(services, "m0")
    assert row.leased_until is None and row.attempts == 1 and row.next_attempt_at > clock.now


async def test_a_chain_that_would_outlast_its_lease_stops_and_goes_back_in_order(services, clock):
    for n in range(3):
        enqueue(services, clock, f"slow-{n}")

    def first_send_takes_long(alert: Any) -> None:
        if len(sender.calls) == 1:
            clock.advance(SEND_MARGIN.total_seconds())  # past the last moment this round may start a send

    sender = FakeSender(first_send_takes_long)
    dispatch = dispatcher(services, clock, sender)

    assert await dispatch.run_once() == DispatchStats(sent=1)
    assert stored(services, "slow-1").leased_until is None  # handed back, not held until the lease ends
    assert await dispatch.run_once() == DispatchStats(sent=2)
    assert sender.texts() == ["slow-0", "slow-1", "slow-2"]


async def test_a_chat_whose_older_row_another_transaction_has_locked_is_not_taken(services, clock):
    if services.engine.dialect.name != "postgresql":
        pytest.skip("row locks: on SQLite one transaction writes at a time, so two leases never overlap")
    enqueue(services, clock, "older", chat_id="100")
    enqueue(services, clock, "newer", chat_id="100")
    enqueue(services, clock, "elsewhere", chat_id="200")
    older = stored(services, "older", chat_id="100")

    with Session(services.engine) as other_process:
        # Another process's lease, between its SELECT ... FOR UPDATE and its commit.
        other_process.exec(select(Notification).where(Notification.id == older.id).with_for_update())
        with services.db.session() as session:
            taken = outbox.lease_due_notifications(
                session, now=clock(), until=clock() + LEASE, platforms=["fake"], limit=10
            )
        other_process.rollback()

    assert [n.dedupe_key for n in taken] == ["test:fake:200:elsewhere"]  # not chat 100's newer row ahead of its older
