"""The dispatcher: sends due outbox rows through the platform adapters, in order per chat, within platform limits.

One round (``Dispatcher.run_once``, called by the scheduler about every second):

- take the due, unsent rows of the platforms that have an adapter and are not paused;
- group them per chat; a chat's rows go one at a time, oldest first, at least the platform's chat
  interval apart, while up to ``concurrency`` sends to different chats are in flight;
- before each send, wait for the platform's budget (an aiolimiter bucket), if it has one;
- after a send, mark the row sent in its own short transaction at once: the gap between the two
  is the only place a crash can make an alert go out twice.

What a failed send does:

    RetryLater      the chat (and all its pending rows, in order) waits retry_after seconds; not an
                    attempt unless a row keeps hitting it; two flooded chats in a round, or an error
                    saying the limit is global, pause the whole platform
    RecipientGone   the chat's watches are deactivated and its pending rows given up
    anything else   exponential backoff with jitter; given up after ``max_attempts``
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import random
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from aiolimiter import AsyncLimiter
from sqlmodel import Session

from bot.errors import GavelError, RecipientGone, RetryLater
from bot.logs import RedactingFilter
from bot.messages import Alert, reply_from_json
from bot.services import Services
from storage import outbox, users
from storage import watches as watch_rows
from storage.models import Notification

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 900.0
# A bogus or hostile retry_after must not park a row for days.
MAX_RETRY_AFTER_SECONDS = 3600.0
# Flood waits are the platform pacing us, not a failure; past this many for one row they count as attempts,
# so a row that can never get through still ends.
FREE_FLOOD_WAITS = 10
# Two chats of one platform flooded in the same round means the platform-wide limit, not a per-chat one.
CHATS_FLOODED_FOR_PLATFORM_PAUSE = 2
ERROR_TEXT_MAX = 200
UNROUTED_CHECK_INTERVAL = timedelta(minutes=5)
GLOBAL_SCOPES = ("global", "platform", "bot")


class Sender(Protocol):
    """What the dispatcher needs of an adapter."""

    async def send(self, alert: Alert) -> None: ...


def default_budgets() -> dict[str, AsyncLimiter]:
    """Platform-wide send budgets the dispatcher applies itself, whatever the adapter does.

    An aiolimiter bucket admits its whole capacity at once and then refills at its rate, so in any
    window of one period it can let through capacity + rate: AsyncLimiter(30, 1) allows ~59 messages
    in the first second. Telegram counts "30 a second" over any second, so its bucket holds one token
    and refills at 29/s (one token short of the limit, for timing jitter). Discord allows a bot 50
    requests a second overall; its per-route buckets are the adapter's (discord.py keeps them).
    """
    return {"telegram": AsyncLimiter(1, 1 / 29), "discord": AsyncLimiter(50, 1)}


# Seconds between the starts of two sends to one chat. Telegram: one message a second per chat (a little
# slack so network jitter cannot squeeze two into one second; groups' 20 a minute the adapter paces).
DEFAULT_CHAT_INTERVALS: dict[str, float] = {"telegram": 1.05}


@dataclass
class DispatchStats:
    """What one round did."""

    sent: int = 0
    failed: int = 0  # failed sends that will be retried after a backoff
    gave_up: int = 0  # rows abandoned: attempts used up, recipient gone, unreadable payload
    deactivated: int = 0  # watches switched off because their chat blocked the bot
    deferred: int = 0  # sends the platform asked us to retry later (flood control)

    @property
    def total(self) -> int:
        return self.sent + self.failed + self.gave_up + self.deferred


@dataclass(frozen=True)
class _Row:
    """The part of an outbox row a send needs, copied out so no session is held across an await."""

    id: int
    platform: str
    chat_id: str
    user_id: str
    kind: str
    payload: str
    attempts: int
    dedupe_key: str = ""
    chat_user_id: int | None = None

    @property
    def chat(self) -> tuple[str, str]:
        return self.platform, self.chat_id


@dataclass
class _Round:
    stats: DispatchStats
    flooded_chats: dict[str, set[str]] = field(default_factory=dict)


class Dispatcher:
    """Sends the outbox through ``adapters`` (platform name -> Sender); one instance for the process."""

    def __init__(
        self,
        services: Services,
        adapters: Mapping[str, Sender],
        *,
        max_attempts: int = 8,
        concurrency: int = 32,
        clock: Callable[[], datetime] | None = None,
        budgets: Mapping[str, AsyncLimiter | None] | None = None,
        chat_intervals: Mapping[str, float] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts < 1 or concurrency < 1:
            raise ValueError("max_attempts and concurrency must be at least 1")
        self.services = services
        self.adapters = dict(adapters)
        self.max_attempts = max_attempts
        self.concurrency = concurrency
        self._now = clock or services.now
        # Given budgets replace the default of the same platform; None removes it.
        merged: dict[str, AsyncLimiter | None] = {**default_budgets(), **(budgets or {})}
        self.budgets = {platform: limiter for platform, limiter in merged.items() if limiter is not None}
        intervals = {**DEFAULT_CHAT_INTERVALS, **(chat_intervals or {})}
        self.chat_intervals = {platform: seconds for platform, seconds in intervals.items() if seconds > 0}
        # Event-loop time (not the injectable clock: this is real pacing) before which a chat gets nothing.
        self._chat_ready_at: dict[tuple[str, str], float] = {}
        self._rng = rng or random.Random()
        self._redactor = RedactingFilter(services.settings.secrets())
        self._running = asyncio.Lock()
        self._paused_until: dict[str, datetime] = {}
        self._flood_waits: dict[int, int] = {}
        # Sent, but the mark failed (database hiccup): marked again next round instead of being sent twice.
        self._unmarked: dict[int, datetime] = {}
        self._unrouted_logged: set[str] = set()
        self._unrouted_checked_at: datetime | None = None
        self._stopping = False

    # --- the round --------------------------------------------------------------------------------

    async def run_once(self, limit: int = 500) -> DispatchStats:
        """Send what is due now (at most ``limit`` rows); returns what happened."""
        stats = DispatchStats()
        if self._stopping or self._running.locked():
            # A round is still going (a slow platform): a second one would send its rows twice.
            return stats
        async with self._running:
            now = self._now()
            await self._mark_unmarked()
            await self._log_unrouted(now)
            platforms = [p for p in self.adapters if not self._paused(p, now)]
            rows = await self._due_rows(now, platforms, limit)
            if not rows:
                return stats
            round_ = _Round(stats)
            slots = _Slots(self.concurrency)
            try:
                async with asyncio.TaskGroup() as group:
                    for order, chat_rows in enumerate(_by_chat(rows)):
                        group.create_task(self._deliver_chat(chat_rows, order, slots, round_))
            finally:
                self._forget_idle_chats()
        return stats

    def stop(self) -> None:
        """Start no new sends (shutdown): the ones in flight finish and are marked; the rest stay queued."""
        self._stopping = True

    async def _due_rows(self, now: datetime, platforms: list[str], limit: int) -> list[_Row]:
        if not platforms:
            return []

        def read(session: Session) -> tuple[list[Notification], dict[int, str]]:
            found = outbox.due_notifications(session, now=now, platforms=platforms, limit=limit)
            ids = users.platform_user_ids(
                session, chat_user_ids={n.chat_user_id for n in found if n.chat_user_id is not None}
            )
            return found, ids

        found, user_ids = await self.services.db.run(read)
        return [_row(n, user_ids) for n in found if n.id is not None and n.id not in self._unmarked]

    async def _deliver_chat(self, rows: list[_Row], order: int, slots: _Slots, round_: _Round) -> None:
        """One chat's rows, oldest first, one at a time; the first failure ends the chat's turn this round."""
        for index, row in enumerate(rows):
            # Waiting out the chat's interval holds no slot: the slots bound sends in flight, not sleepers.
            await self._wait_for_chat(row)
            # The chat with the most rows left goes first: a long one-a-second chain started last is
            # what a round would otherwise end up waiting for.
            async with slots.slot((index - len(rows), order)):
                if self._stopping or self._paused(row.platform, self._now()):
                    return  # the rows stay due: for the next process, or once the platform's pause is over
                try:
                    carry_on = await self._deliver(row, round_)
                except Exception:
                    # Recording an outcome failed (the database): the row stays due and is tried again;
                    # the other chats' sends are not cut short, which could make them go out twice.
                    log.exception("notification %s: could not record the outcome of its send", row.id)
                    return
            if not carry_on:
                return

    async def _deliver(self, row: _Row, round_: _Round) -> bool:
        """Send one row and record the outcome; True if the chat may go on to its next row."""
        stats = round_.stats
        try:
            alert = Alert(
                row.platform,
                row.chat_id,
                row.user_id,
                reply_from_json(row.payload),
                row.kind,
                extra={"dedupe_key": row.dedupe_key},
            )
        except Exception as error:  # retrying cannot fix a payload we cannot read
            await self._give_up(row, f"unreadable payload: {self._describe(error)}")
            stats.gave_up += 1
            return True
        budget = self.budgets.get(row.platform)
        if budget is not None:
            await budget.acquire()
        interval = self.chat_intervals.get(row.platform)
        if interval:
            # Counted from now, after the budget wait, so a long wait there cannot bring two sends closer.
            self._chat_ready_at[row.chat] = asyncio.get_running_loop().time() + interval
        try:
            await self.adapters[row.platform].send(alert)
        except RetryLater as error:
            await self._flood_wait(row, error, round_)
            return False
        except RecipientGone as error:
            await self._recipient_gone(row, error, stats)
            return not error.whole_chat  # the others in that chat can still be reached
        except Exception as error:  # every adapter failure is retried; one bad row never stops the others
            await self._failed(row, error, stats)
            return False
        # Shielded: once the platform took the alert, the mark must happen even if the round is cancelled.
        await asyncio.shield(self._mark_sent(row.id, self._now()))
        self._flood_waits.pop(row.id, None)
        stats.sent += 1
        return True

    # --- outcomes ---------------------------------------------------------------------------------

    async def _mark_sent(self, notification_id: int, at: datetime) -> None:
        try:
            # The mark runs on a database thread, which finishes it even if this task is cancelled now.
            await self.services.db.run(
                lambda s: outbox.mark_notification_sent(s, notification_id=notification_id, at=at)
            )
        except Exception:
            log.exception(
                "notification %s was sent but could not be marked; marking it again next round", notification_id
            )
            self._unmarked[notification_id] = at
        else:
            self._unmarked.pop(notification_id, None)

    async def _mark_unmarked(self) -> None:
        for notification_id, at in list(self._unmarked.items()):
            await self._mark_sent(notification_id, at)

    async def _flood_wait(self, row: _Row, error: RetryLater, round_: _Round) -> None:
        now = self._now()
        wait = min(max(float(error.retry_after or 0), 0.0), MAX_RETRY_AFTER_SECONDS)
        until = now + timedelta(seconds=wait)
        waits = self._flood_waits[row.id] = self._flood_waits.get(row.id, 0) + 1
        reason = f"flood control: retry after {wait:g} s"
        give_up = waits > FREE_FLOOD_WAITS and row.attempts + 1 >= self.max_attempts

        def defer(session: Session) -> None:
            if waits > FREE_FLOOD_WAITS:
                outbox.mark_notification_failed(
                    session, notification_id=row.id, error=reason, next_attempt_at=until, give_up=give_up
                )
            else:
                outbox.defer_notification(session, notification_id=row.id, until=until, error=reason)
            # The chat's later rows wait too, so they cannot overtake this one.
            outbox.defer_chat_notifications(session, platform=row.platform, chat_id=row.chat_id, until=until)

        await self.services.db.run(defer)
        if give_up:
            self._flood_waits.pop(row.id, None)
            round_.stats.gave_up += 1
            log.warning("notification %s (%s) given up after %d flood waits", row.id, row.kind, waits)
        else:
            round_.stats.deferred += 1
            log.info("notification %s (%s): %s", row.id, row.platform, reason)
        flooded = round_.flooded_chats.setdefault(row.platform, set())
        flooded.add(row.chat_id)
        scope = str(getattr(error, "scope", "") or "").lower()
        platform_wide = scope in GLOBAL_SCOPES or len(flooded) >= CHATS_FLOODED_FOR_PLATFORM_PAUSE
        if platform_wide and self._paused_until.get(row.platform, now) < until:
            log.warning("%s flood limit reached: pausing its alerts for %g s", row.platform, wait)
            self._paused_until[row.platform] = until

    async def _recipient_gone(self, row: _Row, error: RecipientGone, stats: DispatchStats) -> None:
        reason = f"recipient gone: {self._describe(error)}"
        # One unreachable user on a shared channel must not silence the others there.
        only = None if error.whole_chat else row.chat_user_id
        now = self._now()

        def stop(session: Session) -> tuple[int, int]:
            outbox.mark_notification_failed(
                session, notification_id=row.id, error=reason, next_attempt_at=now, give_up=True
            )
            dropped = outbox.give_up_chat_notifications(
                session, platform=row.platform, chat_id=row.chat_id, error=reason, chat_user_id=only
            )
            stopped = watch_rows.deactivate_watches_for_chat(
                session, platform=row.platform, chat_id=row.chat_id, chat_user_id=only
            )
            return dropped, stopped

        dropped, watches = await self.services.db.run(stop)
        self._flood_waits.pop(row.id, None)
        stats.gave_up += 1 + dropped
        stats.deactivated += watches
        log.info(
            "notification %s: %s recipient gone; %d watch(es) deactivated, %d more alert(s) dropped",
            row.id,
            row.platform,
            watches,
            dropped,
        )

    async def _failed(self, row: _Row, error: Exception, stats: DispatchStats) -> None:
        attempts = row.attempts + 1
        give_up = attempts >= self.max_attempts
        reason = self._describe(error)
        retry_at = self._now() + timedelta(seconds=self.backoff_seconds(attempts))
        await self.services.db.run(
            lambda s: outbox.mark_notification_failed(
                s, notification_id=row.id, error=reason, next_attempt_at=retry_at, give_up=give_up
            )
        )
        if give_up:
            self._flood_waits.pop(row.id, None)
            stats.gave_up += 1
            log.warning(
                "notification %s (%s, %s) given up after %d attempts: %s",
                row.id,
                row.platform,
                row.kind,
                attempts,
                reason,
            )
        else:
            stats.failed += 1
            log.warning(
                "notification %s (%s, %s) failed, attempt %d of %d: %s",
                row.id,
                row.platform,
                row.kind,
                attempts,
                self.max_attempts,
                reason,
            )

    async def _give_up(self, row: _Row, reason: str) -> None:
        now = self._now()
        await self.services.db.run(
            lambda s: outbox.mark_notification_failed(
                s, notification_id=row.id, error=reason, next_attempt_at=now, give_up=True
            )
        )
        log.warning("notification %s (%s) given up: %s", row.id, row.kind, reason)

    # --- helpers ----------------------------------------------------------------------------------

    def backoff_seconds(self, attempts: int) -> float:
        """Delay before the next try after ``attempts`` failures: doubling, capped, with "equal jitter".

        Half the delay is fixed and half random, so delays still grow from one attempt to the next
        while rows that failed together (an outage) spread out instead of retrying in one burst.
        """
        ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    async def _wait_for_chat(self, row: _Row) -> None:
        ready_at = self._chat_ready_at.get(row.chat)
        if ready_at is not None:
            delay = ready_at - asyncio.get_running_loop().time()
            if delay > 0:
                await asyncio.sleep(delay)

    def _forget_idle_chats(self) -> None:
        now = asyncio.get_running_loop().time()
        self._chat_ready_at = {chat: at for chat, at in self._chat_ready_at.items() if at > now}

    def _paused(self, platform: str, now: datetime) -> bool:
        until = self._paused_until.get(platform)
        if until is None:
            return False
        if until <= now:
            del self._paused_until[platform]
            return False
        return True

    def _describe(self, error: BaseException) -> str:
        """A short, single-line, secret-free account of an error for last_error and the log."""
        message = error.message if isinstance(error, GavelError) else str(error)
        text = f"{type(error).__name__}: {message}" if message else type(error).__name__
        text = self._redactor.redact(" ".join(text.split()))
        return text[:ERROR_TEXT_MAX]

    async def _log_unrouted(self, now: datetime) -> None:
        """Say once per platform that alerts wait for an adapter that is not configured (they stay queued)."""
        checked = self._unrouted_checked_at
        if checked is not None and now - checked < UNROUTED_CHECK_INTERVAL:
            return
        self._unrouted_checked_at = now
        waiting = await self.services.db.run(lambda s: outbox.platforms_with_due_notifications(s, now=now))
        for platform in sorted(waiting - set(self.adapters) - self._unrouted_logged):
            self._unrouted_logged.add(platform)
            log.warning(
                "alerts for %s are waiting but no %s adapter is configured; they stay queued", platform, platform
            )


class _Slots:
    """At most ``size`` holders at a time; waiters are let in lowest priority value first, then by arrival."""

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiting: list[tuple[tuple[int, int], int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    @contextlib.asynccontextmanager
    async def slot(self, priority: tuple[int, int]) -> AsyncIterator[None]:
        if self._free > 0 and not self._waiting:
            self._free -= 1
        else:
            granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            heapq.heappush(self._waiting, (priority, next(self._arrivals), granted))
            try:
                await granted
            except asyncio.CancelledError:
                if granted.done() and not granted.cancelled():
                    self._release()  # handed a slot just as we were cancelled: pass it on
                raise
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        while self._waiting:
            _, _, granted = heapq.heappop(self._waiting)
            if not granted.done():  # a cancelled waiter's future is done already
                granted.set_result(None)
                return
        self._free += 1


def _row(notification: Notification, user_ids: Mapping[int, str]) -> _Row:
    assert notification.id is not None
    user_id = user_ids.get(notification.chat_user_id) if notification.chat_user_id is not None else None
    return _Row(
        id=notification.id,
        platform=notification.platform,
        chat_id=notification.chat_id,
        user_id=user_id or notification.chat_id,
        kind=notification.kind,
        payload=notification.payload,
        attempts=notification.attempts,
        dedupe_key=notification.dedupe_key,
        chat_user_id=notification.chat_user_id,
    )


def _by_chat(rows: Iterable[_Row]) -> list[list[_Row]]:
    """Rows grouped per chat, each chat's oldest first; chats with the most rows first (then the oldest)."""
    chats: dict[tuple[str, str], list[_Row]] = {}
    for row in rows:
        chats.setdefault(row.chat, []).append(row)
    for chat_rows in chats.values():
        chat_rows.sort(key=lambda row: row.id)
    return sorted(chats.values(), key=len, reverse=True)
