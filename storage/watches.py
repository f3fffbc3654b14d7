"""Watches: who follows which auction, and where to tell them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import true, update
from sqlmodel import Session, col, select

from storage.db import insert_or_find
from storage.models import ChatUser, Watch, format_minutes

# Long IN lists are split so no database hits its bound-parameter limit.
_IN_CHUNK = 500


def auction_key(auction_id: str) -> str:
    """The stored spelling of an auction id: 0x-hex, lowercase, no surrounding blanks."""
    return auction_id.strip().lower()


def keys_in_chunks(auction_ids: Iterable[str]) -> Iterable[list[str]]:
    keys = sorted({auction_key(auction_id) for auction_id in auction_ids})
    for start in range(0, len(keys), _IN_CHUNK):
        yield keys[start : start + _IN_CHUNK]


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
    now: datetime,
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
                chat_user_id=chat_user_id,
                auction_id=key,
                platform=platform,
                chat_id=chat_id,
                remind_minutes=minutes,
                created_at=now,
            ),
            lambda: _find_watch(session, chat_user_id, key),
        )
    if not watch.active:
        # A re-watch is a new watch for the poller: it must still hear the result of an ended auction.
        watch.created_at = now
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


def deactivate_watches_for_chat(
    session: Session, *, platform: str, chat_id: str, chat_user_id: int | None = None
) -> int:
    """Stop every watch reporting to a chat (the bot was blocked or removed), or only one user's watches there
    (that user cannot be reached, the others still can); how many were active."""
    conditions = [col(Watch.platform) == platform, col(Watch.chat_id) == chat_id, col(Watch.active) == true()]
    if chat_user_id is not None:
        conditions.append(col(Watch.chat_user_id) == chat_user_id)
    return session.exec(update(Watch).where(*conditions).values(active=False)).rowcount


@dataclass(frozen=True)
class WatcherRow:
    """One active watch with what the poller needs of its user: read thousands a poll, no ORM objects."""

    chat_user_id: int
    platform: str
    chat_id: str
    remind_minutes: str
    created_at: datetime
    platform_user_id: str
    auctionity_user_id: str | None
    language: str | None  # chosen with /language
    platform_language: str | None


def watcher_rows_by_auction(session: Session, *, auction_ids: Iterable[str]) -> dict[str, list[WatcherRow]]:
    """Each auction's active watches, oldest first; auctions nobody actively watches are left out."""
    found: dict[str, list[WatcherRow]] = {}
    for chunk in keys_in_chunks(auction_ids):
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
                ChatUser.language,
                ChatUser.platform_language,
            )
            .join(ChatUser, col(ChatUser.id) == col(Watch.chat_user_id))
            .where(col(Watch.auction_id).in_(chunk))
            .order_by(col(Watch.id))
        )
        for row in rows:
            values = row._asdict()
            if values.pop("active"):
                found.setdefault(values.pop("auction_id"), []).append(WatcherRow(**values))
    return found
