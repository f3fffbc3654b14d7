"""What happens after a send: marked sent, or deferred (flood control), given up, or retried with backoff.

RetryLater      the chat (and all its pending rows, in order) waits retry_after seconds; not an
                attempt unless a row keeps hitting it; two flooded chats in a round, or an error
                saying the limit is global, pause the whole platform
RecipientGone   the chat's (or only that user's) watches are deactivated and its pending rows given up
anything else   exponential backoff with jitter; given up after ``max_attempts``
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.core import metrics
from bot.core.errors import GavelError, RecipientGone, RetryLater
from bot.core.logs import redact
from bot.core.services import Services
from storage import outbox
from storage import watches as watch_rows

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
GLOBAL_SCOPES = ("global", "platform", "bot")


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
class OutboxRow:
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
    language: str = "en"  # the recipient's (a staff log's or card's chat: the default language)

    @property
    def chat(self) -> tuple[str, str]:
        return self.platform, self.chat_id


@dataclass
class Round:
    stats: DispatchStats
    flooded_chats: dict[str, set[str]] = field(default_factory=dict)


class Outcomes:
    """Records how sends went, and keeps what that decides between rounds: flood waits, paused platforms, and
    sends whose mark failed (marked again next round instead of being sent twice)."""

    def __init__(
        self, services: Services, *, max_attempts: int, clock: Callable[[], datetime], rng: random.Random
    ) -> None:
        self.services = services
        self.max_attempts = max_attempts
        self._now = clock
        self.rng = rng
        self._paused_until: dict[str, datetime] = {}
        self._flood_waits: dict[int, int] = {}
        self.unmarked: dict[int, datetime] = {}

    async def mark_sent(self, notification_id: int, at: datetime) -> None:
        try:
            # The mark runs on a database thread, which finishes it even if this task is cancelled now.
            await self.services.db.run(
                lambda s: outbox.mark_notification_sent(s, notification_id=notification_id, at=at)
            )
        except Exception:
            log.exception(
                "notification %s was sent but could not be marked; marking it again next round", notification_id
            )
            self.unmarked[notification_id] = at
        else:
            self.unmarked.pop(notification_id, None)

    async def mark_unmarked(self) -> None:
        for notification_id, at in list(self.unmarked.items()):
            await self.mark_sent(notification_id, at)

    async def flood_wait(self, row: OutboxRow, error: RetryLater, round_: Round) -> None:
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
        metrics.alert(row.platform, "gave_up" if give_up else "deferred")
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

    async def recipient_gone(self, row: OutboxRow, error: RecipientGone, stats: DispatchStats) -> None:
        reason = f"recipient gone: {self.describe(error)}"
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
        metrics.alert(row.platform, "gave_up")
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

    async def failed(self, row: OutboxRow, error: Exception, stats: DispatchStats) -> None:
        attempts = row.attempts + 1
        give_up = attempts >= self.max_attempts
        reason = self.describe(error)
        retry_at = self._now() + timedelta(seconds=self.backoff_seconds(attempts))
        await self.services.db.run(
            lambda s: outbox.mark_notification_failed(
                s, notification_id=row.id, error=reason, next_attempt_at=retry_at, give_up=give_up
            )
        )
        metrics.alert(row.platform, "gave_up" if give_up else "failed")
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

    async def give_up(self, row: OutboxRow, reason: str) -> None:
        now = self._now()
        await self.services.db.run(
            lambda s: outbox.mark_notification_failed(
                s, notification_id=row.id, error=reason, next_attempt_at=now, give_up=True
            )
        )
        metrics.alert(row.platform, "gave_up")
        log.warning("notification %s (%s) given up: %s", row.id, row.kind, reason)

    def backoff_seconds(self, attempts: int) -> float:
        """Delay before the next try after ``attempts`` failures: doubling, capped, with "equal jitter".

        Half the delay is fixed and half random, so delays still grow from one attempt to the next
        while rows that failed together (an outage) spread out instead of retrying in one burst.
        """
        ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def paused(self, platform: str, now: datetime) -> bool:
        until = self._paused_until.get(platform)
        if until is None:
            return False
        if until <= now:
            del self._paused_until[platform]
            return False
        return True

    def describe(self, error: BaseException) -> str:
        """A short, single-line, secret-free account of an error for last_error and the log."""
        message = error.message if isinstance(error, GavelError) else str(error)
        text = f"{type(error).__name__}: {message}" if message else type(error).__name__
        text = redact(" ".join(text.split()))
        return text[:ERROR_TEXT_MAX]

    def sent(self, notification_id: int, platform: str = "unknown") -> None:
        """A send went through: its flood-wait count is over."""
        self._flood_waits.pop(notification_id, None)
        metrics.alert(platform, "sent")
