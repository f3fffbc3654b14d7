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
import logging
import random
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Protocol

from aiolimiter import AsyncLimiter
from sqlmodel import Session

from bot.errors import RecipientGone, RetryLater
from bot.messages import Alert, Reply, access_from_json, reply_from_json
from bot.pacing import Pacing
from bot.services import Services
from bot.watch.outcomes import DispatchStats, OutboxRow, Outcomes, Round
from bot.watch.slots import Slots
from storage import outbox, users
from storage.models import Notification

log = logging.getLogger(__name__)

UNROUTED_CHECK_INTERVAL = timedelta(minutes=5)


class Sender(Protocol):
    """What the dispatcher needs of an adapter."""

    async def send(self, alert: Alert) -> None: ...


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
        pacing: Mapping[str, Pacing | None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts < 1 or concurrency < 1:
            raise ValueError("max_attempts and concurrency must be at least 1")
        self.services = services
        self.adapters = dict(adapters)
        self.max_attempts = max_attempts
        self.concurrency = concurrency
        self._now = clock or services.now
        # Each adapter says how fast its platform takes alerts; ``pacing`` overrides that (None: no pacing).
        declared = {platform: getattr(adapter, "pacing", None) for platform, adapter in self.adapters.items()}
        self.pacing: dict[str, Pacing] = {
            platform: rule for platform, rule in {**declared, **(pacing or {})}.items() if rule is not None
        }
        self.budgets: dict[str, AsyncLimiter] = {
            platform: budget for platform, rule in self.pacing.items() if (budget := rule.budget()) is not None
        }
        # Event-loop time (not the injectable clock: this is real pacing) before which a chat gets nothing.
        self._chat_ready_at: dict[tuple[str, str], float] = {}
        self.outcomes = Outcomes(services, max_attempts=max_attempts, clock=self._now, rng=rng or random.Random())
        self._running = asyncio.Lock()
        self._unrouted_logged: set[str] = set()
        self._unrouted_checked_at: datetime | None = None
        self._stopping = False

    # --- the round --------------------------------------------------------------------------------

    async def run_once(self, limit: int = 2000) -> DispatchStats:
        """Send what is due now (at most ``limit`` rows); returns what happened."""
        stats = DispatchStats()
        if self._stopping or self._running.locked():
            # A round is still going (a slow platform): a second one would send its rows twice.
            return stats
        async with self._running:
            now = self._now()
            await self.outcomes.mark_unmarked()
            await self._log_unrouted(now)
            platforms = [p for p in self.adapters if not self.outcomes.paused(p, now)]
            rows = await self._due_rows(now, platforms, limit)
            if not rows:
                return stats
            round_ = Round(stats)
            slots = Slots(self.concurrency)
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

    async def _due_rows(self, now: datetime, platforms: list[str], limit: int) -> list[OutboxRow]:
        if not platforms:
            return []

        def read(session: Session) -> tuple[list[Notification], dict[int, str]]:
            found = outbox.due_notifications(session, now=now, platforms=platforms, limit=limit)
            ids = users.platform_user_ids(
                session, chat_user_ids={n.chat_user_id for n in found if n.chat_user_id is not None}
            )
            return found, ids

        found, user_ids = await self.services.db.read(read)
        return [_row(n, user_ids) for n in found if n.id is not None and n.id not in self.outcomes.unmarked]

    async def _deliver_chat(self, rows: list[OutboxRow], order: int, slots: Slots, round_: Round) -> None:
        """One chat's rows, oldest first, one at a time; the first failure ends the chat's turn this round."""
        for index, row in enumerate(rows):
            # Waiting out the chat's interval holds no slot: the slots bound sends in flight, not sleepers.
            await self._wait_for_chat(row)
            # The chat with the most rows left goes first: a long one-a-second chain started last is
            # what a round would otherwise end up waiting for.
            async with slots.slot((index - len(rows), order)):
                if self._stopping or self.outcomes.paused(row.platform, self._now()):
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

    async def _deliver(self, row: OutboxRow, round_: Round) -> bool:
        """Send one row and record the outcome; True if the chat may go on to its next row."""
        stats = round_.stats
        try:
            access = access_from_json(row.payload)
            alert = Alert(
                row.platform,
                row.chat_id,
                row.user_id,
                Reply() if access else reply_from_json(row.payload),
                row.kind,
                extra={"dedupe_key": row.dedupe_key},
                access=access,
            )
        except Exception as error:  # retrying cannot fix a payload we cannot read
            await self.outcomes.give_up(row, f"unreadable payload: {self.outcomes.describe(error)}")
            stats.gave_up += 1
            return True
        budget = self.budgets.get(row.platform)
        if budget is not None:
            await budget.acquire()
        rule = self.pacing.get(row.platform)
        interval = rule.interval_for(row.chat_id) if rule else 0.0
        if interval:
            # Counted from now, after the budget wait, so a long wait there cannot bring two sends closer.
            self._chat_ready_at[row.chat] = asyncio.get_running_loop().time() + interval
        try:
            await self.adapters[row.platform].send(alert)
        except RetryLater as error:
            await self.outcomes.flood_wait(row, error, round_)
            return False
        except RecipientGone as error:
            await self.outcomes.recipient_gone(row, error, stats)
            return not error.whole_chat  # the others in that chat can still be reached
        except Exception as error:  # every adapter failure is retried; one bad row never stops the others
            await self.outcomes.failed(row, error, stats)
            return False
        # Shielded: once the platform took the alert, the mark must happen even if the round is cancelled.
        await asyncio.shield(self.outcomes.mark_sent(row.id, self._now()))
        self.outcomes.sent(row.id)
        stats.sent += 1
        return True

    # --- helpers ----------------------------------------------------------------------------------

    async def _wait_for_chat(self, row: OutboxRow) -> None:
        ready_at = self._chat_ready_at.get(row.chat)
        if ready_at is not None:
            delay = ready_at - asyncio.get_running_loop().time()
            if delay > 0:
                await asyncio.sleep(delay)

    def _forget_idle_chats(self) -> None:
        now = asyncio.get_running_loop().time()
        self._chat_ready_at = {chat: at for chat, at in self._chat_ready_at.items() if at > now}

    async def _log_unrouted(self, now: datetime) -> None:
        """Say once per platform that alerts wait for an adapter that is not configured (they stay queued)."""
        checked = self._unrouted_checked_at
        if checked is not None and now - checked < UNROUTED_CHECK_INTERVAL:
            return
        self._unrouted_checked_at = now
        waiting = await self.services.db.read(lambda s: outbox.platforms_with_due_notifications(s, now=now))
        for platform in sorted(waiting - set(self.adapters) - self._unrouted_logged):
            self._unrouted_logged.add(platform)
            log.warning(
                "alerts for %s are waiting but no %s adapter is configured; they stay queued", platform, platform
            )


def _row(notification: Notification, user_ids: Mapping[int, str]) -> OutboxRow:
    assert notification.id is not None
    user_id = user_ids.get(notification.chat_user_id) if notification.chat_user_id is not None else None
    return OutboxRow(
        id=notification.id,
        platform=notification.platform,
        chat_id=notification.chat_id,
        user_id=user_id or "",  # none: the chat's own message (a staff-log line)
        kind=notification.kind,
        payload=notification.payload,
        attempts=notification.attempts,
        dedupe_key=notification.dedupe_key,
        chat_user_id=notification.chat_user_id,
    )


def _by_chat(rows: Iterable[OutboxRow]) -> list[list[OutboxRow]]:
    """Rows grouped per chat, each chat's oldest first; chats with the most rows first (then the oldest)."""
    chats: dict[tuple[str, str], list[OutboxRow]] = {}
    for row in rows:
        chats.setdefault(row.chat, []).append(row)
    for chat_rows in chats.values():
        chat_rows.sort(key=lambda row: row.id)
    return sorted(chats.values(), key=len, reverse=True)
