"""Verified buyers over time: what follows a verification, a refund, a revocation or the end of support.

Every function here runs inside the transaction that makes the change, and writes what follows from it
to the outbox in that same transaction: the staff-log lines, the buyer's private notice, and the access
to take away (carried out by the dispatcher through the buyer's platform, and retried like an alert).
So a revocation is either recorded with all of its consequences queued, or not recorded at all.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot import formatting as fmt
from bot.messages import AccessChange, Outcome, Reply, access_to_json, reply_to_json
from storage import claims, outbox, places, staff_logs
from storage.claims import ClaimView

# Why a claim was revoked, as the staff log and the buyer read it.
REASONS = {
    "refunded": "CryptoGig no longer accepts the code (refunded or charged back)",
    "revoked": "revoked by the seller's staff",
    "unbound": "moved off this account by the seller's staff",
}


def who(platform: str, user_id: str, name: str = "") -> str:
    """``Ann (telegram:123)``: enough for staff to find the person, on any platform."""
    return f"{fmt.clip(name, 40) or 'someone'} ({platform}:{user_id})"


def item_label(item_id: int, name: str | None = None) -> str:
    return f"{fmt.clip(name, 60)} (#{item_id})" if name else f"item #{item_id}"


def staff_line(session: Session, *, key: str, reply: Reply, now: datetime) -> int:
    """Queue ``reply`` for every staff log; how many logs get it. ``key`` makes it once per event."""
    sent = 0
    for platform, chat_id in staff_logs.staff_logs(session):
        sent += outbox.enqueue_notification(
            session, dedupe_key=f"staff:{key}:{platform}:{chat_id}"[:200], platform=platform, chat_id=chat_id,
            chat_user_id=None, kind="staff_log", payload=reply_to_json(reply), now=now,
        )  # fmt: skip
    return sent


def tell_buyer(session: Session, *, view: ClaimView, key: str, reply: Reply, now: datetime) -> bool:
    """Queue a private notice for the claim's holder (their private chat has their own id); False if told before."""
    return outbox.enqueue_notification(
        session, dedupe_key=f"buyer:{key}"[:200], platform=view.platform, chat_id=view.platform_user_id,
        chat_user_id=view.chat_user_id, kind="buyer_notice", payload=reply_to_json(reply), now=now,
    )  # fmt: skip


def take_access(
    session: Session, *, view: ClaimView, key: str, now: datetime, only_grant_ids: set[int] | None = None
) -> int:
    """Queue the removal of what the claim unlocked on its holder's platform; how many places.

    Nothing is taken while another active claim of the same person unlocks the same item.
    """
    others = claims.claims_of(session, platform=view.platform, platform_user_id=view.platform_user_id)
    if any(c.active and c.id != view.id and c.item_id == view.item_id for c in others):
        return 0
    taken = 0
    for grant in places.access_grants_for_item(session, item_id=view.item_id, platform=view.platform):
        if only_grant_ids is not None and grant.id not in only_grant_ids:
            continue
        change = AccessChange(grant.place_id, grant.target_id, view.platform_user_id)
        taken += outbox.enqueue_notification(
            session, dedupe_key=f"access:{key}:{grant.id}"[:200], platform=view.platform, chat_id=grant.place_id,
            chat_user_id=view.chat_user_id, kind="access", payload=access_to_json(change), now=now,
        )  # fmt: skip
    return taken


def revoke(
    session: Session, *, claim_id: int, reason: str, now: datetime, masked_code: str = "", by: str = ""
) -> ClaimView | None:
    """Revoke an active claim with all that follows: access taken, the buyer told, the staff log told.

    ``masked_code`` is the code as it may be shown (``abcd…6789``); ``by`` who did it, for the staff log.
    """
    view = claims.revoke_claim(session, claim_id=claim_id, at=now, reason=reason)
    if view is None:
        return None
    key = f"{reason}:{view.id}:{int(now.timestamp())}"
    take_access(session, view=view, key=key, now=now)
    code = f", code {masked_code}" if masked_code else ""
    why = REASONS.get(reason, reason)
    tell_buyer(
        session,
        view=view,
        key=key,
        reply=Reply(
            title="Access ended",
            text=f"Your verified purchase of {item_label(view.item_id)}{code} has ended: {why}. "
            "The access it gave has ended with it. If you think this is a mistake, contact the seller.",
            outcome=Outcome.WARNING,
        ),
        now=now,
    )
    staff_line(
        session,
        key=key,
        reply=Reply(
            f"🔒 Revoked: {who(view.platform, view.platform_user_id, view.display_name)} — "
            f"{item_label(view.item_id)}{code}: {why}" + (f" ({by})" if by else "") + "."
        ),
        now=now,
    )
    return view
