"""What the poller last saw of each watched auction, as one typed snapshot shared with the watch diff."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime

from sqlalchemy import and_, bindparam, case, func, or_, true
from sqlmodel import Session, col, select

from storage.models import AuctionState, Watch
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


def due_auctions(session: Session, *, now: datetime) -> list[DueAuction]:
    """Every auction with an active watch that is due a poll, in one pass over the watches.

    Due: never polled, or not ended and its next poll time reached (or unset).
    """
    state = AuctionState
    any_active = func.max(case((col(Watch.active) == true(), 1), else_=0))
    state_columns = [col(getattr(state, name)) for name in _COLUMNS if name != "auction_id"]
    query = (
        select(
            col(Watch.auction_id),
            col(Watch.remind_minutes),
            any_active.label("any_active"),
            col(state.auction_id).label("state_id"),
            *state_columns,
        )
        .outerjoin(state, col(state.auction_id) == col(Watch.auction_id))
        .where(
            or_(
                col(state.auction_id).is_(None),
                and_(
                    col(state.ended).is_(False),
                    or_(col(state.next_poll_at).is_(None), col(state.next_poll_at) <= now),
                ),
            )
        )
        # Grouped on `active`, not filtered: given `active = 1`, SQLite picks the index on that boolean over
        # the one on auction_id and scans every watch.
        .group_by(col(Watch.auction_id), col(Watch.remind_minutes), col(state.auction_id), *state_columns)
    )
    snapshots: dict[str, AuctionSnapshot | None] = {}
    reminders: dict[str, set[str]] = {}
    for row in session.exec(query):
        values = row._asdict()
        if not values.pop("any_active"):
            continue
        auction_id, remind = values.pop("auction_id"), values.pop("remind_minutes")
        state_id = values.pop("state_id")
        snapshots[auction_id] = AuctionSnapshot(auction_id=auction_id, **values) if state_id is not None else None
        reminders.setdefault(auction_id, set()).add(remind)
    return [DueAuction(a, snapshots[a], frozenset(reminders[a])) for a in snapshots]


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
