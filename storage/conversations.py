"""Conversations: a command's answers so far, per chat and user, until they run it or time out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from storage.db import insert_or_find
from storage.models import Conversation


@dataclass(frozen=True)
class OpenConversation:
    command: str
    answers_encrypted: str
    expires_at: datetime


def _find(session: Session, platform: str, chat_id: str, user_id: str) -> Conversation | None:
    return session.exec(
        select(Conversation).where(
            Conversation.platform == platform, Conversation.chat_id == chat_id, Conversation.user_id == user_id
        )
    ).first()


def get_conversation(session: Session, *, platform: str, chat_id: str, user_id: str) -> OpenConversation | None:
    row = _find(session, platform, chat_id, user_id)
    return OpenConversation(row.command, row.answers_encrypted, row.expires_at) if row is not None else None


def save_conversation(
    session: Session,
    *,
    platform: str,
    chat_id: str,
    user_id: str,
    command: str,
    answers_encrypted: str,
    expires_at: datetime,
) -> None:
    """Start a conversation, or record its next answer (one per user and chat: a new command replaces it)."""
    row = _find(session, platform, chat_id, user_id)
    if row is None:
        row = insert_or_find(
            session,
            Conversation(
                platform=platform,
                chat_id=chat_id,
                user_id=user_id,
                command=command,
                answers_encrypted=answers_encrypted,
                expires_at=expires_at,
            ),
            lambda: _find(session, platform, chat_id, user_id),
        )
    row.command = command
    row.answers_encrypted = answers_encrypted
    row.expires_at = expires_at
    session.flush()


def end_conversation(session: Session, *, platform: str, chat_id: str, user_id: str) -> bool:
    """Forget it; False if there was none."""
    return (
        session.exec(
            delete(Conversation).where(
                col(Conversation.platform) == platform,
                col(Conversation.chat_id) == chat_id,
                col(Conversation.user_id) == user_id,
            )
        ).rowcount
        > 0
    )


def prune_conversations(session: Session, *, expired_before: datetime) -> int:
    return session.exec(delete(Conversation).where(col(Conversation.expires_at) < expired_before)).rowcount
