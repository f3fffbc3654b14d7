"""What every dashboard page shares: the staff-only gate (404 to anyone else), CSRF on every form, the templates in
the staff member's language, and the security headers on every response."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData, MutableHeaders
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.access import notices as buyers
from bot.core import formatting as fmt
from bot.core import i18n
from bot.dashboard.signin import Gate, Staff

if TYPE_CHECKING:
    from bot.core.services import Services

HERE = Path(__file__).resolve().parent
MAX_FORM_BYTES = 2 * 1024 * 1024  # an import of 10,000 buyers is well under 1 MB
FRAMABLE = "gavel_framable"  # set in a request's state: the page may be framed by the chat app's own web client

# No inline script or style anywhere: only the dashboard's own files. Pictures are inline SVG.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors {frames}"
)


def templates() -> Environment:
    """The page templates; every word in them goes through the catalogues (``_``, ``ngettext``)."""
    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.update(
        _=i18n._, ngettext=i18n.ngettext, day=fmt.day, date=fmt.date, item_label=buyers.item_label, who=buyers.who
    )
    return environment


@dataclass
class Desk:
    """The dashboard's dependencies, handed to every page."""

    services: Services
    gate: Gate
    base_url: str
    frames: tuple[str, ...] = ()  # origins that may frame web-app pages (a chat app's web client)
    pages: Environment = field(default_factory=templates)

    @property
    def secure(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def cookie(self) -> str:
        # __Host-: the browser accepts it only from this host over https, for the whole site, never a subdomain.
        return "__Host-gavel_session" if self.secure else "gavel_session"

    def render(self, request: Request, name: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        """A page in the language in force (the staff member's, inside ``staff_page``)."""
        staff = getattr(request.state, "staff", None)
        html = self.pages.get_template(name).render(
            staff=staff, language=i18n.current(), path=request.url.path, **context
        )
        return HTMLResponse(html, status_code=status)

    def set_session(self, response: Response, token: str, max_age: int) -> None:
        response.set_cookie(
            self.cookie, token, max_age=max_age, path="/", secure=self.secure, httponly=True, samesite="strict"
        )

    def clear_session(self, response: Response) -> None:
        response.delete_cookie(self.cookie, path="/", secure=self.secure, httponly=True, samesite="strict")


def not_found() -> Response:
    """What anyone who may not see a page gets: the same answer as a page that does not exist."""
    return PlainTextResponse("Not Found", status_code=404)


Page = Callable[[Request, Desk, Staff], Awaitable[Response]]


def staff_page(*methods: str) -> Callable[[Page], Callable[[Request], Awaitable[Response]]]:
    """A page for signed-in staff only, answering ``methods`` (default GET); anyone else gets 404.

    A POST must carry the staff member's CSRF token in its ``csrf`` field; its form is in ``request.state.form``.
    """
    allowed = set(methods or ("GET",))

    def wrap(page: Page) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(page)
        async def endpoint(request: Request) -> Response:
            desk: Desk = request.app.state.desk
            if request.method not in allowed:
                return not_found()
            staff = await desk.gate.staff_of(request.cookies.get(desk.cookie))
            if staff is None:
                return not_found()
            request.state.staff = staff
            if staff.via == "web_app":
                setattr(request.state, FRAMABLE, True)
            with i18n.speaking(staff.language):
                if request.method == "POST":
                    form = await _form(request)
                    if form is None or not desk.gate.csrf_ok(staff, form.get("csrf")):
                        text = i18n._("This form has expired. Go back, reload the page and try again.")
                        return PlainTextResponse(text, status_code=400)
                    request.state.form = form
                return await page(request, desk, staff)

        return endpoint

    return wrap


async def _form(request: Request) -> FormData | None:
    if int(request.headers.get("content-length") or 0) > MAX_FORM_BYTES:
        return None
    try:
        return await request.form(max_files=1, max_fields=50, max_part_size=MAX_FORM_BYTES)
    except Exception:  # a malformed body is a refused form, never a 500
        return None


class SecurityHeaders:
    """Security headers on every response: CSP with no inline script, no framing (except web-app pages by the chat
    app's own web client), no referrer (sign-in links carry a token), no caching of pages about buyers."""

    def __init__(self, app: ASGIApp, frames: tuple[str, ...] = ()) -> None:
        self.app = app
        self.frames = frames

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                framable = bool(scope.get("state", {}).get(FRAMABLE)) and self.frames
                headers["Content-Security-Policy"] = CSP.format(
                    frames=" ".join(("'self'", *self.frames)) if framable else "'none'"
                )
                if not framable:
                    headers["X-Frame-Options"] = "DENY"
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
                if not scope["path"].startswith("/static/"):
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
