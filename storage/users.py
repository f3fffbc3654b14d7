"""Chat users (one per platform account) and their Auctionity logins."""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from storage.db import insert_or_find
from storage.models import AuctionitySession, ChatUser


def find_chat_user(session: Session, *, platform: str, platform_user_id: str) -> ChatUser | None:
    return session.exec(
        select(ChatUser).where(ChatUser.platform == platform, ChatUser.platform_user_id == platform_user_id)
    ).first()


def get_or_create_chat_user(
    session: Session,
    *,
    platform: str,
    platform_user_id: str,
    display_name: str = "",
    platform_language: str | None = None,
    now: datetime,
) -> ChatUser:
    """The chat user for this platform account, created on first contact; keeps display_name current."""
    # A name is only shown, never matched: control characters go (PostgreSQL refuses NUL in text outright).
    display_name = "".join(c for c in display_name if unicodedata.category(c) != "Cc")
    user = find_chat_user(session, platform=platform, platform_user_id=platform_user_id)
    if user is None:
        user = insert_or_find(
            session,
            ChatUser(
                platform=platform,
                platform_user_id=platform_user_id,
                display_name=display_name[:100],
                platform_language=platform_language,
                created_at=now,
            ),
            lambda: find_chat_user(session, platform=platform, platform_user_id=platform_user_id),
        )
    if display_name and user.display_name != display_name[:100]:
        user.display_name = display_name[:100]
        session.flush()
    return user


def chosen_language(
    session: Session, *, platform: str, platform_user_id: str, platform_language: str | None
) -> str | None:
    """The language this user chose with /language (None: none), noting the one their platform says they read.

    The platform's language is kept for what reaches them later, when no request names it: alerts, notices.
    """
    user = find_chat_user(session, platform=platform, platform_user_id=platform_user_id)
    if user is None:
        return None
    if platform_language and user.platform_language != platform_language:
        user.platform_language = platform_language
        session.flush()
    return user.language


def choose_language(session: Session, *, chat_user_id: int, language: str | None) -> None:
    """Speak ``language`` to this user from now on; None: follow what their platform says."""
    session.exec(update(ChatUser).where(col(ChatUser.id) == chat_user_id).values(language=language))


def languages(session: Session, *, chat_user_ids: Collection[int]) -> dict[int, tuple[str | None, str | None]]:
    """Each chat user's (chosen, platform) languages, keyed by our chat_user id."""
    if not chat_user_ids:
        return {}
    query = select(ChatUser.id, ChatUser.language, ChatUser.platform_language).where(
        col(ChatUser.id).in_(list(chat_user_ids))
    )
    return {user_id: (chosen, platform) for user_id, chosen, platform in session.exec(query) if user_id is not None}


def platform_user_ids(session: Session, *, chat_user_ids: Collection[int]) -> dict[int, str]:
    """Each chat user's id on their platform, keyed by our chat_user id (unknown ids are left out)."""
    if not chat_user_ids:
        return {}
    query = select(ChatUser.id, ChatUser.platform_user_id).where(col(ChatUser.id).in_(list(chat_user_ids)))
    return {user_id: platform_user_id for user_id, platform_user_id in session.exec(query) if user_id is not None}


def set_auctionity_user_id(session: Session, *, chat_user_id: int, auctionity_user_id: str) -> None:
    session.exec(update(ChatUser).where(col(ChatUser.id) == chat_user_id).values(auctionity_user_id=auctionity_user_id))


def get_auctionity_session(session: Session, *, chat_user_id: int) -> AuctionitySession | None:
    return session.exec(select(AuctionitySession).where(AuctionitySession.chat_user_id == chat_user_id)).first()


def save_auctionity_session(
    session: Session, *, chat_user_id: int, token_encrypted: str, expires_at: datetime | None, now: datetime
) -> AuctionitySession:
    """Store the user's (encrypted) Auctionity token, replacing the previous login. The email they logged in with
    is not kept: nothing reads it back, and what is not stored cannot leak."""
    login = get_auctionity_session(session, chat_user_id=chat_user_id)
    if login is None:
        login = insert_or_find(
            session,
            AuctionitySession(
                chat_user_id=chat_user_id,
                token_encrypted=token_encrypted,
                expires_at=expires_at,
                created_at=now,
            ),
            lambda: get_auctionity_session(session, chat_user_id=chat_user_id),
        )
    login.token_encrypted = token_encrypted
    login.expires_at = expires_at
    session.flush()
    return login


def delete_auctionity_session(session: Session, *, chat_user_id: int) -> bool:
    """Forget the user's Auctionity login; False if there was none."""
    result = session.exec(delete(AuctionitySession).where(col(AuctionitySession.chat_user_id) == chat_user_id))
    return result.rowcount > 0
