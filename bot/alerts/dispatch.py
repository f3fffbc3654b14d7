"""The dispatcher: sends due outbox rows through the platform adapters, in order per chat, within platform limits.

Two lanes, each a round about every second: alerts (``run_alerts``: watch alerts, staff logs, access changes) and
live cards (``run_cards``: a card's post and its edits). Cards yield: a card round takes one row a chat, only in
chats with no alert due, and sends on what its share of the budget leaves after waiting alerts
(bot/alerts/budget.py); an edit is deferred until CARD_EDIT_SECONDS after the card's last one, and by then only the
newest state is sent. ``run_once`` runs both lanes, the cards' once the alerts are on their way.

One round of a lane:

- lease the due, unsent rows of the platforms that have an adapter and are not paused, skipping every
  chat another process holds a row of, so processes sharing the database never send one row twice nor
  a chat's rows out of order (``outbox.lease_due_notifications``: ``FOR UPDATE SKIP LOCKED`` and a
  ``leased_until`` column, not a later ``next_attempt_at``: a lease holds its whole chat, a backoff only
  its row); a killed process's leases run out after ``LEASE``; rows a round did not get to go back at once;
- group them per chat; a chat's rows go one at a time, oldest first, at least the platform's chat
  interval apart, while up to ``concurrency`` sends to different chats are in flight;
- before each send, wait for the platform's budget (an aiolimiter bucket, alerts first), if it has one;
- after a send, mark the row sent in its own short transaction at once: the gap between the two
  is the only place a crash can make an alert go out twice.

What a failed send does:

    RetryLater      the chat (and all its pending rows, in order) waits retry_after seconds; not an
                    attempt unless a row keeps hitting it; two flooded chats in a round, or an error
                    saying the limit is global, pause the whole platform
    RecipientGone   the chat's watches are deactivated and its pending rows given up (a live card's message
                    gone: only that card is forgotten, see bot/auctions/card_updates.py)
    anything else   exponential backoff with jitter; given up after ``max_attempts``
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlmodel import Session

from bot.alerts.budget import Budget
from bot.alerts.outcomes import DispatchStats, OutboxRow, Outcomes, Round
from bot.alerts.slots import Slots
from bot.auctions import card_updates as cards
from bot.core import i18n, payloads
from bot.core.errors import RecipientGone, RetryLater
from bot.core.messages import AccessChange, Alert, Reply
from bot.core.pacing import Pacing
from bot.core.services import Services
from storage import outbox, users
from storage.models import Notification

log = logging.getLogger(__name__)

UNROUTED_CHECK_INTERVAL = timedelta(minutes=5)
# How long a round holds the rows it took. Far longer than a send (its HTTP timeouts and retries included),
# and than a round's budget and chat-interval waits, since a row whose lease runs out may go to another
# process; short enough that a killed process's alerts are only a couple of minutes late.
LEASE = timedelta(minutes=2)
ALERTS, CARDS = "alerts", "cards"  # the two lanes: live-card edits never take a turn an alert could use
CARD_ROWS_PER_ROUND = 500  # a card round sends one a chat: the chat is held for that one send only
# A chat starts no new send in the last part of its lease: the send it starts must be marked before the
# lease ends. A longer chain goes back to the outbox, in order, for the next round.
SEND_MARGIN = timedelta(minutes=1)


class Sender(Protocol):
    """What the dispatcher needs of an adapter."""

    async def send(self, alert: Alert) -> str | None: ...  # a live card's message id; None for the rest


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
        self.budgets: dict[str, Budget] = {platform: Budget(rule) for platform, rule in self.pacing.items()}
        # Event-loop time (not the injectable clock: this is real pacing) before which a chat gets nothing.
        self._chat_ready_at: dict[tuple[str, str], float] = {}
        self.outcomes = Outcomes(services, max_attempts=max_attempts, clock=self._now, rng=rng or random.Random())
        self._running = {lane: asyncio.Lock() for lane in (ALERTS, CARDS)}
        self._unrouted_logged: set[str] = set()
        self._unrouted_checked_at: datetime | None = None
        self._stopping = False

    # --- the round --------------------------------------------------------------------------------

    async def run_once(self, limit: int = 2000) -> DispatchStats:
        """Send what is due now (at most ``limit`` alerts, and the live cards' edits); returns what happened.

        The two lanes run side by side, the cards' starting once the alerts are taken: `gavel run` schedules
        them apart (``run_alerts`` and ``run_cards``), so a long round of edits never holds back the next alerts.
        """
        stats = DispatchStats()
        taken = asyncio.Event()
        alerts = asyncio.create_task(self._round(ALERTS, stats, limit, taken))
        try:
            await taken.wait()
            await self._round(CARDS, stats, CARD_ROWS_PER_ROUND)
        finally:
            await alerts
        return stats

    async def run_alerts(self, limit: int = 2000) -> DispatchStats:
        """One round of everything but live cards: watch alerts, staff logs, access changes."""
        return await self._round(ALERTS, DispatchStats(), limit)

    async def run_cards(self) -> DispatchStats:
        """One round of live-card posts and edits: what is left of the budget, never before a due alert."""
        return await self._round(CARDS, DispatchStats(), CARD_ROWS_PER_ROUND)

    async def _round(
        self, lane: str, stats: DispatchStats, limit: int, taken: asyncio.Event | None = None
    ) -> DispatchStats:
        """One lane's round; ``taken`` is set once its rows are leased (or it has none), whatever happens."""
        running = self._running[lane]
        try:
            if self._stopping or running.locked():
                # A round is still going (a slow platform): a second one would send its rows twice.
                return stats
            async with running:
                return await self._deliver_round(lane, stats, limit, taken)
        finally:
            if taken is not None:
                taken.set()

    async def _deliver_round(
        self, lane: str, stats: DispatchStats, limit: int, taken: asyncio.Event | None
    ) -> DispatchStats:
        now = self._now()
        if lane == ALERTS:
            await self.outcomes.mark_unmarked()
            await self._log_unrouted(now)
        platforms = [p for p in self.adapters if not self.outcomes.paused(p, now)]
        lease = _Lease(send_by=now + LEASE - SEND_MARGIN)
        rows = await self._lease_rows(lane, now, now + LEASE, platforms, limit)
        if not rows:
            return stats
        round_ = Round(stats)
        slots = Slots(self.concurrency)
        try:
            async with asyncio.TaskGroup() as group:
                for order, chat_rows in enumerate(_by_chat(rows)):
                    group.create_task(self._deliver_chat(chat_rows, order, slots, round_, lease))
                if taken is not None:
                    taken.set()  # this round's sends are under way: the other lane may start
        finally:
            self._forget_idle_chats()
            await self._release(lease.untried)
        return stats

    def stop(self) -> None:
        """Start no new sends (shutdown): the ones in flight finish and are marked; the rest stay queued."""
        self._stopping = True

    async def _lease_rows(
        self, lane: str, now: datetime, until: datetime, platforms: list[str], limit: int
    ) -> list[OutboxRow]:
        if not platforms:
            return []

        def take(session: Session) -> tuple[list[Notification], dict[int, str], dict[int, str]]:
            if lane == CARDS:
                found = outbox.lease_due_of_kind(
                    session, kind=cards.KIND, now=now, until=until, platforms=platforms, limit=limit
                )
            else:
                found = outbox.lease_due_notifications(
                    session, now=now, until=until, platforms=platforms, limit=limit, except_kind=cards.KIND
                )
            recipients = {n.chat_user_id for n in found if n.chat_user_id is not None}
            ids = users.platform_user_ids(session, chat_user_ids=recipients)
            spoken = users.languages(session, chat_user_ids=recipients)
            return found, ids, {user: i18n.pick(*languages) for user, languages in spoken.items()}

        found, user_ids, languages = await self.services.db.run(take)
        # A row sent but not yet marked stays leased and unsent here: it is marked at the next round's start.
        return [_row(n, user_ids, languages) for n in found if n.id is not None and n.id not in self.outcomes.unmarked]

    async def _deliver_chat(
        self, rows: list[OutboxRow], order: int, slots: Slots, round_: Round, lease: _Lease
    ) -> None:
        """One chat's rows, oldest first, one at a time; the first failure ends the chat's turn this round."""
        tried = 0
        try:
            for index, row in enumerate(rows):
                # Waiting out the chat's interval holds no slot: the slots bound sends in flight, not sleepers.
                await self._wait_for_chat(row)
                # The chat with the most rows left goes first: a long one-a-second chain started last is
                # what a round would otherwise end up waiting for.
                async with slots.slot((index - len(rows), order)):
                    now = self._now()
                    if self._stopping or self.outcomes.paused(row.platform, now) or now >= lease.send_by:
                        return  # the rows go back to the outbox: for the next round, or the next process
                    try:
                        carry_on = await self._deliver(row, round_)
                    except Exception:
                        # Recording an outcome failed (the database): the row goes back and is tried again;
                        # the other chats' sends are not cut short, which could make them go out twice.
                        log.exception("notification %s: could not record the outcome of its send", row.id)
                        return
                tried = index + 1
                if not carry_on:
                    return
        finally:
            # Rows after a failure, a flood wait or a stop: handed back rather than held until the lease ends.
            lease.untried.extend(row.id for row in rows[tried:])

    async def _deliver(self, row: OutboxRow, round_: Round) -> bool:
        """Send one row and record the outcome; True if the chat may go on to its next row."""
        stats = round_.stats
        try:
            held = payloads.decode(row.payload)
        except payloads.UnreadablePayload as error:  # retrying cannot fix a payload we cannot read
            await self.outcomes.give_up(row, f"unreadable payload: {error}")
            stats.gave_up += 1
            return True
        access = held if isinstance(held, AccessChange) else None
        reply = held if isinstance(held, Reply) else Reply()
        alert = Alert(row.platform, row.chat_id, row.user_id, reply, row.kind, {"dedupe_key": row.dedupe_key}, access)
        budget = self.budgets.get(row.platform)
        if row.kind == cards.KIND:
            addressed = await cards.address(self.services, alert, self._now())
            if addressed is None:  # a newer update of that card replaced this one: settled, nothing to send
                await self.outcomes.mark_sent(row.id, self._now())
                return True
            if isinstance(addressed, datetime):  # edited moments ago: this one goes (if still the newest) then
                await self.services.db.run(lambda s: outbox.defer_notification(
                    s, notification_id=row.id, until=addressed, error="a card is edited once a CARD_EDIT_SECONDS"
                ))  # fmt: skip
                return True
            alert = addressed
            if budget is not None:
                await budget.for_card()
        elif budget is not None:
            await budget.for_alert()
        rule = self.pacing.get(row.platform)
        interval = rule.interval_for(row.chat_id) if rule else 0.0
        if interval:
            # Counted from now, after the budget wait, so a long wait there cannot bring two sends closer.
            self._chat_ready_at[row.chat] = asyncio.get_running_loop().time() + interval
        try:
            with i18n.speaking(row.language):  # what the adapter adds (a button, a note) speaks as the alert does
                message_id = await self.adapters[row.platform].send(alert)
        except RetryLater as error:
            await self.outcomes.flood_wait(row, error, round_)
            return False
        except RecipientGone as error:
            if row.kind == cards.KIND and await cards.forget(self.services, alert, whole_chat=error.whole_chat):
                await self.outcomes.give_up(row, f"card message gone: {self.outcomes.describe(error)}")
                stats.gave_up += 1
                return True  # only that message is gone: the chat's watches and other alerts stay
            await self.outcomes.recipient_gone(row, error, stats)
            return not error.whole_chat  # the others in that chat can still be reached
        except Exception as error:  # every adapter failure is retried; one bad row never stops the others
            await self.outcomes.failed(row, error, stats)
            return False
        if row.kind == cards.KIND:  # the message it posted is the one its next updates edit
            await asyncio.shield(cards.posted(self.services, alert, message_id, self._now()))
        # Shielded: once the platform took the alert, the mark must happen even if the round is cancelled.
        await asyncio.shield(self.outcomes.mark_sent(row.id, self._now()))
        self.outcomes.sent(row.id, row.platform)
        stats.sent += 1
        # One card sent a chat a round: its other updates go back, and the chat is free again for an alert.
        return row.kind != cards.KIND

    # --- helpers ----------------------------------------------------------------------------------

    async def _release(self, notification_ids: list[int]) -> None:
        if not notification_ids:
            return
        try:
            await self.services.db.run(lambda s: outbox.release_notifications(s, notification_ids=notification_ids))
        except Exception:
            log.warning(
                "could not hand back %d leased alert(s); they are due again when their lease ends",
                len(notification_ids),
                exc_info=True,
            )

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


@dataclass
class _Lease:
    """What a round took: when its chats must start their last sends, and the rows it did not get to."""

    send_by: datetime
    untried: list[int] = field(default_factory=list)


def _row(notification: Notification, user_ids: Mapping[int, str], languages: Mapping[int, str]) -> OutboxRow:
    assert notification.id is not None
    user_id = user_ids.get(notification.chat_user_id) if notification.chat_user_id is not None else None
    language = languages.get(notification.chat_user_id) if notification.chat_user_id is not None else None
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
        language=language or i18n.pick(),
    )


def _by_chat(rows: Iterable[OutboxRow]) -> list[list[OutboxRow]]:
    """Rows grouped per chat, each chat's oldest first; chats with the most rows first (then the oldest)."""
    chats: dict[tuple[str, str], list[OutboxRow]] = {}
    for row in rows:
        chats.setdefault(row.chat, []).append(row)
    for chat_rows in chats.values():
        chat_rows.sort(key=lambda row: row.id)
    return sorted(chats.values(), key=len, reverse=True)
