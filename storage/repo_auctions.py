"""Repository functions for the auction watcher: who watches what, and what the poller last saw."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, func, or_, true, update
from sqlmodel import Session, col, select

from storage.db import insert_or_find
from storage.models import AuctionState, ChatUser, Watch, format_minutes, utcnow

# Long IN lists are split so no database hits its bound-parameter limit.
_IN_CHUNK = 500


def auction_key(auction_id: str) -> str:
    """The stored spelling of an auction id: 0x-hex, lowercase, no surrounding blanks."""
    return auction_id.strip().lower()


def _keys_in_chunks(auction_ids: Iterable[str]) -> Iterable[list[str]]:
    keys = sorted({auction_key(auction_id) for auction_id in auction_ids})
    for start in range(0, len(keys), _IN_CHUNK):
        yield keys[start : start + _IN_CHUNK]


# --- watches ----------------------------------------------------------------------------------------


def _find_watch(session: Session, chat_user_id: int, auction_id: str) -> Watch | None:
    return session.exec(select(Watch).where(Watch.chat_user_id == chat_user_id, Watch.auction_id == auction_id)).first()


def add_watch(
    session: Session,
    *,
    chat_user_id: int,
    auction_id: str,
    platform: str,
    chat_id: str,
    remind_minutes: str | Sequence[int] = "",
) -> Watch:
    """Watch an auction, or re-activate and re-target an existing watch of it.

    ``remind_minutes`` (``"60,10"`` or ``[60, 10]``): minutes before the end to send a reminder.
    """
    key = auction_key(auction_id)
    minutes = format_minutes(remind_minutes)
    watch = _find_watch(session, chat_user_id, key)
    if watch is None:
        watch = insert_or_find(
            session,
            Watch(
                chat_user_id=chat_user_id, auction_id=key, platform=platform, chat_id=chat_id, remind_minutes=minutes
            ),
            lambda: _find_watch(session, chat_user_id, key),
        )
    if not watch.active:
        # A re-watch is a new watch for the poller: it must still hear the result of an ended auction.
        watch.created_at = utcnow()
    watch.platform = platform
    watch.chat_id = chat_id
    watch.remind_minutes = minutes
    watch.active = True
    session.flush()
    return watch


def deactivate_watch(session: Session, *, chat_user_id: int, auction_id: str) -> bool:
    """Stop watching; False if the user had no active watch on that auction."""
    watch = _find_watch(session, chat_user_id, auction_key(auction_id))
    if watch is None or not watch.active:
        return False
    watch.active = False
    session.flush()
    return True


def active_watches_for_user(session: Session, *, chat_user_id: int) -> list[Watch]:
    return list(
        session.exec(
            select(Watch)
            .where(Watch.chat_user_id == chat_user_id, col(Watch.active) == true())
            .order_by(col(Watch.created_at), col(Watch.id))
        )
    )


def active_watches_by_auction(
    session: Session, *, auction_ids: Iterable[str]
) -> dict[str, list[tuple[Watch, ChatUser]]]:
    """Each auction's active watches with their users; auctions nobody watches are left out."""
    found: dict[str, list[tuple[Watch, ChatUser]]] = {}
    for chunk in _keys_in_chunks(auction_ids):
        rows = session.exec(
            select(Watch, ChatUser)
            .join(ChatUser, col(ChatUser.id) == col(Watch.chat_user_id))
            .where(col(Watch.auction_id).in_(chunk), col(Watch.active) == true())
            .order_by(col(Watch.id))
        )
        for watch, user in rows:
            found.setdefault(watch.auction_id, []).append((watch, user))
    return found


def watched_auction_ids_due(session: Session, *, now: datetime, limit: int | None = None) -> list[str]:
    """Distinct auctions someone actively watches that are due a poll, never-polled and most overdue first.

    Due: no AuctionState yet, or not ended and next_poll_at unset or reached.
    """
    query = (
        select(Watch.auction_id, AuctionState.next_poll_at)
        .outerjoin(AuctionState, col(AuctionState.auction_id) == col(Watch.auction_id))
        .where(
            col(Watch.active) == true(),
            or_(
                col(AuctionState.auction_id).is_(None),
                and_(
                    col(AuctionState.ended).is_(False),
                    or_(col(AuctionState.next_poll_at).is_(None), col(AuctionState.next_poll_at) <= now),
                ),
            ),
        )
        .distinct()
        .order_by(col(AuctionState.next_poll_at).asc().nulls_first(), col(Watch.auction_id))
    )
    if limit is not None:
        query = query.limit(limit)
    return [auction_id for auction_id, _next_poll_at in session.exec(query)]


def deactivate_watches_for_chat(
    session: Session, *, platform: str, chat_id: str, chat_user_id: int | None = None
) -> int:
    """Stop every watch reporting to a chat (the bot was blocked or removed), or only one user's watches there
    (that user cannot be reached, the others still can); how many were active."""
    conditions = [col(Watch.platform) == platform, col(Watch.chat_id) == chat_id, col(Watch.active) == true()]
    if chat_user_id is not None:
        conditions.append(col(Watch.chat_user_id) == chat_user_id)
    return session.exec(update(Watch).where(*conditions).values(active=False)).rowcount


def deactivate_watches_for_auction(session: Session, *, auction_id: str) -> int:
    """Stop every watch of an auction (e.g. once it ended and the results went out); how many were active."""
    result = session.exec(
        update(Watch)
        .where(col(Watch.auction_id) == auction_key(auction_id), col(Watch.active) == true())
        .values(active=False)
    )
    return result.rowcount


# --- auction state ----------------------------------------------------------------------------------


def get_auction_states(session: Session, *, auction_ids: Iterable[str]) -> dict[str, AuctionState]:
    """The stored state of each of these auctions that has one, keyed by lowercase id."""
    states: dict[str, AuctionState] = {}
    for chunk in _keys_in_chunks(auction_ids):
        for state in session.exec(select(AuctionState).where(col(AuctionState.auction_id).in_(chunk))):
            states[state.auction_id] = state
    return states


def save_auction_state(session: Session, state: AuctionState) -> AuctionState:
    """Insert or update ``state`` by auction id; returns the instance the session tracks."""
    state.auction_id = auction_key(state.auction_id)
    saved = session.merge(state)
    session.flush()
    return saved


# --- for the poller: light rows, loaded a batch of auctions at a time --------------------------------


def watcher_rows_by_auction(session: Session, *, auction_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Each auction's active watches as plain rows (no ORM objects: the poller reads thousands a cycle).

    Row keys: chat_user_id, platform, chat_id, remind_minutes, created_at, platform_user_id,
    auctionity_user_id.
    """
    found: dict[str, list[dict[str, Any]]] = {}
    for chunk in _keys_in_chunks(auction_ids):
        # `active` is tested here rather than in SQL: given `active = 1`, SQLite picks the index on that
        # boolean over the one on auction_id and scans every watch (15 ms a batch at 50,000 watches).
        rows = session.exec(
            select(
                Watch.auction_id,
                Watch.active,
                Watch.chat_user_id,
                Watch.platform,
                Watch.chat_id,
                Watch.remind_minutes,
                Watch.created_at,
                ChatUser.platform_user_id,
                ChatUser.auctionity_user_id,
            )
            .join(ChatUser, col(ChatUser.id) == col(Watch.chat_user_id))
            .where(col(Watch.auction_id).in_(chunk))
            .order_by(col(Watch.id))
        )
        for row in rows:
            values = row._asdict()
            if values.pop("active"):
                found.setdefault(values.pop("auction_id"), []).append(values)
    return found


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


def reminder_settings_by_auction(session: Session, *, auction_ids: Iterable[str]) -> dict[str, set[str]]:
    """The distinct ``remind_minutes`` of each auction's active watches: enough to tell whether a reminder is near."""
    found: dict[str, set[str]] = {}
    # One row per distinct setting, not per watch. `active` is folded in rather than filtered on, for the
    # reason given in watcher_rows_by_auction.
    any_active = func.max(case((col(Watch.active) == true(), 1), else_=0))
    for chunk in _keys_in_chunks(auction_ids):
        rows = session.exec(
            select(Watch.auction_id, Watch.remind_minutes, any_active)
            .where(col(Watch.auction_id).in_(chunk))
            .group_by(col(Watch.auction_id), col(Watch.remind_minutes))
        )
        for auction_id, remind_minutes, active in rows:
            if active:
                found.setdefault(auction_id, set()).add(remind_minutes)
    return found


def auction_state_values(
    session: Session, *, auction_ids: Iterable[str], columns: Sequence[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Stored AuctionStates as plain dicts of ``columns`` (default: all), keyed by auction id.

    No ORM objects: the poller reads thousands a poll, and fewer columns parse faster.
    """
    found: dict[str, dict[str, Any]] = {}
    table = AuctionState.__table__
    selected = [table.c[name] for name in dict.fromkeys(["auction_id", *(columns or table.c.keys())])]
    for chunk in _keys_in_chunks(auction_ids):
        for row in session.connection().execute(select(*selected).where(table.c.auction_id.in_(chunk))):
            found[row.auction_id] = row._asdict()
    return found


def save_auction_state_values(
    session: Session, *, inserts: Sequence[dict[str, Any]] = (), updates: Sequence[dict[str, Any]] = ()
) -> None:
    """Write AuctionStates from dicts holding every column: ``inserts`` are new rows, ``updates`` existing ones.

    One executemany each, since the poller writes hundreds a poll.
    """
    table = AuctionState.__table__
    connection = session.connection()
    if inserts:
        connection.execute(table.insert(), [{**row, "auction_id": auction_key(row["auction_id"])} for row in inserts])
    if updates:
        # Parameters renamed: SQLAlchemy keeps the column names for its own use in an UPDATE's SET clause.
        names = [column.name for column in table.columns if column.name != "auction_id"]
        statement = (
            table.update()
            .where(table.c.auction_id == bindparam("p_key"))
            .values({name: bindparam(f"p_{name}") for name in names})
        )
        params = [{"p_key": auction_key(row["auction_id"]), **{f"p_{n}": row[n] for n in names}} for row in updates]
        connection.execute(statement, params)


def due_auction_rows(session: Session, *, now: datetime) -> list[dict[str, Any]]:
    """What the poller needs to start a poll, in one pass over the watches.

    One row per auction due a poll (as in watched_auction_ids_due) and distinct ``remind_minutes``
    among its active watches: auction_id, remind_minutes, and the stored state (state_id None when
    there is none; last_bid_id, bid_count, end_date, ended, failures, next_poll_at).
    """
    state = AuctionState
    any_active = func.max(case((col(Watch.active) == true(), 1), else_=0))
    state_columns = [
        col(state.auction_id).label("state_id"),
        col(state.last_bid_id),
        col(state.bid_count),
        col(state.end_date),
        col(state.ended),
        col(state.failures),
        col(state.next_poll_at),
    ]
    query = (
        select(col(Watch.auction_id), col(Watch.remind_minutes), any_active.label("any_active"), *state_columns)
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
        # Grouped, not filtered, on `active`: see watcher_rows_by_auction.
        .group_by(col(Watch.auction_id), col(Watch.remind_minutes), *state_columns)
    )
    rows = []
    for row in session.exec(query):
        values = row._asdict()
        if values.pop("any_active"):
            rows.append(values)
    return rows
