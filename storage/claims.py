"""Purchase claims (a code bound to a chat user) and the log of verification attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.errors import AlreadyClaimed
from storage.models import PurchaseClaim, VerifyAttempt


def record_verify_attempt(session: Session, *, chat_user_id: int, ok: bool, at: datetime) -> VerifyAttempt:
    attempt = VerifyAttempt(chat_user_id=chat_user_id, ok=ok, at=at)
    session.add(attempt)
    session.flush()
    return attempt


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
