"""Places and what they grant, changed by staff: one path for every way in (a chat command, the dashboard), so each
change reaches the staff log and the staff audit log the same way."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.access.notices import item_label, staff_line
from bot.core.i18n import _
from bot.core.messages import Reply
from storage import dashboard, overview
from storage.models import AccessGrant


def place_label(platform: str, place_id: str) -> str:
    """``telegram:-100123``: the place as staff find it."""
    return f"{platform}:{place_id}"


def granted_target(grant: AccessGrant) -> str:
    """What a grant hands out, in words: the place itself (a group), or a role there."""
    if grant.target_id == grant.place_id:
        # Translators: what buyers of an item get in a place, when it is the place itself (a group)
        return _("entry to the place")
    # Translators: what verified buyers of an item get, in /grants; {role} is the role's id
    return _("role {role}").format(role=grant.target_id)


def remove_grant(session: Session, *, grant_id: int, by: str, now: datetime) -> AccessGrant | None:
    """Stop a place granting what it grants for an item: the staff log and the staff audit log are told.

    Who already got the access keeps it until their claim ends (drift repair lists such leftovers for staff).
    None when there was no such grant (removed meanwhile).
    """
    grant = overview.access_grant(session, grant_id=grant_id)
    if grant is None:
        return None
    session.delete(grant)
    session.flush()
    place, item = place_label(grant.platform, grant.place_id), item_label(grant.item_id)
    detail = f"{place} item #{grant.item_id} -> {grant.target_id}"
    dashboard.record_staff_action(session, staff=by, action="remove_grant", now=now, detail=detail)

    def line() -> Reply:
        # Translators: a staff-log line; {target} is what buyers got ("role 123"), {by} the staff member
        text = _("🗑 Grant removed: buyers of {item} no longer get {target} in {place} ({by}).")
        return Reply(text.format(item=item, target=granted_target(grant), place=place, by=by))

    staff_line(session, key=f"grant-removed:{grant_id}:{int(now.timestamp())}", words=line, now=now)
    return grant
