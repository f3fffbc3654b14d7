"""Places (a Telegram group, a Discord server): what a purchase unlocks there, who may be let in, and following
a group that changed its id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, update
from sqlmodel import Session, col, select

from storage.db import insert_or_find
from storage.models import AccessGrant, ChatUser, KeyValue, Notification, PurchaseClaim, StaffLog, Watch


def _find_access_grant(session: Session, platform: str, place_id: str, item_id: int) -> AccessGrant | None:
    return session.exec(
        select(AccessGrant).where(
            AccessGrant.platform == platform, AccessGrant.place_id == place_id, AccessGrant.item_id == item_id
        )
    ).first()


def set_access_grant(
    session: Session,
    *,
    platform: str,
    place_id: str,
    item_id: int,
    target_id: str,
    created_by: str,
    now: datetime,
    expires_with_support: bool = False,
) -> AccessGrant:
    """Make a purchase of ``item_id`` unlock ``target_id`` in this place, replacing any earlier target."""
    grant = _find_access_grant(session, platform, place_id, item_id)
    if grant is None:
        grant = insert_or_find(
            session,
            AccessGrant(
                platform=platform,
                place_id=place_id,
                item_id=item_id,
                target_id=target_id,
                created_by=created_by,
                created_at=now,
            ),
            lambda: _find_access_grant(session, platform, place_id, item_id),
        )
    grant.target_id = target_id
    grant.created_by = created_by
    grant.expires_with_support = expires_with_support
    session.flush()
    return grant


def remove_access_grant(session: Session, *, platform: str, place_id: str, item_id: int) -> bool:
    """False if the place had no grant for this item."""
    result = session.exec(
        delete(AccessGrant).where(
            col(AccessGrant.platform) == platform,
            col(AccessGrant.place_id) == place_id,
            col(AccessGrant.item_id) == item_id,
        )
    )
    return result.rowcount > 0


def access_grants_for_item(session: Session, *, item_id: int, platform: str | None = None) -> list[AccessGrant]:
    query = select(AccessGrant).where(AccessGrant.item_id == item_id)
    if platform is not None:
        query = query.where(AccessGrant.platform == platform)
    return list(session.exec(query.order_by(col(AccessGrant.id))))


def access_grants_for_place(session: Session, *, platform: str, place_id: str) -> list[AccessGrant]:
    return list(
        session.exec(
            select(AccessGrant)
            .where(AccessGrant.platform == platform, AccessGrant.place_id == place_id)
            .order_by(col(AccessGrant.item_id))
        )
    )


def place_setting_key(platform: str, place_id: str, name: str) -> str:
    """The key-value key of a setting that belongs to a place, and moves with it (see move_chat)."""
    return f"place:{platform}:{place_id}:{name}"


def entitled_targets(
    session: Session, *, platform: str, place_id: str, platform_user_id: str, now: datetime
) -> list[str]:
    """The roles (or the group itself) this user's active claims unlock in this place now.

    A grant that follows the licence counts only while the purchase's support lasts.
    """
    supported = or_(col(AccessGrant.expires_with_support).is_(False), col(PurchaseClaim.supported_until) > now)
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
            supported,
        )
        .distinct()
    )
    return sorted(session.exec(query))


@dataclass(frozen=True)
class SupportEnd:
    """A grant that follows the licence, and a claim whose support ends (or ended) by the time asked."""

    claim_id: int
    grant_id: int
    item_id: int
    place_id: str
    target_id: str
    supported_until: datetime
    chat_user_id: int
    platform: str
    platform_user_id: str


def support_ends(session: Session, *, before: datetime) -> list[SupportEnd]:
    """Active claims whose support ends before ``before``, with each grant of theirs that follows the licence."""
    query = (
        select(
            PurchaseClaim.id, AccessGrant.id, AccessGrant.item_id, AccessGrant.place_id, AccessGrant.target_id,
            PurchaseClaim.supported_until, ChatUser.id, ChatUser.platform, ChatUser.platform_user_id,
        )
        .join(AccessGrant, col(AccessGrant.item_id) == col(PurchaseClaim.item_id))
        .join(ChatUser, col(ChatUser.id) == col(PurchaseClaim.chat_user_id))
        .where(
            col(PurchaseClaim.revoked_at).is_(None),
            col(AccessGrant.expires_with_support).is_(True),
            col(AccessGrant.platform) == col(ChatUser.platform),
            col(PurchaseClaim.supported_until).is_not(None),
            col(PurchaseClaim.supported_until) < before,
        )
        .order_by(col(PurchaseClaim.id), col(AccessGrant.id))
    )  # fmt: skip
    return [SupportEnd(*row) for row in session.exec(query)]


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
    moved += session.exec(
        update(StaffLog)
        .where(col(StaffLog.platform) == platform, col(StaffLog.chat_id) == old_chat_id)
        .values(chat_id=new_chat_id)
    ).rowcount
    old_prefix = place_setting_key(platform, old_chat_id, "")
    new_prefix = place_setting_key(platform, new_chat_id, "")
    # The new id is brand new: anything already under it is a leftover, and would clash with the move.
    # Only when there is something to move: the move is announced twice (in the old chat and in the new),
    # and the second announcement must not delete what the first moved.
    old_settings = select(KeyValue.key).where(col(KeyValue.key).startswith(old_prefix, autoescape=True)).limit(1)
    if session.exec(old_settings).first() is not None:
        session.exec(delete(KeyValue).where(col(KeyValue.key).startswith(new_prefix, autoescape=True)))
    moved += session.exec(
        update(KeyValue)
        .where(col(KeyValue.key).startswith(old_prefix, autoescape=True))
        .values(key=func.replace(col(KeyValue.key), old_prefix, new_prefix))
    ).rowcount
    return moved
