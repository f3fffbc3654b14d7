"""Repository functions for the bot's own bookkeeping: the notification outbox, button tokens, key-values."""

from __future__ import annotations

import json
import secrets
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.db import insert_or_find
from storage.models import ButtonToken, KeyValue, Notification

DEDUPE_KEY_MAX = 200
BUTTON_COMMAND_MAX = 500
LAST_ERROR_MAX = 500

# --- outbox -----------------------------------------------------------------------------------------


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
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
        statement = (
            insert(Notification)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(col(Notification.id))
        )
        # RETURNING rather than rowcount, which drivers report inconsistently for ON CONFLICT.
        return session.exec(statement).first() is not None
    row = Notification(**values)
    return insert_or_find(session, row, lambda: find_notification(session, dedupe_key=dedupe_key)) is row


def find_notification(session: Session, *, dedupe_key: str) -> Notification | None:
    return session.exec(select(Notification).where(Notification.dedupe_key == dedupe_key)).first()


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


# --- button tokens ----------------------------------------------------------------------------------


def _token_for_command(session: Session, command: str) -> str | None:
    return session.exec(select(ButtonToken.token).where(ButtonToken.command == command)).first()


def store_button_command(session: Session, *, command: str, now: datetime) -> str:
    """A 16-character url-safe token standing for ``command``, the same one each time for the same command.

    Telegram limits callback data to 64 bytes; the token survives restarts because it is stored.
    """
    if len(command) > BUTTON_COMMAND_MAX:
        raise ValueError(f"button command longer than {BUTTON_COMMAND_MAX} characters")
    existing = _token_for_command(session, command)
    if existing is not None:
        return existing
    # 96 random bits: a clash is all but impossible, but a retry costs nothing.
    for _ in range(3):
        token = secrets.token_urlsafe(12)
        try:
            with session.begin_nested():
                session.add(ButtonToken(token=token, command=command, created_at=now))
            return token
        except IntegrityError:
            existing = _token_for_command(session, command)  # stored concurrently by someone else
            if existing is not None:
                return existing
    raise RuntimeError("could not store a button token")


def resolve_button_token(session: Session, *, token: str) -> str | None:
    """The command a button token stands for, or None if unknown (e.g. made by another database)."""
    if not token or len(token) > 16:
        return None
    row = session.get(ButtonToken, token)
    return row.command if row is not None else None


# --- key-values -------------------------------------------------------------------------------------


def get_value(session: Session, *, key: str) -> str | None:
    row = session.get(KeyValue, key)
    return row.value if row is not None else None


def delete_value(session: Session, *, key: str) -> bool:
    return session.exec(delete(KeyValue).where(col(KeyValue.key) == key)).rowcount > 0


def set_value(session: Session, *, key: str, value: str) -> None:
    row = session.get(KeyValue, key)
    if row is None:
        row = insert_or_find(session, KeyValue(key=key, value=value), lambda: session.get(KeyValue, key))
    row.value = value
    session.flush()
