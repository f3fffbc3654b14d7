"""The dashboard's pages about buyers, places and numbers (the sign-in pages are in web.py, CSV in transfer.py)."""

from __future__ import annotations

import asyncio
import math
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlencode

from babel.dates import format_skeleton
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.access import notices as buyers
from bot.access.places import granted_target, place_label, remove_grant
from bot.access.rechecks import LAST_RUN_KEY
from bot.access.staff import claim_state
from bot.access.verify import Audit
from bot.core import i18n
from bot.core.arguments import normalise_code
from bot.core.config import PLATFORMS
from bot.core.i18n import N_, _
from bot.core.services import Services
from bot.dashboard import figures
from bot.dashboard.desk import Desk, not_found, staff_page
from bot.dashboard.signin import Staff
from storage import dashboard, key_values, overview
from storage.claims import ClaimView
from storage.crypto import UndecryptableSecret
from storage.overview import ClaimFilter

PER_PAGE = 50
MAX_PAGE = 100_000
DAYS = 30
USER_ID = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")

STATE_NAMES = {
    # Translators: a choice of the buyers page's state filter: verified purchases still in force
    "active": N_("active"),
    # Translators: a choice of the buyers page's state filter: verified purchases that were ended
    "revoked": N_("revoked"),
}
ATTEMPT_WORDS = {
    # Translators: how a verification went, in a buyer's history
    "verified": N_("verified"),
    **{token: words for _kind, token, words in Audit.OUTCOMES},
}
ACTION_WORDS = {
    # Translators: a staff member's action, in the dashboard's audit lines
    "sign_in": N_("signed in"),
    # Translators: a staff member's action, in the dashboard's audit lines
    "sign_out": N_("signed out"),
    # Translators: a staff member's action, in the dashboard's audit lines
    "remove_grant": N_("removed a grant"),
    # Translators: a staff member's action, in the dashboard's audit lines
    "export": N_("exported the buyers as CSV"),
    # Translators: a staff member's action, in the dashboard's audit lines
    "import": N_("imported buyers from CSV"),
    # Translators: a staff member's action, in the dashboard's audit lines: a purchase bound to this buyer by import
    "import_bound": N_("bound a purchase to this buyer (import)"),
}


@dataclass(frozen=True)
class ClaimRow:
    view: ClaimView
    code: str  # masked
    state: str  # in words

    @property
    def history_url(self) -> str:
        return f"/buyers/{self.view.platform}/{self.view.platform_user_id}"


def claim_rows(services: Services, views: list[ClaimView]) -> list[ClaimRow]:
    return [ClaimRow(v, buyers.masked_code(services.box, v.code_encrypted), claim_state(v)) for v in views]


async def code_matches(services: Services, wanted: ClaimFilter, suffix: str) -> list[int]:
    """The claims among ``wanted`` whose code ends with ``suffix``: codes are stored encrypted, so each is opened
    (off the event loop); a code stored under another key matches nothing."""
    found = await services.db.read(lambda s: overview.encrypted_codes(s, wanted=wanted))

    def matching() -> list[int]:
        ids = []
        for claim_id, encrypted in found:
            try:
                if services.box.decrypt(encrypted).endswith(suffix):
                    ids.append(claim_id)
            except UndecryptableSecret:
                continue
        return ids

    return await asyncio.to_thread(matching)


def _whole(text: str, *, low: int, high: int) -> int | None:
    text = text.strip()
    return min(max(int(text), low), high) if text.isdigit() and len(text) <= 12 else None


@staff_page()
async def buyers_page(request: Request, desk: Desk, staff: Staff) -> Response:
    """Buyers: search by person, item, code suffix and state; newest first, a page at a time."""
    params, services = request.query_params, desk.services
    query = {
        "q": params.get("q", "").strip()[:100],
        "item": params.get("item", "").strip()[:12],
        "code": normalise_code(params.get("code", ""))[:20],
        "state": params.get("state", "") if params.get("state", "") in overview.STATE_CONDITIONS else "",
    }
    page = _whole(params.get("page", "1"), low=1, high=MAX_PAGE) or 1
    wanted = ClaimFilter(who=query["q"], item_id=_whole(query["item"], low=0, high=10**12), state=query["state"])
    if query["code"]:
        wanted = replace(wanted, ids=await code_matches(services, wanted, query["code"]))
    offset = (page - 1) * PER_PAGE
    views, total = await services.db.read(
        lambda s: overview.search_claims(s, wanted=wanted, offset=offset, limit=PER_PAGE)
    )
    pages = max(1, math.ceil(total / PER_PAGE))
    kept = {name: value for name, value in query.items() if value}

    def page_url(number: int) -> str | None:
        return f"/buyers?{urlencode({**kept, 'page': number})}" if 1 <= number <= pages and number != page else None

    states = [(name, _(words)) for name, words in STATE_NAMES.items() if name in overview.STATE_CONDITIONS]
    return desk.render(
        request, "buyers.html", rows=claim_rows(services, views), total=total, page=page, pages=pages,
        query=query, states=states, previous_url=page_url(page - 1), next_url=page_url(page + 1),
    )  # fmt: skip


@staff_page()
async def history_page(request: Request, desk: Desk, staff: Staff) -> Response:
    """One buyer: their purchases, their audit-log lines, and what staff did about them."""
    platform, user_id = request.path_params["platform"], request.path_params["user_id"]
    if platform not in PLATFORMS or not USER_ID.match(user_id):
        return not_found()
    services = desk.services

    def read(session: Session) -> tuple[overview.History | None, list]:
        found = overview.history(session, platform=platform, platform_user_id=user_id)
        if found is None or found.user.id is None:
            return found, []
        return found, dashboard.staff_actions_about(session, chat_user_id=found.user.id)

    found, actions = await services.db.read(read)
    if found is None:
        return not_found()
    attempts = [(a, _(ATTEMPT_WORDS.get(a.outcome, a.outcome))) for a in found.attempts]
    done = [(a, _(ACTION_WORDS.get(a.action, a.action))) for a in actions]
    return desk.render(
        request, "history.html", person=buyers.who(platform, user_id, found.user.display_name),
        rows=claim_rows(services, found.claims), attempts=attempts, actions=done,
    )  # fmt: skip


@dataclass(frozen=True)
class PlaceGrants:
    place: str
    grants: list[tuple[int, str, str, bool, str, datetime]]  # grant id, item, target, follows support, by, since


@staff_page()
async def places_page(request: Request, desk: Desk, staff: Staff) -> Response:
    """Every place and what it grants, with Remove."""
    grants = await desk.services.db.read(lambda s: overview.access_grants(s))
    places: dict[str, PlaceGrants] = {}
    for grant in grants:
        label = place_label(grant.platform, grant.place_id)
        entry = places.setdefault(label, PlaceGrants(label, []))
        assert grant.id is not None
        entry.grants.append(
            (grant.id, buyers.item_label(grant.item_id), granted_target(grant), grant.expires_with_support,
             grant.created_by, grant.created_at)
        )  # fmt: skip
    removed = request.query_params.get("removed", "")
    # ``requests``: what place admins who are not staff ask for, to Approve or Refuse (the trust model fills it).
    return desk.render(request, "places.html", places=list(places.values()), removed=removed, requests=[])


@staff_page("POST")
async def remove_grant_action(request: Request, desk: Desk, staff: Staff) -> Response:
    """Remove one grant, as the chat's own staff commands would (staff log and audit log told)."""
    grant_id = _whole(str(request.state.form.get("grant_id", "")), low=1, high=2**62)
    if grant_id is None:
        return not_found()
    now = desk.services.now()
    removed = await desk.services.db.run(lambda s: remove_grant(s, grant_id=grant_id, by=staff.who, now=now))
    label = "" if removed is None else f"{buyers.item_label(removed.item_id)} — {granted_target(removed)}"
    return RedirectResponse(f"/places?{urlencode({'removed': label or '-'})}", status_code=303)


@staff_page()
async def numbers_page(request: Request, desk: Desk, staff: Staff) -> Response:
    """Verifications a day over 30 days, claims by state, re-check health, and the outbox day by day."""
    services = desk.services
    now = services.now()
    days = figures.days_back(now.date(), DAYS)
    since = datetime.combine(days[0], time(), tzinfo=UTC)

    def read(session: Session) -> tuple:
        return (
            overview.verification_times(session, since=since),
            overview.outbox_times(session, since=since),
            overview.claim_counts(session, now=now, horizon=now + timedelta(days=30), late=now - timedelta(hours=1)),
            key_values.get_value(session, key=LAST_RUN_KEY),
        )

    verified_at, (sent_at, failed_at), counts, last_run = await services.db.read(read)
    verified = figures.per_day(verified_at, days)
    locale = i18n.locale_of(i18n.current())
    labels = [format_skeleton("MMMd", datetime.combine(day, time()), locale=locale) for day in days]
    titles = [
        # Translators: a bar of the verifications chart; {day} is a date
        i18n.ngettext("{day}: {count} verification", "{day}: {count} verifications", count).format(
            day=label, count=count
        )
        for label, count in zip(labels, verified, strict=True)
    ]
    outbox = list(zip(labels, figures.per_day(sent_at, days), figures.per_day(failed_at, days), strict=True))
    kept = min(DAYS, services.settings.notification_retention_days)  # older sent messages are pruned: no figures
    return desk.render(
        request, "numbers.html", chart=figures.bar_chart(verified, labels, titles), verified_total=sum(verified),
        counts=counts, recheck=figures.recheck_run(last_run), outbox=list(reversed(outbox[-kept:])),
        kept_days=services.settings.notification_retention_days,
    )  # fmt: skip
