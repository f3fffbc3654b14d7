"""Verified buyers over time: what follows a verification, a refund, a revocation or the end of support.

Every function here runs inside the transaction that makes the change, and writes what follows from it
to the outbox in that same transaction: the staff-log lines, the buyer's private notice, and the access
to take away (carried out by the dispatcher through the buyer's platform, and retried like an alert).
So a revocation is either recorded with all of its consequences queued, or not recorded at all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from bot.core import formatting as fmt
from bot.core import i18n
from bot.core.i18n import N_, _
from bot.core.messages import AccessChange, Outcome, Reply
from bot.core.payloads import encode_access, encode_reply
from storage import claims, outbox, places, staff_logs, users
from storage.claims import ClaimView
from storage.crypto import SecretBox

# Why a claim was revoked, as the staff log and the buyer read it (translated where shown: see why_revoked()).
REASONS = {
    # Translators: why a verified purchase was revoked, as the buyer and the staff log read it
    "refunded": N_("CryptoGig no longer accepts the code (refunded or charged back)"),
    # Translators: why a verified purchase was revoked, as the buyer and the staff log read it
    "revoked": N_("revoked by the seller's staff"),
    # Translators: why a verified purchase was revoked, as the buyer and the staff log read it
    "unbound": N_("moved off this account by the seller's staff"),
}


def why_revoked(token: str) -> str:
    """Why a claim was revoked, in the reader's language (an unknown reason token as it is)."""
    return _(REASONS[token]) if token in REASONS else token


def who(platform: str, user_id: str, name: str = "") -> str:
    """``Ann (telegram:123)``: enough for staff to find the person, on any platform."""
    # Translators: stands for a chat user whose name is unknown, as in "someone (telegram:123)"
    shown = fmt.clip(name, 40) or _("someone")
    return f"{shown} ({platform}:{user_id})"


def masked_code(box: SecretBox, code_encrypted: str) -> str:
    """A stored code as staff may see it (``abcd…6789``); "…" when it was stored under another key."""
    try:
        return fmt.mask(box.decrypt(code_encrypted))
    except ValueError:  # written with an older key: the code cannot be shown even masked
        return "…"


def item_label(item_id: int, name: str | None = None) -> str:
    # Translators: an item of the seller's shop whose name is not known; {id} is its number
    return f"{fmt.clip(name, 60)} (#{item_id})" if name else _("item #{id}").format(id=item_id)


Words = Callable[[], Reply]  # a Reply worded when called: once for each reader, in the reader's language


def staff_line(session: Session, *, key: str, words: Words, now: datetime) -> int:
    """Queue a line for every staff log, in the log's language; how many logs get it. ``key``: once per event."""
    sent = 0
    for platform, chat_id, language in staff_logs.staff_logs(session):
        with i18n.speaking(i18n.pick(language)):
            reply = words()
        sent += outbox.enqueue_notification(
            session, dedupe_key=f"staff:{key}:{platform}:{chat_id}"[:200], platform=platform, chat_id=chat_id,
            chat_user_id=None, kind="staff_log", payload=encode_reply(reply), now=now,
        )  # fmt: skip
    return sent


def tell_buyer(session: Session, *, view: ClaimView, key: str, words: Words, now: datetime) -> bool:
    """Queue a private notice for the claim's holder, in their language (their private chat has their own id);
    False if told before."""
    chosen, platform_language = users.languages(session, chat_user_ids=[view.chat_user_id]).get(
        view.chat_user_id, (None, None)
    )
    with i18n.speaking(i18n.pick(chosen, platform_language)):
        reply = words()
    return outbox.enqueue_notification(
        session, dedupe_key=f"buyer:{key}"[:200], platform=view.platform, chat_id=view.platform_user_id,
        chat_user_id=view.chat_user_id, kind="buyer_notice", payload=encode_reply(reply), now=now,
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
            chat_user_id=view.chat_user_id, kind="access", payload=encode_access(change), now=now,
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
    tell_buyer(session, view=view, key=key, words=lambda: _revoked_notice(view, reason, masked_code), now=now)
    staff_line(session, key=key, words=lambda: _revoked_line(view, reason, masked_code, by), now=now)
    return view


def _revoked_notice(view: ClaimView, reason_token: str, masked_code: str) -> Reply:
    """The buyer's private notice of a revocation, worded in the language in force."""
    item, why = item_label(view.item_id), why_revoked(reason_token)
    if masked_code:
        text = _(
            "Your verified purchase of {item}, code {code} has ended: {why}. The access it gave has ended with it. "
            "If you think this is a mistake, contact the seller."
        )
    else:
        text = _(
            "Your verified purchase of {item} has ended: {why}. The access it gave has ended with it. "
            "If you think this is a mistake, contact the seller."
        )
    return Reply(
        title=_("Access ended"),
        text=text.format(item=item, code=masked_code, why=why),
        outcome=Outcome.WARNING,
    )


def _revoked_line(view: ClaimView, reason_token: str, masked_code: str, by: str) -> Reply:
    """The staff log's line for a revocation, worded in the language in force; ``by`` who did it, if anyone."""
    person = who(view.platform, view.platform_user_id, view.display_name)
    item, why = item_label(view.item_id), why_revoked(reason_token)
    if masked_code and by:
        # Translators: a staff-log line; {code} is the masked purchase code, {by} the staff member who revoked it
        line = _("🔒 Revoked: {person} — {item}, code {code}: {why} ({by}).")
    elif masked_code:
        # Translators: a staff-log line; {code} is the masked purchase code
        line = _("🔒 Revoked: {person} — {item}, code {code}: {why}.")
    elif by:
        # Translators: a staff-log line; {by} is the staff member who revoked it
        line = _("🔒 Revoked: {person} — {item}: {why} ({by}).")
    else:
        # Translators: a staff-log line
        line = _("🔒 Revoked: {person} — {item}: {why}.")
    return Reply(line.format(person=person, item=item, code=masked_code, why=why, by=by))
