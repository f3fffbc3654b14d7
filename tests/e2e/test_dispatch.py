"""The dispatcher against a real migrated database: order per chat, flood waits, blocked users, backoff, give-up."""

from __future__ import annotations

import asyncio
import io
import itertools
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from adapters.console import ConsoleAdapter
from bot.alerts.dispatch import Dispatcher, DispatchStats
from bot.core.errors import DeliveryFailed, RecipientGone, RetryLater
from bot.core.messages import Alert, Button, Reply
from bot.core.pacing import Pacing
from bot.core.payloads import encode_reply
from storage import outbox, users
from storage import watches as watch_rows
from storage.models import Notification, Watch

AUCTION = "0x" + "ab" * 32


class Clock:
    """The injectable clock: tests move time instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class FakeSender:
    """A platform adapter as the dispatcher sees it: records each send, or raises what ``fail`` returns.

    With a ``gate``, every send waits until the test opens it: tests wait on events, never on the clock.
    """

    def __init__(
        self, fail: Callable[[Alert], BaseException | None] | None = None, gate: asyncio.Event | None = None
    ) -> None:
        self.fail = fail
        self.gate = gate
        self.calls: list[Alert] = []
        self.sent: list[Alert] = []
        self.in_flight: dict[str, int] = {}
        self.most_in_flight_per_chat = 0
        self.most_in_flight = 0
        self._called = asyncio.Event()

    async def until_calls(self, count: int) -> None:
        """Wait until ``count`` sends have started."""
        while len(self.calls) < count:
            self._called.clear()
            await asyncio.wait_for(self._called.wait(), timeout=5)

    async def send(self, alert: Alert) -> None:
        self.calls.append(alert)
        self._called.set()
        self.in_flight[alert.chat_id] = self.in_flight.get(alert.chat_id, 0) + 1
        self.most_in_flight_per_chat = max(self.most_in_flight_per_chat, self.in_flight[alert.chat_id])
        self.most_in_flight = max(self.most_in_flight, sum(self.in_flight.values()))
        try:
            await asyncio.sleep(0)  # let the other sends in flight run, as a real send would
            if self.gate is not None:
                await self.gate.wait()
            error = self.fail(alert) if self.fail else None
            if error is not None:
                raise error
            self.sent.append(alert)
        finally:
            self.in_flight[alert.chat_id] -= 1

    def texts(self, chat_id: str | None = None) -> list[str]:
        return [a.reply.text for a in self.sent if chat_id is None or a.chat_id == chat_id]


@pytest.fixture
def clock() -> Clock:
    return Clock()


def enqueue(
    services: Any,
    clock: Clock,
    text: str,
    *,
    chat_id: str = "100",
    platform: str = "fake",
    chat_user_id: int | None = None,
    payload: str | None = None,
    delay: float = 0,
) -> None:
    with services.db.session() as session:
        outbox.enqueue_notification(
            session,
            dedupe_key=f"test:{platform}:{chat_id}:{text}",
            platform=platform,
            chat_id=chat_id,
            chat_user_id=chat_user_id,
            kind="outbid",
            payload=payload if payload is not None else encode_reply(Reply(text=text)),
            now=clock() + timedelta(seconds=delay),
        )


def stored(services: Any, text: str, *, chat_id: str = "100", platform: str = "fake") -> Notification:
    with services.db.session() as session:
        row = session.exec(
            select(Notification).where(Notification.dedupe_key == f"test:{platform}:{chat_id}:{text}")
        ).first()
    assert row is not None
    return row


def dispatcher(services: Any, clock: Clock, sender: Any, **options: Any) -> Dispatcher:
    return Dispatcher(services, {"fake": sender}, clock=clock, **options)


async def test_a_sent_alert_is_marked_and_never_sent_again(services, clock):
    with services.db.session() as session:
        alice = users.get_or_create_chat_user(session, platform="fake", platform_user_id="alice", now=datetime.now(UTC))
    enqueue(services, clock, "You were outbid", chat_user_id=alice.id)
    sender = FakeSender()
    dispatch = dispatcher(services, clock, sender)

    first = await dispatch.run_once()
    clock.advance(60)
    second = await dispatch.run_once()

    assert (first, second) == (DispatchStats(sent=1), DispatchStats())
    (alert,) = sender.calls
    assert (alert.platform, alert.chat_id, alert.user_id, alert.kind) == ("fake", "100", "alice", "outbid")
    assert alert.reply.text == "You were outbid"
    row = stored(services, "You were outbid")
    assert row.sent_at == clock.now - timedelta(seconds=60) and row.attempts == 1


async def test_one_chats_alerts_go_in_order_one_at_a_time_while_chats_interleave(services, clock):
    for n in range(5):
        for chat_id in ("100", "200", "300"):
            enqueue(services, clock, f"{chat_id}-{n}", chat_id=chat_id)
    sender = FakeSender()

    stats = await dispatcher(services, clock, sender).run_once()

    assert stats.sent == 15
    for chat_id in ("100", "200", "300"):
        assert sender.texts(chat_id) == [f"{chat_id}-{n}" for n in range(5)]
    assert sender.most_in_flight_per_chat == 1


async def test_different_chats_are_sent_concurrently(services, clock):
    enqueue(services, clock, "slow one", chat_id="100")
    enqueue(services, clock, "slow two", chat_id="200")
    gate = asyncio.Event()
    sender = FakeSender(gate=gate)
    running = asyncio.create_task(dispatcher(services, clock, sender).run_once())
    await sender.until_calls(2)  # both chats' sends are in flight before either finishes
    gate.set()
    assert (await running).sent == 2 and sender.most_in_flight == 2

    enqueue(services, clock, "slow three", chat_id="100")
    enqueue(services, clock, "slow four", chat_id="200")
    one_at_a_time = FakeSender()
    assert (await dispatcher(services, clock, one_at_a_time, concurrency=1).run_once()).sent == 2
    assert one_at_a_time.most_in_flight == 1


async def test_retry_later_holds_only_that_chat_and_its_alerts_go_in_order_after_retry_after(services, clock):
    for text in ("A1", "A2"):
        enqueue(services, clock, text, chat_id="100")
    for text in ("B1", "B2"):
        enqueue(services, clock, text, chat_id="200")
    flooded = []

    def flood_once(alert: Alert) -> BaseException | None:
        if alert.chat_id == "100" and not flooded:
            flooded.append(alert)
            return RetryLater("Too Many Requests", retry_after=30)
        return None

    sender = FakeSender(flood_once)
    dispatch = dispatcher(services, clock, sender)

    stats = await dispatch.run_once()
    assert stats == DispatchStats(sent=2, deferred=1)
    assert sender.texts() == ["B1", "B2"]
    for text in ("A1", "A2"):
        row = stored(services, text)
        assert (row.sent_at, row.attempts, row.next_attempt_at) == (None, 0, clock.now + timedelta(seconds=30))
    assert "retry after 30" in (stored(services, "A1").last_error or "")

    clock.advance(29)
    assert await dispatch.run_once() == DispatchStats()
    clock.advance(1)
    assert await dispatch.run_once() == DispatchStats(sent=2)
    assert sender.texts("100") == ["A1", "A2"]
    assert stored(services, "A1").attempts == 1  # the flood wait did not count as a failed attempt


async def test_a_global_flood_wait_pauses_the_whole_platform(services, clock):
    for chat_id in ("100", "200", "300"):
        enqueue(services, clock, "hello", chat_id=chat_id)

    def flood_first(alert: Alert) -> BaseException | None:
        if len(sender.calls) == 1:
            error = RetryLater("Too Many Requests", retry_after=5)
            error.scope = "global"  # type: ignore[attr-defined]
            return error
        return None

    sender = FakeSender(flood_first)
    dispatch = dispatcher(services, clock, sender, concurrency=1)

    assert await dispatch.run_once() == DispatchStats(deferred=1)
    assert len(sender.calls) == 1  # the other chats were not tried while the platform is paused
    clock.advance(4)
    assert await dispatch.run_once() == DispatchStats()
    clock.advance(1)
    assert await dispatch.run_once() == DispatchStats(sent=3)


async def test_two_flooded_chats_in_one_round_pause_the_platform(services, clock):
    for chat_id in ("100", "200", "300", "400"):
        enqueue(services, clock, "hello", chat_id=chat_id)
    sender = FakeSender(lambda alert: RetryLater(retry_after=2) if len(sender.calls) <= 2 else None)
    dispatch = dispatcher(services, clock, sender, concurrency=1)

    assert await dispatch.run_once() == DispatchStats(deferred=2)
    assert len(sender.calls) == 2
    clock.advance(2)
    assert (await dispatch.run_once()).sent == 4


async def test_a_user_who_blocked_the_bot_loses_their_watches_and_pending_alerts(services, clock):
    with services.db.session() as session:
        bob = users.get_or_create_chat_user(session, platform="fake", platform_user_id="bob", now=datetime.now(UTC))
        carol = users.get_or_create_chat_user(session, platform="fake", platform_user_id="carol", now=datetime.now(UTC))
        for user, chat_id in ((bob, "100"), (carol, "200")):
            assert user.id is not None
            watch_rows.add_watch(
                session,
                chat_user_id=user.id,
                auction_id=AUCTION,
                platform="fake",
                chat_id=chat_id,
                now=datetime.now(UTC),
            )
    enqueue(services, clock, "one", chat_id="100", chat_user_id=bob.id)
    enqueue(services, clock, "two", chat_id="100", chat_user_id=bob.id)
    enqueue(services, clock, "later", chat_id="100", chat_user_id=bob.id, delay=600)
    enqueue(services, clock, "for carol", chat_id="200", chat_user_id=carol.id)
    blocked = RecipientGone("Forbidden: bot was blocked by the user")
    sender = FakeSender(lambda alert: blocked if alert.chat_id == "100" else None)

    stats = await dispatcher(services, clock, sender).run_once()

    assert stats == DispatchStats(sent=1, gave_up=3, deactivated=1)
    assert [a.chat_id for a in sender.calls].count("100") == 1
    assert sender.texts() == ["for carol"]
    for text in ("one", "two", "later"):
        row = stored(services, text)
        assert row.gave_up and row.sent_at is None
        assert "blocked by the user" in (row.last_error or "")
    with services.db.session() as session:
        watches = {watch.chat_id: watch.active for watch in session.exec(select(Watch))}
    assert watches == {"100": False, "200": True}


async def test_delivery_failures_back_off_longer_each_time_then_give_up_with_the_error(services, clock):
    enqueue(services, clock, "doomed")
    sender = FakeSender(lambda alert: DeliveryFailed("Bad Gateway"))
    dispatch = dispatcher(services, clock, sender, max_attempts=4, rng=random.Random(7))
    delays = []

    for attempt in range(1, 5):
        stats = await dispatch.run_once()
        row = stored(services, "doomed")
        assert row.attempts == attempt
        if attempt < 4:
            assert stats == DispatchStats(failed=1)
            delays.append((row.next_attempt_at - clock.now).total_seconds())
            assert await dispatch.run_once() == DispatchStats()  # not before its time
            clock.now = row.next_attempt_at
        else:
            assert stats == DispatchStats(gave_up=1)

    assert delays == sorted(delays) and delays[0] < delays[-1]
    assert 2.5 <= delays[0] <= 5
    row = stored(services, "doomed")
    assert row.gave_up and row.sent_at is None and row.last_error == "DeliveryFailed: Bad Gateway"
    clock.advance(86400)
    assert await dispatch.run_once() == DispatchStats()
    assert len(sender.calls) == 4


async def test_an_unexpected_error_is_retried_recorded_without_secrets_and_blocks_no_other_chat(services, clock):
    api_key = services.settings.cryptogig_api_key.get_secret_value()
    enqueue(services, clock, "breaks", chat_id="100")
    enqueue(services, clock, "fine", chat_id="200")
    crash = RuntimeError(f"POST https://example.invalid/bot{api_key}/sendMessage\nfailed")
    sender = FakeSender(lambda alert: crash if alert.chat_id == "100" else None)

    stats = await dispatcher(services, clock, sender).run_once()

    assert stats == DispatchStats(sent=1, failed=1)
    assert sender.texts() == ["fine"]
    row = stored(services, "breaks")
    assert row.attempts == 1 and not row.gave_up and row.next_attempt_at > clock.now
    assert row.last_error is not None and row.last_error.startswith("RuntimeError: POST")
    assert api_key not in row.last_error and "\n" not in row.last_error


async def test_an_unreadable_payload_is_given_up_at_once_and_the_chat_goes_on(services, clock):
    enqueue(services, clock, "garbled", payload="{not json")
    enqueue(services, clock, "next")
    sender = FakeSender()

    stats = await dispatcher(services, clock, sender).run_once()

    assert stats == DispatchStats(sent=1, gave_up=1)
    assert sender.texts() == ["next"]
    row = stored(services, "garbled")
    assert row.gave_up and (row.last_error or "").startswith("unreadable payload")


async def test_alerts_for_a_platform_without_adapter_stay_queued_and_are_logged_once(services, clock, caplog):
    enqueue(services, clock, "for discord", platform="discord")
    enqueue(services, clock, "for fake")
    sender = FakeSender()
    dispatch = dispatcher(services, clock, sender)

    with caplog.at_level(logging.WARNING, logger="bot.alerts.dispatch"):
        first = await dispatch.run_once(limit=1)  # the discord row is older, yet does not fill the batch
        clock.advance(600)
        second = await dispatch.run_once(limit=1)

    assert (first, second) == (DispatchStats(sent=1), DispatchStats())
    row = stored(services, "for discord", platform="discord")
    assert (row.sent_at, row.attempts, row.gave_up, row.last_error) == (None, 0, False, None)
    assert [r.getMessage() for r in caplog.records if "discord" in r.getMessage()] == [
        "alerts for discord are waiting but no discord adapter is configured; they stay queued"
    ]


async def test_a_platform_budget_caps_the_send_rate(services, clock):
    for chat_id in ("1", "2", "3", "4", "5"):
        enqueue(services, clock, "hi", chat_id=chat_id)
    dispatch = dispatcher(services, clock, FakeSender(), pacing={"fake": Pacing(per_second=20)})

    started = time.perf_counter()
    assert (await dispatch.run_once()).sent == 5
    assert time.perf_counter() - started >= 0.18  # one every 50 ms after the first
    assert "discord" not in dispatch.budgets  # only the platforms it sends to


async def test_a_chats_sends_keep_the_platforms_chat_interval_apart(services, clock):
    for n in range(3):
        enqueue(services, clock, f"one-{n}", chat_id="100")
    enqueue(services, clock, "other", chat_id="200")
    sender = FakeSender()
    started_at: list[tuple[str, float]] = []
    real_send = sender.send

    async def timed_send(alert: Alert) -> None:
        started_at.append((alert.chat_id, time.perf_counter()))
        await real_send(alert)

    sender.send = timed_send  # type: ignore[method-assign]
    dispatch = dispatcher(services, clock, sender, pacing={"fake": Pacing(interval_for=lambda chat_id: 0.1)})

    assert (await dispatch.run_once()).sent == 4

    times = [at for chat_id, at in started_at if chat_id == "100"]
    assert all(later - earlier >= 0.095 for earlier, later in itertools.pairwise(times))
    assert started_at[1][0] == "200"  # the other chat did not wait behind chat 100's interval


async def test_stop_lets_the_send_in_flight_finish_and_leaves_the_rest_queued(services, clock):
    for n in range(3):
        enqueue(services, clock, f"m{n}")
    gate = asyncio.Event()
    sender = FakeSender(gate=gate)
    dispatch = dispatcher(services, clock, sender)

    running = asyncio.create_task(dispatch.run_once())
    await sender.until_calls(1)
    dispatch.stop()
    gate.set()
    stats = await running

    assert stats == DispatchStats(sent=1)
    assert stored(services, "m0").sent_at is not None
    assert stored(services, "m1").sent_at is None and stored(services, "m1").attempts == 0
    assert await dispatch.run_once() == DispatchStats()


async def test_a_second_round_while_one_runs_sends_nothing_twice(services, clock):
    enqueue(services, clock, "once")
    gate = asyncio.Event()
    sender = FakeSender(gate=gate)
    dispatch = dispatcher(services, clock, sender)

    first_round = asyncio.create_task(dispatch.run_once())
    await sender.until_calls(1)  # the first round is sending
    second = await dispatch.run_once()
    gate.set()
    first = await first_round

    assert (first.sent, second.sent) == (1, 0)
    assert len(sender.calls) == 1


async def test_a_sent_alert_whose_mark_failed_is_marked_later_not_sent_again(services, clock, monkeypatch):
    enqueue(services, clock, "once")
    real_mark = outbox.mark_notification_sent
    failures = []

    def flaky_mark(session: Any, **kwargs: Any) -> bool:
        if not failures:
            failures.append(kwargs)
            raise RuntimeError("database is locked")
        return real_mark(session, **kwargs)

    monkeypatch.setattr(outbox, "mark_notification_sent", flaky_mark)
    sender = FakeSender()
    dispatch = dispatcher(services, clock, sender)

    assert (await dispatch.run_once()).sent == 1
    assert stored(services, "once").sent_at is None
    clock.advance(5)
    assert await dispatch.run_once() == DispatchStats()
    assert len(sender.calls) == 1
    assert stored(services, "once").sent_at == clock.now - timedelta(seconds=5)


async def test_an_alert_reaches_the_console_exactly_once(services, core, clock):
    out = io.StringIO()
    console = ConsoleAdapter(core, stdin=io.StringIO(), stdout=out)
    reply = Reply(
        title="You were outbid on Old lamp", text="New price: 150", buttons=((Button("Unwatch", "unwatch 1"),),)
    )
    with services.db.session() as session:
        outbox.enqueue_notification(
            session,
            dedupe_key=f"outbid:{AUCTION}:1:local",
            platform="console",
            chat_id="local",
            chat_user_id=None,
            kind="outbid",
            payload=encode_reply(reply),
            now=clock(),
        )
    dispatch = Dispatcher(services, {"console": console}, clock=clock)

    assert (await dispatch.run_once()).sent == 1
    clock.advance(60)
    assert (await dispatch.run_once()).sent == 0

    printed = out.getvalue()
    assert printed.count("You were outbid on Old lamp") == 1
    assert "🔔" in printed and "New price: 150" in printed and "[1.1] Unwatch" in printed
