"""Repository functions for people: chat users, purchase claims and verify attempts, access grants, logins."""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import case, delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.db import insert_or_find
from storage.errors import AlreadyClaimed
from storage.models import AccessGrant, AuctionitySession, ChatUser, PurchaseClaim, VerifyAttempt

# --- chat users -------------------------------------------------------------------------------------


def find_chat_user(session: Session, *, platform: str, platform_user_id: str) -> ChatUser | None:
    return session.exec(
        select(ChatUser).where(ChatUser.platform == platform, ChatUser.platform_user_id == platform_user_id)
    ).first()


def get_chat_user(session: Session, *, chat_user_id: int) -> ChatUser | None:
    return session.get(ChatUser, chat_user_id)


def get_or_create_chat_user(
    session: Session, *, platform: str, platform_user_id: str, display_name: str = ""
) -> ChatUser:
    """The chat user for this platform account, created on first contact; keeps display_name current."""
    # A name is only shown, never matched: control characters go (PostgreSQL refuses NUL in text outright).
    display_name = "".join(c for c in display_name if unicodedata.category(c) != "Cc")
    user = find_chat_user(session, platform=platform, platform_user_id=platform_user_id)
    if user is None:
        user = insert_or_find(
            session,
            ChatUser(platform=platform, platform_user_id=platform_user_id, display_name=display_name[:100]),
            lambda: find_chat_user(session, platform=platform, platform_user_id=platform_user_id),
        )
    if display_name and user.display_name != display_name[:100]:
        user.display_name = display_name[:100]
        session.flush()
    return user


def platform_user_ids(session: Session, *, chat_user_ids: Collection[int]) -> dict[int, str]:
    """Each chat user's id on their platform, keyed by our chat_user id (unknown ids are left out)."""
    if not chat_user_ids:
        return {}
    query = select(ChatUser.id, ChatUser.platform_user_id).where(col(ChatUser.id).in_(list(chat_user_ids)))
    return {user_id: platform_user_id for user_id, platform_user_id in session.exec(query) if user_id is not None}


def set_auctionity_user_id(session: Session, *, chat_user_id: int, auctionity_user_id: str) -> None:
    session.exec(update(ChatUser).where(col(ChatUser.id) == chat_user_id).values(auctionity_user_id=auctionity_user_id))


# --- verification -----------------------------------------------------------------------------------


def record_verify_attempt(session: Session, *, chat_user_id: int, ok: bool, at: datetime) -> VerifyAttempt:
    attempt = VerifyAttempt(chat_user_id=chat_user_id, ok=ok, at=at)
    session.add(attempt)
    session.flush()
    return attempt


def failed_attempts_since(session: Session, *, chat_user_id: int, since: datetime) -> list[datetime]:
    """When this user's failed verifications happened, oldest first, from ``since`` on."""
    return list(
        session.exec(
            select(VerifyAttempt.at)
            .where(
                VerifyAttempt.chat_user_id == chat_user_id,
                col(VerifyAttempt.ok).is_(False),
                VerifyAttempt.at >= since,
            )
            .order_by(col(VerifyAttempt.at))
        )
    )


def _active_claims_and_highest_slot(session: Session, code_hash: str) -> tuple[int, int | None]:
    # One statement, so one snapshot: under READ COMMITTED, a count and a max read separately can
    # straddle another claim's commit and yield a fresh slot next to a stale count.
    active, highest_slot = session.exec(
        select(
            func.count(case((col(PurchaseClaim.revoked_at).is_(None), 1))),
            func.max(PurchaseClaim.slot),
        ).where(PurchaseClaim.code_hash == code_hash)
    ).one()
    return active, highest_slot


def claim_purchase(
    session: Session,
    *,
    chat_user_id: int,
    code_hash: str,
    code_encrypted: str,
    item_id: int,
    license: str,
    supported_until: datetime | None,
    max_claims: int = 1,
    now: datetime,
) -> PurchaseClaim:
    """Bind a verified purchase code to a chat user, allowing at most ``max_claims`` users per code.

    The same user verifying again refreshes their claim. Otherwise the claim takes the next slot
    of the code; two concurrent claims pick the same slot and the unique (code_hash, slot)
    constraint admits one, so the limit holds under races on any database. The loser retries
    against the new state, which usually means CodeAlreadyClaimed.

    AlreadyClaimed (storage's own error) says the code is taken; the core words it.
    """
    # Every retry follows a claim that someone else committed, so this bound is never the limit in practice.
    for _ in range(max_claims + 2):
        own = session.exec(
            select(PurchaseClaim).where(
                PurchaseClaim.code_hash == code_hash, PurchaseClaim.chat_user_id == chat_user_id
            )
        ).first()
        if own is not None:
            if own.revoked_at is not None and _active_claims_and_highest_slot(session, code_hash)[0] >= max_claims:
                raise AlreadyClaimed(max_claims=max_claims)
            own.code_encrypted = code_encrypted
            own.item_id = item_id
            own.license = license
            own.supported_until = supported_until
            own.verified_at = now
            own.revoked_at = None
            session.flush()
            return own

        active, highest_slot = _active_claims_and_highest_slot(session, code_hash)
        if active >= max_claims:
            raise AlreadyClaimed(max_claims=max_claims)
        claim = PurchaseClaim(
            code_hash=code_hash,
            slot=0 if highest_slot is None else highest_slot + 1,
            code_encrypted=code_encrypted,
            chat_user_id=chat_user_id,
            item_id=item_id,
            license=license,
            supported_until=supported_until,
            verified_at=now,
        )
        try:
            with session.begin_nested():
                session.add(claim)
            return claim
        except IntegrityError:
            continue  # a concurrent claim took this slot (or this user's own double submit): look again
    raise AlreadyClaimed(max_claims=max_claims)


def holds_claim(session: Session, *, chat_user_id: int, code_hash: str) -> bool:
    """Whether this user holds an active claim of this code (re-verifying their own code)."""
    return (
        session.exec(
            select(PurchaseClaim.id).where(
                PurchaseClaim.code_hash == code_hash,
                PurchaseClaim.chat_user_id == chat_user_id,
                col(PurchaseClaim.revoked_at).is_(None),
            )
        ).first()
        is not None
    )


def claims_for_user(session: Session, *, chat_user_id: int, include_revoked: bool = False) -> list[PurchaseClaim]:
    query = select(PurchaseClaim).where(PurchaseClaim.chat_user_id == chat_user_id)
    if not include_revoked:
        query = query.where(col(PurchaseClaim.revoked_at).is_(None))
    return list(session.exec(query.order_by(col(PurchaseClaim.verified_at), col(PurchaseClaim.id))))


def revoke_claim(session: Session, *, claim_id: int, at: datetime) -> bool:
    """Free the claim's place in its code's limit; False if there is no such active claim."""
    claim = session.get(PurchaseClaim, claim_id)
    if claim is None or claim.revoked_at is not None:
        return False
    claim.revoked_at = at
    session.flush()
    return True


# --- access grants ----------------------------------------------------------------------------------


def _find_access_grant(session: Session, platform: str, place_id: str, item_id: int) -> AccessGrant | None:
    return session.exec(
        select(AccessGrant).where(
            AccessGrant.platform == platform, AccessGrant.place_id == place_id, AccessGrant.item_id == item_id
        )
    ).first()


def set_access_grant(
    session: Session, *, platform: str, place_id: str, item_id: int, target_id: str, created_by: str
) -> AccessGrant:
    """Make a purchase of ``item_id`` unlock ``target_id`` in this place, replacing any earlier target."""
    grant = _find_access_grant(session, platform, place_id, item_id)
    if grant is None:
        grant = insert_or_find(
            session,
            AccessGrant(
                platform=platform, place_id=place_id, item_id=item_id, target_id=target_id, created_by=created_by
            ),
            lambda: _find_access_grant(session, platform, place_id, item_id),
        )
    grant.target_id = target_id
    grant.created_by = created_by
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


# --- Auctionity logins ------------------------------------------------------------------------------


def get_auctionity_session(session: Session, *, chat_user_id: int) -> AuctionitySession | None:
    return session.exec(select(AuctionitySession).where(AuctionitySession.chat_user_id == chat_user_id)).first()


def save_auctionity_session(
    session: Session, *, chat_user_id: int, email: str, token_encrypted: str, expires_at: datetime | None
) -> AuctionitySession:
    """Store the user's (encrypted) Auctionity token, replacing the previous login."""
    login = get_auctionity_session(session, chat_user_id=chat_user_id)
    if login is None:
        login = insert_or_find(
            session,
            AuctionitySession(
                chat_user_id=chat_user_id, email=email, token_encrypted=token_encrypted, expires_at=expires_at
            ),
            lambda: get_auctionity_session(session, chat_user_id=chat_user_id),
        )
    login.email = email
    login.token_encrypted = token_encrypted
    login.expires_at = expires_at
    session.flush()
    return login


def delete_auctionity_session(session: Session, *, chat_user_id: int) -> bool:
    """Forget the user's Auctionity login; False if there was none."""
    result = session.exec(delete(AuctionitySession).where(col(AuctionitySession.chat_user_id) == chat_user_id))
    return result.rowcount > 0
