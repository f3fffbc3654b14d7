"""The dashboard's web app: its routes, the sign-in and sign-out pages, and serving it beside the bot."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.core import i18n
from bot.core.serving import serving
from bot.dashboard import pages, transfer
from bot.dashboard.desk import FRAMABLE, HERE, Desk, SecurityHeaders, not_found, staff_page
from bot.dashboard.signin import SESSION_LIFETIME, Gate, Staff, WebAppCheck

if TYPE_CHECKING:
    from bot.core.config import Settings
    from bot.core.services import Services

log = logging.getLogger(__name__)

# Every route takes every method, so a wrong one is the same 404 as anything else (never a telling 405).
BOTH = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


async def login(request: Request) -> Response:
    """A one-time link from the bot: spent at once; the session cookie set, then on to the buyers page.

    The page moves on by itself (a meta refresh, not a redirect): the browser then asks for /buyers from this site,
    so it sends the SameSite=Strict cookie even when the link was opened from another site (a web chat client).
    """
    desk: Desk = request.app.state.desk
    if request.method != "GET":
        return not_found()
    token = await desk.gate.sign_in_with_link(request.path_params["token"])
    if token is None:
        return not_found()
    staff = await desk.gate.staff_of(token)
    with i18n.speaking(staff.language if staff else None):
        response = desk.render(request, "signed_in.html")
    desk.set_session(response, token, int(SESSION_LIFETIME.total_seconds()))
    return response


async def web_app(request: Request) -> Response:
    """The page a chat app opens inside itself: its script posts what the app handed it, then goes to the buyers."""
    desk: Desk = request.app.state.desk
    if request.method != "GET":
        return not_found()
    # Public, and harmless: it shows nothing, and signs in only with data a chat app signed. Opened as a plain link
    # (where a platform has no web apps), it says to use the sign-in link instead.
    setattr(request.state, FRAMABLE, True)
    return desk.render(request, "webapp.html")


async def web_app_sign_in(request: Request) -> Response:
    """What the web-app page posts: the data the chat app signed; a session cookie when it names staff, else 404."""
    desk: Desk = request.app.state.desk
    if request.method != "POST" or not desk.gate.web_app_checks:
        return not_found()
    try:
        form = await request.form(max_files=0, max_fields=5, max_part_size=8192)
    except Exception:  # a malformed body signs nobody in
        return not_found()
    signed = form.get("signed")
    token = await desk.gate.sign_in_with_web_app(signed) if isinstance(signed, str) else None
    if token is None:
        return not_found()
    response = Response(status_code=204)
    desk.set_session(response, token, int(SESSION_LIFETIME.total_seconds()))
    return response


@staff_page("POST")
async def sign_out(request: Request, desk: Desk, staff: Staff) -> Response:
    await desk.gate.sign_out(staff)
    request.state.staff = None
    response = desk.render(request, "signed_out.html")
    desk.clear_session(response)
    return response


@staff_page()
async def home(request: Request, desk: Desk, staff: Staff) -> Response:
    return RedirectResponse("/buyers", status_code=303)


def create_dashboard_app(
    services: Services,
    *,
    base_url: str,
    web_app_checks: Mapping[str, WebAppCheck] | None = None,
    frames: tuple[str, ...] = (),
) -> Starlette:
    """The dashboard as an ASGI app; ``web_app_checks`` and ``frames`` (origins that may frame web-app pages) come
    from the wiring, which knows the platforms."""
    desk = Desk(services, Gate(services, web_app_checks), base_url, frames)
    routes = [
        Route("/", home, methods=BOTH),
        Route("/login/{token}", login, methods=BOTH),
        Route("/webapp", web_app, methods=BOTH),
        Route("/webapp/sign-in", web_app_sign_in, methods=BOTH),
        Route("/logout", sign_out, methods=BOTH),
        Route("/buyers", pages.buyers_page, methods=BOTH),
        Route("/buyers/{platform}/{user_id}", pages.history_page, methods=BOTH),
        Route("/places", pages.places_page, methods=BOTH),
        Route("/places/remove", pages.remove_grant_action, methods=BOTH),
        Route("/numbers", pages.numbers_page, methods=BOTH),
        Route("/transfer", transfer.transfer_page, methods=BOTH),
        Route("/export", transfer.export_action, methods=BOTH),
        Route("/import", transfer.import_action, methods=BOTH),
        Route("/import/{import_id}", transfer.import_page, methods=BOTH),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes)
    app.state.desk = desk
    app.state.imports = transfer.Imports(services)
    app.add_middleware(SecurityHeaders, frames=frames)
    return app


@contextlib.asynccontextmanager
async def serve_dashboard(
    services: Services,
    settings: Settings,
    *,
    web_app_checks: Mapping[str, WebAppCheck] | None = None,
    frames: tuple[str, ...] = (),
) -> AsyncIterator[str | None]:
    """Serve the dashboard on DASHBOARD_LISTEN:DASHBOARD_PORT while the block runs; yields the URL it answers on.

    Does nothing (and yields None) when DASHBOARD_PORT is unset.
    """
    base_url = settings.dashboard_base_url
    if settings.dashboard_port is None or base_url is None:
        yield None
        return
    app = create_dashboard_app(services, base_url=base_url, web_app_checks=web_app_checks, frames=frames)
    try:
        async with serving(app, settings.dashboard_listen, settings.dashboard_port) as url:
            log.info("staff dashboard on %s (links point at %s)", url, base_url)
            yield url
    finally:
        await app.state.imports.close()
