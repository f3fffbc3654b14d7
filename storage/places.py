"""Places (a Telegram group, a Discord server): who may be let in, and following a group that changed its id."""

from __future__ import annotations

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from storage.models import AccessGrant, ChatUser, KeyValue, Notification, PurchaseClaim, Watch


def place_setting_key(platform: str, place_id: str, name: str) -> str:
    """The key-value key of a setting that belongs to a place, and moves with it (see move_chat)."""
    return f"place:{platform}:{place_id}:{name}"


def entitled_targets(session: Session, *, platform: str, place_id: str, platform_user_id: str) -> list[str]:
    """The roles (or the group itself) this user's active claims unlock in this place, in grant order."""
    query = (
        select(AccessGrant.target_id)
        .join(PurchaseClaim, col(PurchaseClaim.item_id) == col(AccessGrant.item_id))
        .join(ChatUser, col(ChatUser.id) == col(PurchaseClaim.chat_user_id))
        .where(
            AccessGrant.platform == platform,
            AccessGrant.place_id == place_id,
            ChatUser.platform == platform,
            ChatUser.platform_user_id == platform_user_id,
            col(PurchaseClaim.revoked_at).is_(None),
        )
        .distinct()
    )
    return sorted(session.exec(query))


def move_chat(session: Session, *, platform: str, old_chat_id: str, new_chat_id: str) -> int:
    """Everything kept for a chat follows it to its new id (a Telegram group upgraded to a supergroup).

    Watches, access grants (the group as place and as target), unsent alerts and the place's settings
    move; returns how many rows did.
    """
    moved = 0
    moved += session.exec(
        update(Watch)
        .where(col(Watch.platform) == platform, col(Watch.chat_id) == old_chat_id)
        .values(chat_id=new_chat_id)
    ).rowcount
    moved += session.exec(
        update(AccessGrant)
        .where(col(AccessGrant.platform) == platform, col(AccessGrant.target_id) == old_chat_id)
        .values(target_id=new_chat_id)
    ).rowcount
    moved += session.exec(
        update(AccessGrant)
        .where(col(AccessGrant.platform) == platform, col(AccessGrant.place_id) == old_chat_id)
        .values(place_id=new_chat_id)
    ).rowcount
    moved += session.exec(
        update(Notification)
        .where(
            col(Notification.platform) == platform,
            col(Notification.chat_id) == old_chat_id,
            col(Notification.sent_at).is_(None),
        )
        .values(chat_id=new_chat_id)
    ).rowcount
    old_prefix = place_setting_key(platform, old_chat_id, "")
    new_prefix = place_setting_key(platform, new_chat_id, "")
    # The new id is brand new: anything already under it is a leftover, and would clash with the move.
    session.exec(delete(KeyValue).where(col(KeyValue.key).startswith(new_prefix, autoescape=True)))
    moved += session.exec(
        update(KeyValue)
        .where(col(KeyValue.key).startswith(old_prefix, autoescape=True))
        .values(key=func.replace(col(KeyValue.key), old_prefix, new_prefix))
    ).rowcount
    return moved
