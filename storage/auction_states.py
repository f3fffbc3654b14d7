"""What the poller last saw of each watched auction, as one typed snapshot shared with the watch diff."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, exists, func, literal, or_, true
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from storage.models import AuctionState, LiveCard, Watch
from storage.watches import auction_key, keys_in_chunks


@dataclass(frozen=True)
class AuctionSnapshot:
    """One auction_state row as a plain value: read thousands a poll, diffed, written back in batches.

    ``end_date`` None means the auction was never seen (the row only holds a backoff); ``updated_at`` is
    when the tracked values were last written, the "then" that the diff compares reminder times with.
    """

    auction_id: str
    last_bid_id: str | None = None
    bid_count: int = 0
    top_bidder: str | None = None
    top_amount: int | None = None
    end_date: datetime | None = None
    next_poll_at: datetime | None = None
    ended: bool = False
    failures: int = 0
    updated_at: datetime | None = None

    @property
    def seen(self) -> bool:
        return self.end_date is not None

    def same_news(self, other: AuctionSnapshot) -> bool:
        """Whether ``other`` holds the same bids, top, end and ended flag (nothing to tell anyone)."""
        return all(getattr(self, name) == getattr(other, name) for name in TRACKED)


TRACKED = ("last_bid_id", "bid_count", "top_bidder", "top_amount", "end_date", "ended")
_COLUMNS = tuple(f.name for f in fields(AuctionSnapshot))


@dataclass(frozen=True)
class DueAuction:
    """An auction due a poll, with what tells, once it is fetched, whether anything could have happened."""

    auction_id: str
    snapshot: AuctionSnapshot | None
    remind_minutes: frozenset[str] = field(default_factory=frozenset)  # its active watches' settings


def load_snapshots(session: Session, *, auction_ids: Iterable[str]) -> dict[str, AuctionSnapshot]:
    """The stored snapshot of each of these auctions that has one, keyed by its stored id."""
    found: dict[str, AuctionSnapshot] = {}
    table = AuctionState.__table__
    for chunk in keys_in_chunks(auction_ids):
        for row in session.connection().execute(select(*table.c).where(table.c.auction_id.in_(chunk))):
            found[row.auction_id] = AuctionSnapshot(**row._asdict())
    return found


def save_snapshots(
    session: Session, *, inserts: Sequence[AuctionSnapshot] = (), updates: Sequence[AuctionSnapshot] = ()
) -> None:
    """Write snapshots: ``inserts`` are new rows, ``updates`` existing ones; one executemany each."""
    table = AuctionState.__table__
    connection = session.connection()
    if inserts:
        connection.execute(table.insert(), [{**asdict(s), "auction_id": auction_key(s.auction_id)} for s in inserts])
    if updates:
        # Parameters renamed: SQLAlchemy keeps the column names for its own use in an UPDATE's SET clause.
        names = [name for name in _COLUMNS if name != "auction_id"]
        statement = (
            table.update()
            .where(table.c.auction_id == bindparam("p_key"))
            .values({name: bindparam(f"p_{name}") for name in names})
        )
        params = [{"p_key": auction_key(s.auction_id), **{f"p_{n}": getattr(s, n) for n in names}} for s in updates]
        connection.execute(statement, params)


def lease_due_auctions(
    session: Session, *, due_by: datetime, lease_until: datetime, now: datetime, limit: int
) -> list[DueAuction]:
    """Take up to ``limit`` watched auctions due a poll by ``due_by``, most overdue first, leased until ``lease_until``.

    Due: not ended, and its next poll time reached (or unset). Taking an auction moves its next poll
    time to the lease's end, in the transaction that read it: another process skips the rows locked
    here (``FOR UPDATE SKIP LOCKED``) and, once this commits, finds them not due, so no auction is
    polled twice in one interval; if this process dies, the lease runs out and someone else polls it.
    A watched auction never polled gets its row first (never seen), so that it can be leased too.
    """
    _add_missing_states(session, now=now)
    table = AuctionState.__table__
    watched = _followed(table)
    query = (
        select(*table.c)
        .where(
            table.c.ended.is_(False),
            or_(table.c.next_poll_at.is_(None), table.c.next_poll_at <= due_by),
            watched,
        )
        .order_by(table.c.next_poll_at.is_not(None), table.c.next_poll_at, table.c.auction_id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=table)
    )
    snapshots = [AuctionSnapshot(**row._asdict()) for row in session.connection().execute(query)]
    ids = [snapshot.auction_id for snapshot in snapshots]
    schedule_polls(session, {auction_id: lease_until for auction_id in ids})
    reminders: dict[str, set[str]] = {auction_id: set() for auction_id in ids}
    for chunk in keys_in_chunks(ids):
        rows = session.exec(
            select(col(Watch.auction_id), col(Watch.remind_minutes))
            .where(col(Watch.auction_id).in_(chunk), col(Watch.active) == true())
            .distinct()
        )
        for auction_id, remind in rows:
            reminders[auction_id].add(remind)
    return [DueAuction(s.auction_id, s, frozenset(reminders[s.auction_id])) for s in snapshots]


def _followed(table: Any) -> Any:
    """An auction someone follows: an active watch (auto-bids make one) or a live card posted somewhere."""
    return or_(
        exists().where(col(Watch.auction_id) == table.c.auction_id, col(Watch.active) == true()),
        exists().where(col(LiveCard.auction_id) == table.c.auction_id, col(LiveCard.active) == true()),
    )


def _add_missing_states(session: Session, *, now: datetime) -> None:
    """A row (never seen, due at once) for every followed auction that has none yet."""
    table = AuctionState.__table__
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    columns = ["auction_id", "bid_count", "ended", "failures", "updated_at"]
    for source in (Watch, LiveCard):
        missing = (
            select(col(source.auction_id), literal(0), literal(False), literal(0), literal(now))
            .where(col(source.active) == true(), ~exists().where(table.c.auction_id == col(source.auction_id)))
            .distinct()
        )
        # Two processes may add the same auction at once: the second insert is a no-op, not an error.
        session.connection().execute(insert(table).from_select(columns, missing).on_conflict_do_nothing())


def schedule_polls(session: Session, next_polls: dict[str, datetime]) -> None:
    """Set each auction's next poll time; one UPDATE per distinct time (a round has two or three)."""
    by_time: dict[datetime, list[str]] = {}
    for auction_id, at in next_polls.items():
        by_time.setdefault(at, []).append(auction_id)
    table = AuctionState.__table__
    connection = session.connection()
    for at, auction_ids in by_time.items():
        for chunk in keys_in_chunks(auction_ids):
            connection.execute(table.update().where(table.c.auction_id.in_(chunk)).values(next_poll_at=at))


def count_polled(session: Session, *, hot_from: datetime, hot_until: datetime) -> tuple[int, int]:
    """(watched auctions still running, those of them ending between ``hot_from`` and ``hot_until``)."""
    table = AuctionState.__table__
    watched = _followed(table)
    hot = case((and_(table.c.end_date > hot_from, table.c.end_date <= hot_until), 1), else_=0)
    query = select(func.count(), func.coalesce(func.sum(hot), 0)).where(table.c.ended.is_(False), watched)
    total, hot_count = session.connection().execute(query).one()
    return int(total), int(hot_count)


def ended_auction_ids_with_new_watches(session: Session) -> list[str]:
    """Ended auctions with an active watch made after the poller last wrote their state: owed a result."""
    query = (
        select(Watch.auction_id)
        .join(AuctionState, col(AuctionState.auction_id) == col(Watch.auction_id))
        .where(
            col(Watch.active) == true(),
            col(AuctionState.ended).is_(True),
            col(AuctionState.end_date).is_not(None),
            col(Watch.created_at) > col(AuctionState.updated_at),
        )
        .distinct()
        .order_by(col(Watch.auction_id))
    )
    return list(session.exec(query))
