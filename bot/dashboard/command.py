"""/dashboard: a staff member asks the bot for a one-time link into the web dashboard (bot/dashboard), privately.

The link's token is shown once, in the reply; the database keeps only its keyed hash (bot/dashboard/signin.py
spends it). Here, not in bot/dashboard, so that the command table never imports the web app.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.core import i18n
from bot.core.i18n import _
from bot.core.limits import Limit, limited
from bot.core.messages import Button, Outcome, Reply, Request
from bot.core.registry import CommandGroup, Scope
from storage import dashboard as desk_rows

if TYPE_CHECKING:
    from bot.core.services import Services

commands = CommandGroup()

LINK_LIFETIME = timedelta(minutes=10)
LINKS_PER_WINDOW = 5  # sign-in links one staff member may ask for in the window: a leaked chat cannot mint many
LINK_WINDOW = timedelta(minutes=10)


def token_hash(services: Services, purpose: str, token: str) -> str:
    """What the database keeps of a dashboard token (a link's, a session's): a hash keyed by GAVEL_SECRET_KEY."""
    return services.box.keyed_hash(f"dashboard:{purpose}:{token}")


async def create_link(services: Services, *, who: str, language: str) -> str:
    """A new one-time sign-in token for ``who`` (its hash kept until it expires); the link is /login/<token>."""
    token = secrets.token_urlsafe(32)
    now = services.now()
    hashed = token_hash(services, "link", token)
    await services.db.run(
        lambda s: desk_rows.add_login(
            s, token_hash=hashed, staff=who, language=language, now=now, expires_at=now + LINK_LIFETIME
        )
    )
    return token


@commands.command(scope=Scope.ADMIN, private=True)
async def dashboard(request: Request, services: Services) -> Reply:
    """Get a one-time link into the staff web dashboard (buyers, places, numbers)."""
    base = services.settings.dashboard_base_url
    if base is None:
        return Reply(
            _("The dashboard is off. Set DASHBOARD_PORT (and DASHBOARD_URL, its public address) and restart."),
            outcome=Outcome.WARNING,
        )
    limit = Limit(f"dashboard:link:{request.who}", LINKS_PER_WINDOW, LINK_WINDOW, failures_only=False)
    async with limited(services, [limit], action="dashboard", failures=()):
        token = await create_link(services, who=request.who, language=i18n.current())
    minutes = int(LINK_LIFETIME.total_seconds() // 60)
    return Reply(
        title=_("Staff dashboard"),
        text=i18n.ngettext(
            "Your sign-in link works once, within {count} minute, and only for you: do not forward it.",
            "Your sign-in link works once, within {count} minutes, and only for you: do not forward it.",
            minutes,
        ).format(count=minutes),
        buttons=(
            # Translators: a button label: opens the staff dashboard in the browser, signed in
            (Button(_("Open the dashboard"), url=f"{base}/login/{token}"),),
            # Translators: a button label: opens the staff dashboard inside the chat app, where it can
            (Button(_("Open it inside the app"), url=f"{base}/webapp", web_app=True),),
        ),
        outcome=Outcome.SUCCESS,
    )
