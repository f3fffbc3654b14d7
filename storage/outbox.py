"""The outbox: alerts decided on, waiting to be sent (and retried) by the dispatcher."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
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


def due_notifications(
    session: Session, *, now: datetime, limit: int = 100, platforms: Collection[str] | None = None
) -> list[Notification]:
    """Unsent notifications whose next attempt is due, oldest first; only for ``platforms`` when given.

    The dispatcher asks only for platforms it can send to right now, so rows waiting for an
    unconfigured (or paused) platform never fill the batch and starve the others.
    """
    conditions = [
        col(Notification.sent_at).is_(None),
        col(Notification.gave_up).is_(False),
        col(Notification.next_attempt_at) <= now,
    ]
    if platforms is not None:
        if not platforms:
            return []
        conditions.append(col(Notification.platform).in_(list(platforms)))
    query = (
        select(Notification)
        .where(*conditions)
        .order_by(col(Notification.next_attempt_at), col(Notification.id))
        .limit(limit)
    )
    return list(session.exec(query))


def mark_notification_sent(session: Session, *, notification_id: int, at: datetime) -> bool:
    """Record a successful send; False if there is no such notification."""
    notification = session.get(Notification, notification_id)
    if notification is None:
        return False
    notification.sent_at = at
    notification.attempts += 1
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
    session.flush()
    return True


def count_notifications(
    session: Session,
    *,
    kind: str | None = None,
    sent: bool | None = None,
    gave_up: bool | None = None,
    chat_user_id: int | None = None,
) -> int:
    """How many notifications match every filter given (all of them when none is)."""
    query = select(func.count()).select_from(Notification)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    if sent is not None:
        query = query.where(col(Notification.sent_at).is_not(None) if sent else col(Notification.sent_at).is_(None))
    if gave_up is not None:
        query = query.where(col(Notification.gave_up).is_(gave_up))
    if chat_user_id is not None:
        query = query.where(Notification.chat_user_id == chat_user_id)
    return session.exec(query).one()


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
        .values(next_attempt_at=until)
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
        update(Notification).where(*conditions).values(gave_up=True, last_error=error[:LAST_ERROR_MAX])
    )
    return result.rowcount
