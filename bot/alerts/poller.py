"""The poller: watched auctions fetched in batches, diffed against their snapshots, alerts written to the outbox.

One poll: the distinct due auction ids, in batches of ``batch_size`` (one ``GET /auction`` each),
fetched with bounded concurrency. Auctions where nothing happened are skipped once fetched; the
others' outbox rows and snapshots are written together in one transaction (a few batches' worth at
a time), so an alert is decided exactly once however often the process dies: either the snapshot
advanced and its alerts are queued, or neither happened and the next poll redoes both.

Database work runs on the database's threads (``services.db.run``), never on the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.alerts.cadence import hot_every
from bot.alerts.events import AuctionSnapshot, EventKind, WatcherInfo, diff_auction, is_quiet, observe
from bot.auctions import autobids
from bot.auctions import card_updates as cards
from bot.clients.auctionity import Auction
from bot.core import i18n, metrics
from bot.core.errors import UpstreamError
from bot.core.payloads import encode_reply
from storage import auction_states, outbox, watches
from storage.auction_states import DueAuction
from storage.models import split_minutes
from storage.watches import WatcherRow, auction_key

if TYPE_CHECKING:
    from bot.core.config import Settings
    from bot.core.services import Services

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(minutes=15)
FLUSH_AT = 250  # auctions gathered before they are recorded in one transaction
MISSING_LIMIT = 5  # polls an auction may be absent from upstream's answer before we stop asking for it
LEASE = timedelta(seconds=15)  # at least: a leased auction comes due again after this if its process dies mid-poll
LEASE_CHUNK = 2_500  # auctions leased at once: other processes lease the next chunks meanwhile
MAX_CHUNKS = 40  # a round's bound (100,000 auctions); the rest waits for the next tick


@dataclass
class PollStats:
    """What one poll did."""

    requests: int = 0  # GET /auction calls (the client's own retries not counted)
    auctions: int = 0  # auctions fetched (the diff skips those where nothing happened)
    events: int = 0  # outbox rows written (repeats of a dedupe key are not)
    failures: int = 0  # batches that failed (fetch: backed off; database: redone next poll)
    missing: int = 0  # watched auctions upstream did not return
    autobids: autobids.AutoBidStats = field(default_factory=autobids.AutoBidStats)


class Poller:
    """Polls every watched auction that is due; ``poll_once`` is what the scheduler runs."""

    def __init__(
        self,
        services: Services,
        *,
        batch_size: int = 50,
        concurrency: int = 4,
        rng: random.Random | None = None,
    ) -> None:
        if not 1 <= batch_size <= 50:
            raise ValueError("batch_size must be 1 to 50: one GET /auction carries at most 50 ids")
        self.services = services
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.rng = rng or random.Random()
        self.autobidder = autobids.AutoBidder(services)
        self._hot_every = self.tick
        self._cadence_at: datetime | None = None

    @metrics.timed_poll
    async def poll_once(self) -> PollStats:
        """Poll every auction due now once; a failing batch is backed off and never stops the others.

        Auctions are leased a chunk at a time, so processes sharing the database share a big round.
        """
        round_ = _Round(_Hints({}, {}, self.services.settings.ending_soon_minutes))
        owed = await self.services.db.read(auction_states.ended_auction_ids_with_new_watches)
        for _ in range(MAX_CHUNKS):
            leased = await self._lease(self.services.now())
            round_.hints.add(leased)
            ids = [auction.auction_id for auction in leased] + owed
            owed = []  # asked for once a round
            if not ids:
                break
            batches = [ids[start : start + self.batch_size] for start in range(0, len(ids), self.batch_size)]
            limit = asyncio.Semaphore(self.concurrency)
            await asyncio.gather(*(self._poll_batch(batch, round_, limit) for batch in batches))
            await self._flush(round_)
            if len(leased) < LEASE_CHUNK:
                break
        stats = round_.stats
        # Answer the outbidding bids just decided, within this poll rather than the next.
        stats.autobids = await self.autobidder.place_pending()
        if stats.failures or stats.events:
            log.info(
                "poll: %d auctions, %d requests, %d alerts queued, %d failed batches",
                stats.auctions,
                stats.requests,
                stats.events,
                stats.failures,
            )
        return stats

    @property
    def tick(self) -> timedelta:
        """How often the scheduler runs a poll: often enough for the hot auctions' cadence."""
        settings = self.services.settings
        if settings.hot_minutes == 0:
            return timedelta(seconds=settings.poll_interval_seconds)
        return timedelta(seconds=min(settings.hot_poll_seconds, settings.poll_interval_seconds))

    async def _lease(self, now: datetime) -> list[DueAuction]:
        """The next chunk of auctions due now (half a tick early counts: the scheduler's ticks jitter)."""
        due_by = now + self.tick / 2
        lease_until = now + max(LEASE, 2 * timedelta(seconds=self.services.settings.poll_interval_seconds))
        await self._refresh_cadence(now)
        return await self.services.db.run(
            lambda s: auction_states.lease_due_auctions(
                s, due_by=due_by, lease_until=lease_until, now=now, limit=LEASE_CHUNK
            )
        )

    async def _refresh_cadence(self, now: datetime) -> None:
        """Once an interval, how often hot auctions may be polled within the budget (see ``hot_every``)."""
        settings = self.services.settings
        interval = timedelta(seconds=settings.poll_interval_seconds)
        if self._cadence_at is not None and now - self._cadence_at < interval:
            return
        hot_until = now + timedelta(minutes=settings.hot_minutes)
        total, hot = await self.services.db.read(
            lambda s: auction_states.count_polled(s, hot_from=now, hot_until=hot_until)
        )
        self._hot_every = hot_every(interval=interval, tick=self.tick, total=total, hot=hot, batch_size=self.batch_size)
        self._cadence_at = now

    def next_poll(self, end_date: datetime | None, now: datetime) -> datetime:
        """When an auction just polled is polled next: soon in its last HOT_MINUTES, else in an interval."""
        settings = self.services.settings
        if end_date is not None and now < end_date <= now + timedelta(minutes=settings.hot_minutes):
            return now + self._hot_every
        return now + timedelta(seconds=settings.poll_interval_seconds)

    async def _poll_batch(self, batch: list[str], round_: _Round, limit: asyncio.Semaphore) -> None:
        stats = round_.stats
        async with limit:
            stats.requests += 1
            try:
                fetched = await self.services.auctionity.auctions(batch)
            except UpstreamError as error:
                stats.failures += 1
                log.warning("poll: a batch of %d auctions failed (%s); backing off", len(batch), type(error).__name__)
                await _guarded(self._back_off(batch, type(error).__name__))
                return
            except Exception:  # one batch's surprise must not stop the others
                stats.failures += 1
                log.exception("poll: a batch of %d auctions failed unexpectedly", len(batch))
                await _guarded(self._back_off(batch, "unexpected error"))
                return
        stats.auctions += len(fetched)
        found = {auction_key(a.id): a for a in fetched}
        now = self.services.now()
        busy = [auction_id for auction_id in batch if not round_.hints.quiet(auction_id, found.get(auction_id), now)]
        quiet = set(batch) - set(busy)
        # Nothing to write for these but when they are polled next.
        round_.quiet.update((auction_id, self.next_poll(found[auction_id].end_date, now)) for auction_id in quiet)
        if busy:  # else nothing happened that anyone could be told, and there is nothing to write
            round_.busy.update((auction_id, found.get(auction_id)) for auction_id in busy)
            round_.batches += 1
        if len(round_.busy) + len(round_.quiet) >= FLUSH_AT:
            await self._flush(round_)

    async def _flush(self, round_: _Round) -> None:
        """Record the busy auctions gathered so far, in one transaction (outside the semaphore, so other
        batches' requests stay in flight meanwhile). Gathering several batches' worth makes far fewer
        transactions."""
        if not (round_.busy or round_.quiet):
            return
        busy, batches, quiet = round_.busy, round_.batches, round_.quiet
        round_.busy, round_.batches, round_.quiet = {}, 0, {}
        now = self.services.now()

        def record(session: Session) -> tuple[int, int]:
            auction_states.schedule_polls(session, quiet)
            return self._record(session, busy, now)

        written = await _guarded(self.services.db.run(record))
        if written is None:
            round_.stats.failures += batches
            return
        round_.stats.events += written[0]
        round_.stats.missing += written[1]

    def _record(self, session: Session, busy: dict[str, Auction | None], now: datetime) -> tuple[int, int]:
        """Diff these auctions (None: upstream did not return it), write their alerts and snapshots; (alerts,
        missing). The snapshots are read again here, inside the transaction that writes them: the hints
        read at the start of the poll only decide what may be skipped."""
        settings = self.services.settings
        written = missing = 0
        inserts: list[AuctionSnapshot] = []
        updates: list[AuctionSnapshot] = []
        rescheduled: dict[str, datetime] = {}
        found = {auction_id: auction for auction_id, auction in busy.items() if auction is not None}
        stored = auction_states.load_snapshots(session, auction_ids=busy)
        watchers = watches.watcher_rows_by_auction(session, auction_ids=found)
        acting = autobids.decide(session, found, now)
        for auction_id in busy:
            old = stored.get(auction_id)
            if auction_id not in found:
                missing += 1
                (updates if old else inserts).append(self._missing(auction_id, old, now))
                continue
            infos = [_watcher(w, settings) for w in watchers.get(auction_id, [])]
            try:
                new, events = diff_auction(
                    old if old is not None and old.seen else None,
                    found[auction_id],
                    infos,
                    now,
                    notify_new_bids=settings.notify_new_bids,
                )
            except Exception:  # an auction we cannot diff must not cost the batch its alerts
                log.exception("poll: could not diff auction %s", auction_id)
                continue
            replaced = acting.get(auction_id, set())
            for event in events:
                if event.kind is EventKind.OUTBID and event.chat_user_id in replaced:
                    continue  # the auto-bid's own alert says what was done
                written += outbox.enqueue_notification(
                    session,
                    dedupe_key=event.dedupe_key,
                    platform=event.platform,
                    chat_id=event.chat_id,
                    chat_user_id=event.chat_user_id,
                    kind=event.kind.value,
                    payload=encode_reply(event.reply),
                    now=now,
                )
            if events or _differs(old, new):
                # An unchanged snapshot keeps its older updated_at, which the diff's comparisons allow.
                next_poll = self.next_poll(new.end_date, now)
                (updates if old else inserts).append(replace(new, next_poll_at=next_poll, failures=0, updated_at=now))
            elif old is not None:
                rescheduled[auction_id] = self.next_poll(new.end_date, now)
        auction_states.save_snapshots(session, inserts=inserts, updates=updates)
        auction_states.schedule_polls(session, rescheduled)
        written += cards.queue_card_updates(session, found, now)
        return written, missing

    def _missing(self, auction_id: str, old: AuctionSnapshot | None, now: datetime) -> AuctionSnapshot:
        """An auction upstream did not return: try again later, and after MISSING_LIMIT polls stop asking."""
        snapshot = old or AuctionSnapshot(auction_id, updated_at=now)
        failures = snapshot.failures + 1
        # updated_at moves on, so ended_auction_ids_with_new_watches does not ask for it again and again.
        if failures >= MISSING_LIMIT:
            log.warning("poll: auction %s is gone upstream; no longer polled", auction_id)
            return replace(snapshot, failures=failures, ended=True, updated_at=now)
        return replace(snapshot, failures=failures, next_poll_at=now + self._backoff(failures), updated_at=now)

    async def _back_off(self, batch: list[str], reason: str) -> None:
        """Push the batch's next poll out, exponentially in its failures and jittered, so retries spread out."""
        jitter = self.rng.uniform(0.75, 1.0)  # the first backoff (2 intervals x jitter) still skips a whole round
        now = self.services.now()

        def push_out(session: Session) -> None:
            stored = auction_states.load_snapshots(session, auction_ids=batch)
            inserts, updates = [], []
            for auction_id in batch:
                # A snapshot made here has no end_date: the auction still counts as never seen, so its first
                # successful poll records its history silently.
                old = stored.get(auction_id) or AuctionSnapshot(auction_id, updated_at=now)
                failures = old.failures + 1
                snapshot = replace(old, failures=failures, next_poll_at=now + self._backoff(failures) * jitter)
                (updates if auction_id in stored else inserts).append(snapshot)
            auction_states.save_snapshots(session, inserts=inserts, updates=updates)

        await self.services.db.run(push_out)
        log.debug("poll: backed off %d auctions after %s", len(batch), reason)

    def _backoff(self, failures: int) -> timedelta:
        interval = timedelta(seconds=self.services.settings.poll_interval_seconds)
        return min(MAX_BACKOFF, interval * 2 ** min(failures, 16))


@dataclass
class _Hints:
    """What was stored when the poll began: enough to skip, once fetched, the auctions where nothing happened."""

    states: dict[str, AuctionSnapshot]
    reminders: dict[str, frozenset[str]]
    default_reminder: int

    def add(self, leased: list[DueAuction]) -> None:
        for auction in leased:
            self.reminders[auction.auction_id] = auction.remind_minutes
            if auction.snapshot is not None:
                self.states[auction.auction_id] = auction.snapshot

    def quiet(self, auction_id: str, auction: Auction | None, now: datetime) -> bool:
        """True if the auction needs no diff and no write: seen before, unchanged, no reminder near, no failures.

        A wrong "not quiet" only costs a diff that finds nothing. A stale "quiet" (another process
        advanced the snapshot meanwhile, or a watch with a longer reminder just arrived) delays that
        news by one poll, since nothing is written for a skipped auction.
        """
        stored = self.states.get(auction_id)
        if auction is None or stored is None or stored.failures or not stored.seen:
            return False
        longest = max((_longest(r, self.default_reminder) for r in self.reminders.get(auction_id, ())), default=0)
        return is_quiet(stored, observe(auction, now), longest)


@dataclass
class _Round:
    """One poll's shared bookkeeping: its stats, its hints, and the busy auctions not yet recorded."""

    hints: _Hints
    stats: PollStats = field(default_factory=PollStats)
    busy: dict[str, Auction | None] = field(default_factory=dict)
    quiet: dict[str, datetime] = field(default_factory=dict)  # fetched, nothing happened: their next poll
    batches: int = 0  # how many batches the busy auctions came from


async def _guarded(work: object) -> object:
    try:
        return await work  # type: ignore[misc]
    except Exception:
        # A database error rolls the batch back; its auctions stay due and the next poll redoes them.
        log.exception("poll: could not record a batch")
        return None


@functools.lru_cache(maxsize=1024)
def _longest(remind_minutes: str, default: int) -> int:
    return max(split_minutes(remind_minutes or ""), default=default)


def _watcher(row: WatcherRow, settings: Settings) -> WatcherInfo:
    return WatcherInfo(
        chat_user_id=row.chat_user_id,
        platform=row.platform,
        chat_id=row.chat_id,
        user_id=row.platform_user_id,
        auctionity_user_id=row.auctionity_user_id,
        reminders=tuple(split_minutes(row.remind_minutes or "") or [settings.ending_soon_minutes]),
        since=row.created_at,
        language=i18n.pick(row.language, row.platform_language, default=settings.default_language),
    )


def _differs(old: AuctionSnapshot | None, new: AuctionSnapshot) -> bool:
    """Whether the stored snapshot must be rewritten: most auctions are quiet most polls and are left alone.
    A snapshot holding failures, or never seen, is rewritten to clear them."""
    if old is None or old.failures or not old.seen:
        return True
    return not old.same_news(new)
