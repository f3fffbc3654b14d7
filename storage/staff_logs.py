"""Staff logs: the chats where the seller's staff read what happens to verified buyers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from storage.db import insert_or_find
from storage.models import StaffLog


def _find(session: Session, platform: str, chat_id: str) -> StaffLog | None:
    return session.exec(select(StaffLog).where(StaffLog.platform == platform, StaffLog.chat_id == chat_id)).first()


def add_staff_log(
    session: Session, *, platform: str, chat_id: str, created_by: str, language: str | None = None, now: datetime
) -> bool:
    """Make this chat a staff log, speaking ``language``; False if it already was one."""
    if _find(session, platform, chat_id) is not None:
        return False
    row = StaffLog(platform=platform, chat_id=chat_id, created_by=created_by, language=language, created_at=now)
    return insert_or_find(session, row, lambda: _find(session, platform, chat_id)) is row


def remove_staff_log(session: Session, *, platform: str, chat_id: str) -> bool:
    """Stop posting to this chat; False if it was not a staff log."""
    query = delete(StaffLog).where(col(StaffLog.platform) == platform, col(StaffLog.chat_id) == chat_id)
    return session.exec(query).rowcount > 0


def staff_logs(session: Session) -> list[tuple[str, str, str | None]]:
    """Every staff log, as (platform, chat id, language)."""
    rows = session.exec(select(StaffLog).order_by(col(StaffLog.id)))
    return [(row.platform, row.chat_id, row.language) for row in rows]
