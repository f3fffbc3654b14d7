"""The outbox: alerts decided on, waiting to be sent (and retried) by the dispatcher.

A dispatcher leases the rows it is about to send (``leased_until``, a column of its own rather than a
later ``next_attempt_at``: a lease must not look like a retry's backoff, which holds back only its row,
while a lease holds the row's whole chat, and a row whose lease ran out keeps its place in line).
Whatever settles a row (sent, retried later, given up) or hands it back clears its lease.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, or_, tuple_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.models import Notification

DEDUPE_KEY_MAX = 200
LAST_ERROR_MAX = 500


def enqueue_notification(
    session: Session,
    *,
    dedupe_key: str,
    platform: str,
    chat_id: str,
    chat_user_id: int | None,
    kind: str,
    payload: str | Mapping[str, Any],
    now: datetime,
) -> bool:
    """Queue a message for the dispatcher; False (and nothing written) if ``dedupe_key`` was queued before.

    A duplicate never raises, so the caller's transaction, which usually also advances the
    poller's state, carries on. ``payload`` is the rendered reply as JSON text (or a mapping to dump).
    """
    if len(dedupe_key) > DEDUPE_KEY_MAX:
        raise ValueError(f"dedupe_key longer than {DEDUPE_KEY_MAX} characters: {dedupe_key[:40]}...")
    values = {
        "dedupe_key": dedupe_key,
        "platform": platform,
        "chat_id": chat_id,
        "chat_user_id": chat_user_id,
        "kind": kind,
        "payload": payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False),
        "created_at": now,
        "next_attempt_at": now,
        "attempts": 0,
        "gave_up": False,
    }
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(Notification)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(col(Notification.id))
    )
    # RETURNING rather than rowcount, which drivers report inconsistently for ON CONFLICT.
    return session.exec(statement).first() is not None


def lease_due_notifications(
    session: Session,
    *,
    now: datetime,
    until: datetime,
    platforms: Collection[str],
    limit: int,
    except_kind: str | None = None,
) -> list[Notification]:
    """Take the due rows of ``platforms`` in chats no one else holds, oldest first, at most ``limit``: leased
    to the caller until ``until``. ``except_kind``: rows of that kind are left for their own lane.

    A chat is held while any of its pending rows has a lease that has not run out, so one process at a
    time sends a chat's rows, in order (a chat cut short by ``limit`` stays held by its leased rows); a
    process that dies leaves leases that run out, and then its rows are anyone's again.
    """
    if not platforms:
        return []
    query = _due(now, platforms).order_by(col(Notification.next_attempt_at), col(Notification.id)).limit(limit)
    if except_kind is not None:
        query = query.where(col(Notification.kind) != except_kind)
    return _lease(session, list(session.exec(query)), now=now, until=until)


def lease_due_of_kind(
    session: Session, *, kind: str, now: datetime, until: datetime, platforms: Collection[str], limit: int
) -> list[Notification]:
    """Due rows of ``kind``, oldest first, at most ``limit``, in chats no one holds and that have no row of another
    kind due: rows of this kind yield to everything else. Leased until ``until``."""
    if not platforms:
        return []
    other = aliased(Notification)
    other_due = exists().where(
        col(other.platform) == col(Notification.platform),
        col(other.chat_id) == col(Notification.chat_id),
        col(other.sent_at).is_(None),
        col(other.gave_up).is_(False),
        col(other.kind) != kind,
        col(other.next_attempt_at) <= now,
    )
    query = _due(now, platforms).where(col(Notification.kind) == kind, ~other_due)
    found = session.exec(query.order_by(col(Notification.next_attempt_at), col(Notification.id)).limit(limit))
    return _lease(session, list(found), now=now, until=until)


def _due(now: datetime, platforms: Collection[str]) -> Any:
    """Due rows of ``platforms``, not leased, in chats nobody holds; locked as they are read (``_lease``)."""
    held = aliased(Notification)
    held_chat = exists().where(
        col(held.platform) == col(Notification.platform),
        col(held.chat_id) == col(Notification.chat_id),
        col(held.sent_at).is_(None),
        col(held.gave_up).is_(False),
        col(held.leased_until) > now,
    )
    return (
        select(Notification)
        .where(*_pending(), col(Notification.next_attempt_at) <= now, col(Notification.platform).in_(list(platforms)))
        # The row's own lease again, outside the subquery: PostgreSQL re-checks a row's own conditions, not a
        # subquery's, on a row another transaction leased and committed while this statement ran.
        .where(or_(col(Notification.leased_until).is_(None), col(Notification.leased_until) <= now), ~held_chat)
        .with_for_update(skip_locked=True)  # SQLite has no row locks, and needs none: one writer at a time
    )


def _lease(session: Session, found: list[Notification], *, now: datetime, until: datetime) -> list[Notification]:
    if not found:
        return []
    contended = _contended_chats(session, {(n.platform, n.chat_id) for n in found}, now=now)
    taken = [n for n in found if (n.platform, n.chat_id) not in contended]
    if taken:
        ids = [n.id for n in taken]
        session.exec(update(Notification).where(col(Notification.id).in_(ids)).values(leased_until=until))
    return taken


def _contended_chats(session: Session, chats: set[tuple[str, str]], *, now: datetime) -> set[tuple[str, str]]:
    """The chats among ``chats`` that another process is taking at this moment, or took since we looked.

    Two processes leasing at once do not see each other's uncommitted leases, and each skips the rows
    the other has locked, so each could take part of one chat. Locking every pending row of our chats
    settles it: a row we cannot lock (another transaction has it) or a lease that is not ours means the
    chat is left alone this round, perhaps by both, but never sent by two at once.
    """
    rows = select(col(Notification.id), col(Notification.platform), col(Notification.chat_id)).where(
        *_pending(), tuple_(col(Notification.platform), col(Notification.chat_id)).in_(sorted(chats))
    )
    locked = {row.id for row in session.exec(rows.with_for_update(skip_locked=True))}
    contended = set()
    for row in session.exec(rows.add_columns(col(Notification.leased_until))):
        if row.id not in locked or (row.leased_until is not None and row.leased_until > now):
            contended.add((row.platform, row.chat_id))
    return contended


def release_notifications(session: Session, *, notification_ids: Collection[int]) -> int:
    """Hand back leased rows that were not tried (a chat's turn ended early): due again for anyone; how many."""
    if not notification_ids:
        return 0
    result = session.exec(
        update(Notification)
        .where(
            col(Notification.id).in_(list(notification_ids)),
            col(Notification.sent_at).is_(None),
            col(Notification.leased_until).is_not(None),
        )
        .values(leased_until=None)
    )
    return result.rowcount


def _pending() -> tuple[Any, ...]:
    return col(Notification.sent_at).is_(None), col(Notification.gave_up).is_(False)


def mark_notification_sent(session: Session, *, notification_id: int, at: datetime) -> bool:
    """Record a successful send; False if there is no such notification."""
    notification = session.get(Notification, notification_id)
    if notification is None:
        return False
    notification.sent_at = at
    notification.attempts += 1
    notification.leased_until = None
    session.flush()
    return True


def mark_notification_failed(
    session: Session, *, notification_id: int, error: str, next_attempt_at: datetime, give_up: bool
) -> bool:
    """Record a failed send and when to try again, or that we stop trying; False if there is no such row."""
    notification = session.get(Notification, notification_id)
    if notification is None:
        return False
    notification.attempts += 1
    notification.last_error = error[:LAST_ERROR_MAX]
    notification.next_attempt_at = next_attempt_at
    notification.gave_up = give_up
    notification.leased_until = None
    session.flush()
    return True


def platforms_with_due_notifications(session: Session, *, now: datetime) -> set[str]:
    """The platforms that have unsent notifications due now."""
    query = (
        select(Notification.platform)
        .where(
            col(Notification.sent_at).is_(None),
            col(Notification.gave_up).is_(False),
            col(Notification.next_attempt_at) <= now,
        )
        .distinct()
    )
    return set(session.exec(query))


def defer_notification(session: Session, *, notification_id: int, until: datetime, error: str) -> bool:
    """Put off a notification the platform asked us to retry later, without counting it as an attempt."""
    notification = session.get(Notification, notification_id)
    if notification is None:
        return False
    notification.next_attempt_at = until
    notification.last_error = error[:LAST_ERROR_MAX]
    notification.leased_until = None
    session.flush()
    return True


def defer_chat_notifications(session: Session, *, platform: str, chat_id: str, until: datetime) -> int:
    """Hold every pending notification of one chat until at least ``until`` (flood control); how many moved.

    Rows already due later keep their time; attempts are not touched.
    """
    result = session.exec(
        update(Notification)
        .where(
            col(Notification.platform) == platform,
            col(Notification.chat_id) == chat_id,
            col(Notification.sent_at).is_(None),
            col(Notification.gave_up).is_(False),
            col(Notification.next_attempt_at) < until,
        )
        .values(next_attempt_at=until, leased_until=None)
    )
    return result.rowcount


def give_up_chat_notifications(
    session: Session, *, platform: str, chat_id: str, error: str, chat_user_id: int | None = None
) -> int:
    """Stop trying every pending notification of one chat (it blocked the bot), or of one user there; how many."""
    conditions = [
        col(Notification.platform) == platform,
        col(Notification.chat_id) == chat_id,
        col(Notification.sent_at).is_(None),
        col(Notification.gave_up).is_(False),
    ]
    if chat_user_id is not None:
        conditions.append(col(Notification.chat_user_id) == chat_user_id)
    result = session.exec(
        update(Notification)
        .where(*conditions)
        .values(gave_up=True, last_error=error[:LAST_ERROR_MAX], leased_until=None)
    )
    return result.rowcount


def count_due_notifications(session: Session, *, now: datetime) -> int:
    """How many unsent notifications are due now, whatever their platform (the backlog /metrics reports)."""
    query = (
        select(func.count())
        .select_from(Notification)
        .where(
            col(Notification.sent_at).is_(None),
            col(Notification.gave_up).is_(False),
            col(Notification.next_attempt_at) <= now,
        )
    )
    return session.exec(query).one()
