"""The poller: watched auctions fetched in batches, diffed against AuctionState, alerts written to the outbox.

One poll: the distinct due auction ids, in batches of ``batch_size`` (one ``GET /auction`` each),
fetched with bounded concurrency. Auctions where nothing happened are skipped once fetched; the
others' outbox rows and state rows are written together in one transaction (a few batches' worth
at a time), so an alert is decided exactly once however often the process dies: either the state
advanced and its alerts are queued, or neither happened and the next poll redoes both.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.clients.auctionity import Auction
from bot.errors import UpstreamError
from bot.messages import reply_to_json
from bot.watch.events import AuctionStateSnapshot, WatcherInfo, diff_auction, is_quiet, observe
from storage import repo
from storage.models import parse_minutes

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(minutes=15)
FLUSH_AT = 250  # busy auctions gathered before they are recorded in one transaction
MISSING_LIMIT = 5  # polls an auction may be absent from upstream's answer before we stop asking for it


@dataclass
class PollStats:
    """What one poll did."""

    requests: int = 0  # GET /auction calls (the client's own retries not counted)
    auctions: int = 0  # auctions fetched (the diff skips those where nothing happened)
    events: int = 0  # outbox rows written (repeats of a dedupe key are not)
    failures: int = 0  # batches that failed (fetch: backed off; database: redone next poll)
    missing: int = 0  # watched auctions upstream did not return


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

    async def poll_once(self) -> PollStats:
        """Poll every due auction once; a failing batch is backed off and never stops the others."""
        ids, hints = self._due(self.services.now())
        round_ = _Round(hints)
        if not ids:
            return round_.stats
        batches = [ids[start : start + self.batch_size] for start in range(0, len(ids), self.batch_size)]
        limit = asyncio.Semaphore(self.concurrency)
        await asyncio.gather(*(self._poll_batch(batch, round_, limit) for batch in batches))
        self._flush(round_)
        stats = round_.stats
        if stats.failures or stats.events:
            log.info(
                "poll: %d auctions, %d requests, %d alerts queued, %d failed batches",
                stats.auctions,
                stats.requests,
                stats.events,
                stats.failures,
            )
        return stats

    def _due(self, now: datetime) -> tuple[list[str], _Hints]:
        """The auctions to poll, most overdue first, and what tells which of them can be skipped once fetched."""
        hints = _Hints(states={}, reminders={}, default_reminder=self.services.settings.ending_soon_minutes)
        order: dict[str, tuple[bool, datetime | None]] = {}
        with self.services.db() as session:
            for row in repo.due_auction_rows(session, now=now):
                auction_id = row["auction_id"]
                hints.reminders.setdefault(auction_id, set()).add(row["remind_minutes"])
                if row["state_id"] is not None:
                    hints.states[auction_id] = {name: row[name] for name in _HINT_COLUMNS}
                order[auction_id] = (row["next_poll_at"] is not None, row["next_poll_at"])
            owed = repo.ended_auction_ids_with_new_watches(session)
        due = sorted(order, key=lambda auction_id: (*order[auction_id], auction_id))
        return list(dict.fromkeys(due + owed)), hints

    async def _poll_batch(self, batch: list[str], round_: _Round, limit: asyncio.Semaphore) -> None:
        stats = round_.stats
        async with limit:
            stats.requests += 1
            try:
                auctions = await self.services.auctionity.auctions(batch)
            except UpstreamError as error:
                stats.failures += 1
                log.warning("poll: a batch of %d auctions failed (%s); backing off", len(batch), type(error).__name__)
                _guarded(self._back_off, batch, type(error).__name__)
                return
            except Exception:  # one batch's surprise must not stop the others
                stats.failures += 1
                log.exception("poll: a batch of %d auctions failed unexpectedly", len(batch))
                _guarded(self._back_off, batch, "unexpected error")
                return
        stats.auctions += len(auctions)
        found = {repo.auction_key(a.id): a for a in auctions}
        now = self.services.now()
        busy = [auction_id for auction_id in batch if not round_.hints.quiet(auction_id, found.get(auction_id), now)]
        if busy:  # else nothing happened that anyone could be told, and there is nothing to write
            round_.busy.update((auction_id, found.get(auction_id)) for auction_id in busy)
            round_.batches += 1
        if len(round_.busy) >= FLUSH_AT:
            self._flush(round_)

    def _flush(self, round_: _Round) -> None:
        """Record the busy auctions gathered so far, in one transaction.

        Outside the semaphore, so other batches' requests stay in flight meanwhile. The database work
        runs right here in the event loop, a few milliseconds with no await inside: in a worker thread
        it fought the loop for the GIL and slowed every request in flight (and SQLite has one writer
        anyway). Gathering several batches' worth makes for far fewer transactions.
        """
        if not round_.busy:
            return
        busy, batches = round_.busy, round_.batches
        round_.busy, round_.batches = {}, 0
        written = _guarded(self._record, busy)
        if written is None:
            round_.stats.failures += batches
            return
        round_.stats.events += written[0]
        round_.stats.missing += written[1]

    def _record(self, busy: dict[str, Auction | None]) -> tuple[int, int]:
        """Diff these auctions (None: upstream did not return it) and write their alerts and states in ONE
        transaction; (alerts, missing).

        The state is read again here, inside the transaction that writes it: the hints read at the
        start of the poll only decide what may be skipped.
        """
        settings = self.services.settings
        written = missing = 0
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        found = {auction_id: auction for auction_id, auction in busy.items() if auction is not None}
        with self.services.db() as session:
            now = self.services.now()
            stored = repo.auction_state_values(session, auction_ids=busy)
            watchers = repo.watcher_rows_by_auction(session, auction_ids=found)
            for auction_id in busy:
                row = stored.get(auction_id)
                if auction_id not in found:
                    missing += 1
                    (updates if row else inserts).append(self._missing(auction_id, row, now))
                    continue
                infos = [_watcher(w, settings.ending_soon_minutes) for w in watchers.get(auction_id, [])]
                try:
                    new, events = diff_auction(
                        _snapshot(row), found[auction_id], infos, now, notify_new_bids=settings.notify_new_bids
                    )
                except Exception:  # an auction we cannot diff must not cost the batch its alerts
                    log.exception("poll: could not diff auction %s", auction_id)
                    continue
                for event in events:
                    written += repo.enqueue_notification(
                        session,
                        dedupe_key=event.dedupe_key,
                        platform=event.platform,
                        chat_id=event.chat_id,
                        chat_user_id=event.chat_user_id,
                        kind=event.kind.value,
                        payload=reply_to_json(event.reply),
                        now=now,
                    )
                if events or _differs(row, new):
                    (updates if row else inserts).append(_values(new, now))
            repo.save_auction_state_values(session, inserts=inserts, updates=updates)
        return written, missing

    def _missing(self, auction_id: str, row: dict[str, Any] | None, now: datetime) -> dict[str, Any]:
        """An auction upstream did not return: try again later, and after MISSING_LIMIT polls stop asking."""
        values = dict(row) if row is not None else _never_seen(auction_id, now)
        values["failures"] += 1
        values["updated_at"] = now  # so ended_auction_ids_with_new_watches does not ask for it again and again
        if values["failures"] >= MISSING_LIMIT:
            values["ended"] = True
            log.warning("poll: auction %s is gone upstream; no longer polled", auction_id)
        else:
            values["next_poll_at"] = now + self._backoff(values["failures"])
        return values

    def _back_off(self, batch: list[str], reason: str) -> None:
        """Push the batch's next poll out, exponentially in its failures and jittered, so retries spread out."""
        with self.services.db() as session:
            now = self.services.now()
            stored = repo.auction_state_values(session, auction_ids=batch)
            jitter = self.rng.uniform(0.5, 1.0)
            inserts, updates = [], []
            for auction_id in batch:
                # A row made here has no end_date: the auction still counts as never seen, so its first
                # successful poll records its history silently.
                values = dict(stored[auction_id]) if auction_id in stored else _never_seen(auction_id, now)
                values["failures"] += 1
                values["next_poll_at"] = now + self._backoff(values["failures"]) * jitter
                (updates if auction_id in stored else inserts).append(values)
            repo.save_auction_state_values(session, inserts=inserts, updates=updates)
        log.debug("poll: backed off %d auctions after %s", len(batch), reason)

    def _backoff(self, failures: int) -> timedelta:
        interval = timedelta(seconds=self.services.settings.poll_interval_seconds)
        return min(MAX_BACKOFF, interval * 2 ** min(failures, 16))


@dataclass
class _Round:
    """One poll's shared bookkeeping: its stats, its hints, and the busy auctions not yet recorded."""

    hints: _Hints
    stats: PollStats = field(default_factory=PollStats)
    busy: dict[str, Auction | None] = field(default_factory=dict)
    batches: int = 0  # how many batches the busy auctions came from


_HINT_COLUMNS = ("last_bid_id", "bid_count", "end_date", "ended", "failures")


@dataclass
class _Hints:
    """What was stored when the poll began: enough to skip, once fetched, the auctions where nothing happened."""

    states: dict[str, dict[str, Any]]
    reminders: dict[str, set[str]]
    default_reminder: int

    def quiet(self, auction_id: str, auction: Auction | None, now: datetime) -> bool:
        """True if the auction needs no diff and no write: seen before, unchanged, no reminder near, no failures.

        A wrong "not quiet" only costs a diff that finds nothing. A stale "quiet" (another process
        advanced the state meanwhile, or a watch with a longer reminder just arrived) delays that
        news by one poll, since nothing is written for a skipped auction.
        """
        row = self.states.get(auction_id)
        if auction is None or row is None or row["failures"] or row["end_date"] is None:
            return False
        stored = AuctionStateSnapshot(
            auction_id, row["last_bid_id"], row["bid_count"], end_date=row["end_date"], ended=row["ended"]
        )
        longest = max((_longest(r, self.default_reminder) for r in self.reminders.get(auction_id, ())), default=0)
        return is_quiet(stored, observe(auction, now), longest)


def _guarded(work: Any, *args: Any) -> Any:
    try:
        return work(*args)
    except Exception:
        # A database error rolls the batch back; its auctions stay due and the next poll redoes them.
        log.exception("poll: could not record a batch")
        return None


def _never_seen(auction_id: str, now: datetime) -> dict[str, Any]:
    return {
        "auction_id": auction_id,
        "last_bid_id": None,
        "bid_count": 0,
        "top_bidder": None,
        "top_amount": None,
        "end_date": None,
        "next_poll_at": None,
        "ended": False,
        "failures": 0,
        "updated_at": now,
    }


def _snapshot(row: dict[str, Any] | None) -> AuctionStateSnapshot | None:
    if row is None or row["end_date"] is None:
        return None  # no row, or a row only holding a backoff: the auction was never seen
    return AuctionStateSnapshot(
        auction_id=row["auction_id"],
        last_bid_id=row["last_bid_id"],
        bid_count=row["bid_count"],
        top_bidder=row["top_bidder"],
        top_amount=row["top_amount"],
        end_date=row["end_date"],
        ended=row["ended"],
        polled_at=row["updated_at"],
    )


@functools.lru_cache(maxsize=1024)
def _longest(remind_minutes: str, default: int) -> int:
    return max(parse_minutes(remind_minutes or ""), default=default)


def _watcher(row: dict[str, Any], default_minutes: int) -> WatcherInfo:
    return WatcherInfo(
        chat_user_id=row["chat_user_id"],
        platform=row["platform"],
        chat_id=row["chat_id"],
        user_id=row["platform_user_id"],
        auctionity_user_id=row["auctionity_user_id"],
        reminders=tuple(parse_minutes(row["remind_minutes"] or "") or [default_minutes]),
        since=row["created_at"],
    )


_TRACKED = ("last_bid_id", "bid_count", "top_bidder", "top_amount", "end_date", "ended")


def _differs(row: dict[str, Any] | None, new: AuctionStateSnapshot) -> bool:
    """Whether the stored state must be rewritten: most auctions are quiet most polls and are left alone.

    ``updated_at`` is when the values were last written, which is what the diff compares reminder
    times and watch ages with; an unchanged row keeps its older time, which those comparisons allow.
    A row holding failures is rewritten to clear them.
    """
    if row is None or row["failures"] or row["end_date"] is None:
        return True
    return any(row[name] != getattr(new, name) for name in _TRACKED)


def _values(new: AuctionStateSnapshot, now: datetime) -> dict[str, Any]:
    values = {name: getattr(new, name) for name in _TRACKED}
    return {**values, "auction_id": new.auction_id, "next_poll_at": now, "failures": 0, "updated_at": now}
