"""Who is signed in to the dashboard: one-time links sent by the bot, chat-app web-app sign-in, sessions, CSRF.

A link's token and a session's token are shown once (in the chat, in a cookie) and kept only as keyed hashes.
Every request asks ``staff_of``, which checks GAVEL_ADMINS again: someone taken off it is signed out everywhere
at their next request, whatever session they hold.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlmodel import Session

from bot.core import i18n
from bot.dashboard.command import token_hash
from storage import dashboard, users

if TYPE_CHECKING:
    from bot.core.services import Services

SESSION_LIFETIME = timedelta(hours=12)
WEB_APP_MAX_AGE = timedelta(minutes=10)  # initData signed longer ago than this is refused
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


class WebAppPerson(Protocol):
    """Who a chat app says opened the web-app page."""

    user_id: str
    name: str
    language: str | None


class WebAppCheck(Protocol):
    """A platform's check of its signed web-app data: the person, or None when not signed, or signed too long ago."""

    def __call__(self, init_data: str, now: datetime, max_age: timedelta) -> WebAppPerson | None: ...


@dataclass(frozen=True)
class Staff:
    """A signed-in staff member, as each request sees them."""

    who: str  # platform:user id
    language: str
    via: str  # link | web_app
    token_hash: str
    csrf: str  # the token every form of theirs carries


class Gate:
    """Signs staff in and out; ``web_app_checks`` by platform, as the wiring knows them."""

    def __init__(self, services: Services, web_app_checks: Mapping[str, WebAppCheck] | None = None) -> None:
        self.services = services
        self.web_app_checks = dict(web_app_checks or {})

    def _admin(self, who: str) -> bool:
        return self.services.settings.is_admin(who)

    def _open_session(self, session: Session, who: str, language: str | None, via: str, now: datetime) -> str:
        token = secrets.token_urlsafe(32)
        dashboard.add_session(
            session, token_hash=token_hash(self.services, "session", token), staff=who, language=language, via=via,
            now=now, expires_at=now + SESSION_LIFETIME,
        )  # fmt: skip
        dashboard.record_staff_action(session, staff=who, action="sign_in", now=now, detail=via)
        return token

    async def sign_in_with_link(self, token: str) -> str | None:
        """A session token for the staff member the link was sent to; None if the link is not good (any more)."""
        if not TOKEN_SHAPE.match(token):
            return None
        now, hashed = self.services.now(), token_hash(self.services, "link", token)

        def spend(session: Session) -> str | None:
            link = dashboard.use_login(session, token_hash=hashed, now=now)
            if link is None or not self._admin(link.staff):
                return None
            return self._open_session(session, link.staff, link.language, "link", now)

        return await self.services.db.run(spend)

    async def sign_in_with_web_app(self, init_data: str) -> str | None:
        """A session token for the staff member a chat app signed ``init_data`` for; None otherwise."""
        now = self.services.now()
        for platform, check in self.web_app_checks.items():
            person = check(init_data, now, WEB_APP_MAX_AGE)
            if person is None:
                continue
            who = f"{platform}:{person.user_id}"
            if not self._admin(who):
                return None

            def open_session(session: Session, who: str = who, person: WebAppPerson = person) -> str:
                chosen = users.chosen_language(
                    session, platform=who.split(":", 1)[0], platform_user_id=person.user_id, platform_language=None
                )
                return self._open_session(session, who, i18n.pick(chosen, person.language), "web_app", now)

            return await self.services.db.run(open_session)
        return None

    async def staff_of(self, token: str | None) -> Staff | None:
        """The staff member a session cookie belongs to, while it lasts and they are still staff; else None."""
        if not token or not TOKEN_SHAPE.match(token):
            return None
        now, hashed = self.services.now(), token_hash(self.services, "session", token)

        row = await self.services.db.read(lambda s: dashboard.find_session(s, token_hash=hashed, now=now))
        if row is None:
            return None
        if not self._admin(row.staff):  # taken off GAVEL_ADMINS: every session of theirs ends now
            await self.services.db.run(lambda s: self._end_all(s, row.staff, now))
            return None
        return Staff(row.staff, i18n.pick(row.language), row.via, hashed, token_hash(self.services, "csrf", token))

    @staticmethod
    def _end_all(session: Session, who: str, now: datetime) -> None:
        if dashboard.end_sessions_of(session, staff=who):
            dashboard.record_staff_action(session, staff=who, action="sign_out", now=now, detail="no longer staff")

    async def sign_out(self, staff: Staff) -> None:
        now = self.services.now()

        def end(session: Session) -> None:
            dashboard.end_session(session, token_hash=staff.token_hash)
            dashboard.record_staff_action(session, staff=staff.who, action="sign_out", now=now)

        await self.services.db.run(end)

    @staticmethod
    def csrf_ok(staff: Staff, given: object) -> bool:
        return isinstance(given, str) and hmac.compare_digest(staff.csrf, given)
