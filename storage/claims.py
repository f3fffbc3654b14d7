"""Purchase claims (a code bound to a chat user) and the log of verification attempts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.errors import AlreadyClaimed, ClaimRevoked
from storage.models import ChatUser, PurchaseClaim, VerifyAttempt

# Revoked by these, a claim stays revoked: its holder cannot simply verify the same code again.
FINAL_REVOKE_REASONS = ("revoked",)


def record_verify_attempt(
    session: Session,
    *,
    chat_user_id: int,
    ok: bool,
    at: datetime,
    outcome: str = "",
    item_id: int | None = None,
    masked_code: str = "",
) -> VerifyAttempt:
    """One line of the audit log; ``masked_code`` is the code as shown (``abcd…6789``), never in full."""
    attempt = VerifyAttempt(
        chat_user_id=chat_user_id, ok=ok, at=at, outcome=outcome or ("verified" if ok else "refused"),
        item_id=item_id, masked_code=masked_code[:20],
    )  # fmt: skip
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
    next_check_at: datetime | None = None,
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
            if own.revoked_at is not None and own.revoke_reason in FINAL_REVOKE_REASONS:
                raise ClaimRevoked(reason=own.revoke_reason or "")
            if own.revoked_at is not None and _active_claims_and_highest_slot(session, code_hash)[0] >= max_claims:
                raise AlreadyClaimed(max_claims=max_claims)
            own.code_encrypted = code_encrypted
            own.item_id = item_id
            own.license = license
            own.supported_until = supported_until
            own.verified_at = now
            own.revoked_at = None
            own.revoke_reason = None
            own.next_check_at = next_check_at or own.next_check_at
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
            next_check_at=next_check_at,
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


def was_refunded(session: Session, *, code_hash: str) -> bool:
    """Whether a claim of this code was revoked because its purchase was refunded (and none is active again)."""
    rows = session.exec(
        select(PurchaseClaim.revoked_at, PurchaseClaim.revoke_reason).where(PurchaseClaim.code_hash == code_hash)
    ).all()
    return any(reason == "refunded" for _, reason in rows) and all(at is not None for at, _ in rows)


def claims_for_user(session: Session, *, chat_user_id: int, include_revoked: bool = False) -> list[PurchaseClaim]:
    query = select(PurchaseClaim).where(PurchaseClaim.chat_user_id == chat_user_id)
    if not include_revoked:
        query = query.where(col(PurchaseClaim.revoked_at).is_(None))
    return list(session.exec(query.order_by(col(PurchaseClaim.verified_at), col(PurchaseClaim.id))))


def revoke_claim(session: Session, *, claim_id: int, at: datetime, reason: str = "revoked") -> ClaimView | None:
    """Revoke an active claim (freeing its place in its code's limit): the claim as it was, or None."""
    claim = session.get(PurchaseClaim, claim_id)
    if claim is None or claim.revoked_at is not None:
        return None
    claim.revoked_at = at
    claim.revoke_reason = reason
    claim.next_check_at = None
    session.flush()
    return _views(session, [claim])[0]


@dataclass(frozen=True)
class ClaimView:
    """A claim with who holds it, for staff answers, the staff log, re-checks and revocations."""

    id: int
    code_hash: str
    code_encrypted: str
    item_id: int
    license: str
    supported_until: datetime | None
    verified_at: datetime
    revoked_at: datetime | None
    revoke_reason: str | None
    chat_user_id: int
    platform: str
    platform_user_id: str
    display_name: str

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _views(session: Session, rows: list[PurchaseClaim]) -> list[ClaimView]:
    people = {
        u.id: u for u in session.exec(select(ChatUser).where(col(ChatUser.id).in_({r.chat_user_id for r in rows})))
    }
    views = []
    for row in rows:
        user = people[row.chat_user_id]
        assert row.id is not None
        views.append(
            ClaimView(
                row.id,
                row.code_hash,
                row.code_encrypted,
                row.item_id,
                row.license,
                row.supported_until,
                row.verified_at,
                row.revoked_at,
                row.revoke_reason,
                row.chat_user_id,
                user.platform,
                user.platform_user_id,
                user.display_name,
            )
        )
    return views


def claims_of(session: Session, *, platform: str, platform_user_id: str) -> list[ClaimView]:
    """Every claim (active and revoked) of one chat user, oldest first."""
    query = (
        select(PurchaseClaim)
        .join(ChatUser, col(ChatUser.id) == col(PurchaseClaim.chat_user_id))
        .where(ChatUser.platform == platform, ChatUser.platform_user_id == platform_user_id)
        .order_by(col(PurchaseClaim.verified_at), col(PurchaseClaim.id))
    )
    return _views(session, list(session.exec(query)))


def claim_view(session: Session, *, claim_id: int) -> ClaimView | None:
    row = session.get(PurchaseClaim, claim_id)
    return _views(session, [row])[0] if row is not None else None


def claims_of_code(session: Session, *, code_hash: str) -> list[ClaimView]:
    """Every claim (active and revoked) of one code, oldest first."""
    query = select(PurchaseClaim).where(PurchaseClaim.code_hash == code_hash).order_by(col(PurchaseClaim.id))
    return _views(session, list(session.exec(query)))


def lease_due_checks(session: Session, *, now: datetime, limit: int, lease: timedelta) -> list[ClaimView]:
    """Active claims whose re-check is due, oldest due first, each taken for ``lease``.

    Taking one moves its next check past the lease, so another process (or this one, next run) does
    not check it again meanwhile; if this one dies, the claim is due again once the lease runs out.
    On PostgreSQL, rows another process is taking right now are skipped, not waited for.
    """
    query = (
        select(PurchaseClaim)
        .where(col(PurchaseClaim.revoked_at).is_(None), col(PurchaseClaim.next_check_at) <= now)
        .order_by(col(PurchaseClaim.next_check_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list(session.exec(query))
    for row in rows:
        row.next_check_at = now + lease
    session.flush()
    return _views(session, rows)


def schedule_check(
    session: Session, *, claim_id: int, at: datetime, supported_until: datetime | None = None, refresh: bool = False
) -> None:
    """When to check the claim next; ``refresh`` also records what CryptoGig said of its support."""
    values: dict[str, object] = {"next_check_at": at}
    if refresh:
        values["supported_until"] = supported_until
    session.exec(
        update(PurchaseClaim)
        .where(col(PurchaseClaim.id) == claim_id, col(PurchaseClaim.revoked_at).is_(None))
        .values(**values)
    )


def prune_verify_attempts(session: Session, *, before: datetime) -> int:
    """Forget audit lines older than ``before``; how many went."""
    return session.exec(delete(VerifyAttempt).where(col(VerifyAttempt.at) < before)).rowcount
