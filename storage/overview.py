"""Read-only views for the staff dashboard: buyers found by a search, one buyer's history, every place's grants,
and the day-by-day figures (verifications, the outbox, claims by state)."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, col, select

from storage.claims import ClaimView
from storage.models import AccessGrant, ChatUser, Notification, PurchaseClaim, VerifyAttempt

# A claim's state as the dashboard filters it: each a condition on the claim. The trust model's states (held,
# blocked, unbound, support-ended) join this table when their columns exist.
STATE_CONDITIONS: dict[str, Callable[[], ColumnElement[bool]]] = {
    "active": lambda: col(PurchaseClaim.revoked_at).is_(None),
    "revoked": lambda: col(PurchaseClaim.revoked_at).is_not(None),
}


@dataclass(frozen=True)
class ClaimFilter:
    """What the buyers page asks for; every part optional. ``ids``: only these claims (a code-suffix match)."""

    who: str = ""  # a user id, platform:user id, or part of a name
    item_id: int | None = None
    state: str = ""
    ids: Collection[int] | None = None


def _view(claim: PurchaseClaim, user: ChatUser) -> ClaimView:
    assert claim.id is not None and user.id is not None
    return ClaimView(
        claim.id, claim.code_hash, claim.code_encrypted, claim.item_id, claim.license, claim.supported_until,
        claim.verified_at, claim.revoked_at, claim.revoke_reason, user.id, user.platform, user.platform_user_id,
        user.display_name,
    )  # fmt: skip


def _conditions(wanted: ClaimFilter) -> list[Any]:
    conditions: list[Any] = []
    who = wanted.who.strip()
    if who:
        platform, colon, user_id = who.partition(":")
        if colon and user_id:
            conditions.append(and_user(platform, user_id))
        else:
            conditions.append(
                or_(col(ChatUser.platform_user_id) == who, col(ChatUser.display_name).icontains(who, autoescape=True))
            )
    if wanted.item_id is not None:
        conditions.append(col(PurchaseClaim.item_id) == wanted.item_id)
    if wanted.state in STATE_CONDITIONS:
        conditions.append(STATE_CONDITIONS[wanted.state]())
    if wanted.ids is not None:
        conditions.append(col(PurchaseClaim.id).in_(list(wanted.ids)))
    return conditions


def and_user(platform: str, user_id: str) -> ColumnElement[bool]:
    return (col(ChatUser.platform) == platform) & (col(ChatUser.platform_user_id) == user_id)


def _joined() -> Any:
    return select(PurchaseClaim, ChatUser).join(ChatUser, col(ChatUser.id) == col(PurchaseClaim.chat_user_id))


def search_claims(session: Session, *, wanted: ClaimFilter, offset: int, limit: int) -> tuple[list[ClaimView], int]:
    """One page of the claims ``wanted`` describes, newest first, and how many there are in all."""
    conditions = _conditions(wanted)
    total = session.exec(
        select(func.count(col(PurchaseClaim.id)))
        .join(ChatUser, col(ChatUser.id) == col(PurchaseClaim.chat_user_id))
        .where(*conditions)
    ).one()
    query = (
        _joined()
        .where(*conditions)
        .order_by(col(PurchaseClaim.verified_at).desc(), col(PurchaseClaim.id).desc())
        .offset(offset)
        .limit(limit)
    )
    return [_view(claim, user) for claim, user in session.exec(query)], total


def encrypted_codes(session: Session, *, wanted: ClaimFilter) -> list[tuple[int, str]]:
    """(claim id, encrypted code) of every claim ``wanted`` describes: a code suffix is only found by decrypting."""
    query = (
        select(PurchaseClaim.id, PurchaseClaim.code_encrypted)
        .join(ChatUser, col(ChatUser.id) == col(PurchaseClaim.chat_user_id))
        .where(*_conditions(wanted))
    )
    return [(int(claim_id), code) for claim_id, code in session.exec(query) if claim_id is not None]


def all_claims(session: Session) -> list[ClaimView]:
    """Every claim, oldest first (the export)."""
    return [_view(claim, user) for claim, user in session.exec(_joined().order_by(col(PurchaseClaim.id)))]


@dataclass(frozen=True)
class History:
    """One buyer: who they are, their claims, their audit-log lines."""

    user: ChatUser
    claims: list[ClaimView]
    attempts: list[VerifyAttempt]


def history(session: Session, *, platform: str, platform_user_id: str) -> History | None:
    user = session.exec(select(ChatUser).where(and_user(platform, platform_user_id))).first()
    if user is None:
        return None
    found = session.exec(_joined().where(and_user(platform, platform_user_id)))
    claims = [_view(claim, owner) for claim, owner in found]
    attempts = session.exec(
        select(VerifyAttempt)
        .where(VerifyAttempt.chat_user_id == user.id)
        .order_by(col(VerifyAttempt.at).desc(), col(VerifyAttempt.id).desc())
    )
    return History(user, claims, list(attempts))


def access_grants(session: Session) -> list[AccessGrant]:
    """Every grant of every place, place by place."""
    query = select(AccessGrant).order_by(col(AccessGrant.platform), col(AccessGrant.place_id), col(AccessGrant.item_id))
    return list(session.exec(query))


def access_grant(session: Session, *, grant_id: int) -> AccessGrant | None:
    return session.get(AccessGrant, grant_id)


def verification_times(session: Session, *, since: datetime) -> list[datetime]:
    """When each successful verification since ``since`` happened (the audit log)."""
    query = select(VerifyAttempt.at).where(col(VerifyAttempt.ok).is_(True), col(VerifyAttempt.at) >= since)
    return list(session.exec(query))


def outbox_times(session: Session, *, since: datetime) -> tuple[list[datetime], list[datetime]]:
    """When each message since ``since`` was sent, and when each one given up on was queued."""
    sent = session.exec(select(Notification.sent_at).where(col(Notification.sent_at) >= since))
    failed = session.exec(
        select(Notification.created_at).where(
            col(Notification.gave_up).is_(True), col(Notification.created_at) >= since
        )
    )
    return [at for at in sent if at is not None], list(failed)


@dataclass(frozen=True)
class ClaimCounts:
    active: int
    revoked: int
    support_ending: int  # active, with support ending between now and the horizon
    checks_due: int  # active claims whose re-check is due and not taken
    checks_late: int  # ... due for longer than the lateness given


def claim_counts(session: Session, *, now: datetime, horizon: datetime, late: datetime) -> ClaimCounts:
    active = col(PurchaseClaim.revoked_at).is_(None)

    def count(*conditions: Any) -> int:
        return session.exec(select(func.count(col(PurchaseClaim.id))).where(*conditions)).one()

    return ClaimCounts(
        active=count(active),
        revoked=count(~active),
        support_ending=count(
            active, col(PurchaseClaim.supported_until) > now, col(PurchaseClaim.supported_until) <= horizon
        ),
        checks_due=count(active, col(PurchaseClaim.next_check_at) <= now),
        checks_late=count(active, col(PurchaseClaim.next_check_at) <= late),
    )
