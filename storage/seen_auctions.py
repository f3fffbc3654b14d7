"""Auctions seen through the bot: created, watched, bid on, posted or looked at. What /auctions lists, live first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, delete, func, or_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from storage.models import SeenAuction


@dataclass(frozen=True)
class Seen:
    """What the bot last saw of one auction: enough to order a list before asking Auctionity for the rest."""

    auction_id: str
    name: str | None
    start_date: datetime | None
    end_date: datetime | None


def remember_auctions(session: Session, *, auctions: Sequence[Seen], now: datetime) -> None:
    """Add these auctions, or bring their name and dates up to date (an end can move)."""
    if not auctions:
        return
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    rows = {
        a.auction_id.lower(): {
            "auction_id": a.auction_id.lower(),
            "name": (a.name or "")[:200] or None,
            "start_date": a.start_date,
            "end_date": a.end_date,
            "seen_at": now,
        }
        for a in auctions
    }
    statement = insert(SeenAuction.__table__).values(list(rows.values()))
    excluded = statement.excluded
    session.connection().execute(
        statement.on_conflict_do_update(
            index_elements=["auction_id"],
            set_={
                "name": func.coalesce(excluded.name, SeenAuction.__table__.c.name),
                "start_date": func.coalesce(excluded.start_date, SeenAuction.__table__.c.start_date),
                "end_date": func.coalesce(excluded.end_date, SeenAuction.__table__.c.end_date),
                "seen_at": excluded.seen_at,
            },
        )
    )


def known_auctions(session: Session, *, now: datetime, offset: int, limit: int) -> tuple[list[Seen], int]:
    """One page of the auctions the bot knows, and how many there are: running ones first (ending soonest first),
    then those still to start (soonest first), then ended ones (most recent first)."""
    running = or_(col(SeenAuction.start_date).is_(None), col(SeenAuction.start_date) <= now)
    live = or_(col(SeenAuction.end_date).is_(None), col(SeenAuction.end_date) > now)
    group = case((live & running, 0), (live, 1), else_=2)
    # Each group in its own order: running ones by end, coming ones by start, ended ones by end backwards.
    order = (
        group,
        case((group == 0, col(SeenAuction.end_date)), else_=None),
        case((group == 1, col(SeenAuction.start_date)), else_=None),
        col(SeenAuction.end_date).desc(),
        col(SeenAuction.auction_id),
    )
    rows = session.exec(select(SeenAuction).order_by(*order).offset(offset).limit(limit)).all()
    total = session.exec(select(func.count()).select_from(SeenAuction)).one()
    return [Seen(r.auction_id, r.name, r.start_date, r.end_date) for r in rows], int(total)


def prune_seen_auctions(session: Session, *, ended_before: datetime) -> int:
    """Forget auctions that ended before ``ended_before``; how many went."""
    return session.exec(delete(SeenAuction).where(col(SeenAuction.end_date) < ended_before)).rowcount
