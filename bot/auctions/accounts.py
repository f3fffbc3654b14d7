"""signup, login, logout, reset_password: Auctionity accounts and the per-user session the bot keeps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.clients.auctionity import Token, user_id_from_token
from bot.core import formatting as fmt
from bot.core.clock import as_utc
from bot.core.common import EMAIL, NEW_PASSWORD, PASSWORD, chat_user_id
from bot.core.errors import NotLoggedIn, SessionExpired, WrongCredentials
from bot.core.i18n import _
from bot.core.limits import Limit, limited, minutes
from bot.core.messages import Button, Outcome, Reply, Request
from bot.core.registry import CommandGroup, Scope
from storage import users

if TYPE_CHECKING:
    from bot.core.services import Services

DEFAULT_TOKEN_LIFETIME = timedelta(hours=1)  # when Auctionity omits expires_in, assume little

commands = CommandGroup()


@dataclass(frozen=True)
class AuctionityLogin:
    """The user's live session: which chat user, their Auctionity id if known, and the JWT."""

    chat_user_id: int
    auctionity_user_id: str | None
    token: str


async def current_login(services: Services, request: Request) -> AuctionityLogin:
    """The user's Auctionity session, or NotLoggedIn / SessionExpired; never another user's."""
    now = services.now()

    def find(session: Session) -> tuple[int, str | None, str] | str:
        user = users.find_chat_user(session, platform=request.platform, platform_user_id=request.user_id)
        stored = users.get_auctionity_session(session, chat_user_id=user.id) if user and user.id else None
        if user is None or user.id is None or stored is None:
            return "none"
        if as_utc(stored.expires_at) <= now:
            users.delete_auctionity_session(session, chat_user_id=user.id)
            return "expired"
        return user.id, user.auctionity_user_id, stored.token_encrypted

    found = await services.db.run(find)
    if found == "none":
        raise NotLoggedIn()
    if found == "expired":
        raise SessionExpired()
    user_id, auctionity_user_id, token_encrypted = found
    return AuctionityLogin(user_id, auctionity_user_id, services.box.decrypt(token_encrypted))


async def forget_login(services: Services, chat_user_id: int) -> None:
    """Drop a session Auctionity rejected, so the next command says "log in" straight away."""
    await services.db.run(lambda s: users.delete_auctionity_session(s, chat_user_id=chat_user_id))


async def _save_login(services: Services, request: Request, token: Token) -> datetime:
    now = services.now()
    expires_at = token.expires_at(now) or now + DEFAULT_TOKEN_LIFETIME
    user_id = await chat_user_id(services, request)
    encrypted = services.box.encrypt(token.access_token)
    auctionity_user_id = user_id_from_token(token.access_token)

    def save(session: Session) -> None:
        users.save_auctionity_session(
            session, chat_user_id=user_id, token_encrypted=encrypted, expires_at=expires_at, now=now
        )
        if auctionity_user_id:
            users.set_auctionity_user_id(session, chat_user_id=user_id, auctionity_user_id=auctionity_user_id)

    await services.db.run(save)
    return expires_at


def _logged_in_reply(title: str, email: str, expires_at: datetime, services: Services) -> Reply:
    """``title`` is already translated."""
    # Translators: {date} is when the session ends, {when} how far away that is ("in 59 minutes")
    text = _("You are logged in to Auctionity as {email}. Your session lasts until {date} ({when}).").format(
        email=email, date=fmt.date(expires_at), when=fmt.relative(expires_at, services.now())
    )
    # Translators: a button label: lists the auctions you created
    auctions = Button(_("My auctions"), "myauctions")
    # Translators: a button label: lists the auctions you watch
    watches = Button(_("My watches"), "watches")
    return Reply(title=title, text=text, outcome=Outcome.SUCCESS).with_buttons([auctions, watches])


@commands.command(args=(EMAIL, NEW_PASSWORD), scope=Scope.PRIVATE, ephemeral=True, slow=True)
async def signup(request: Request, services: Services) -> Reply:
    """Create an Auctionity account (private chat)."""
    email, password = request.values["email"], request.values["password"]  # its length checked as it was typed
    await services.auctionity.signup(email, password)
    token = await services.auctionity.login(email, password)
    expires_at = await _save_login(services, request, token)
    return _logged_in_reply(_("Welcome to Auctionity"), email, expires_at, services)


@commands.command(args=(EMAIL, PASSWORD), scope=Scope.PRIVATE, ephemeral=True, slow=True, deep_link=True)
async def login(request: Request, services: Services) -> Reply:
    """Log in to Auctionity (private chat).

    The bot keeps the session, encrypted; never the password.
    """
    email, password = request.values["email"], request.values["password"]
    settings = services.settings
    window = minutes(settings.login_window_minutes)
    limits = [
        Limit(f"login:user:{await chat_user_id(services, request)}", settings.login_max_failures, window),
        # The same address tried from several chat accounts is still one account being guessed at.
        Limit(f"login:email:{services.box.keyed_hash(email)}", settings.login_max_failures, window),
    ]
    async with limited(services, limits, action="login", failures=(WrongCredentials,)):
        token = await services.auctionity.login(email, password)
    expires_at = await _save_login(services, request, token)
    return _logged_in_reply(_("Logged in"), email, expires_at, services)


@commands.command(ephemeral=True)
async def logout(request: Request, services: Services) -> Reply:
    """Log out of Auctionity."""

    def remove(session: Session) -> bool:
        user = users.find_chat_user(session, platform=request.platform, platform_user_id=request.user_id)
        if user is None or user.id is None:
            return False
        return users.delete_auctionity_session(session, chat_user_id=user.id)

    removed = await services.db.run(remove)
    return Reply(_("You are logged out of Auctionity.") if removed else _("You were not logged in."))


@commands.command(args=(EMAIL,), scope=Scope.PRIVATE, ephemeral=True, slow=True)
async def reset_password(request: Request, services: Services) -> Reply:
    """Get an Auctionity password-reset email."""
    email = request.values["email"]
    settings = services.settings
    window = minutes(settings.reset_window_minutes)
    limits = [
        Limit(f"reset:email:{services.box.keyed_hash(email)}", settings.reset_max_emails, window, failures_only=False),
        # One chat account cannot mail many addresses either.
        Limit(f"reset:user:{await chat_user_id(services, request)}", settings.reset_max_emails * 2, window, False),
    ]
    async with limited(services, limits, action="reset", failures=()):
        await services.auctionity.reset_password(email)
    return Reply(
        _("If {email} has an Auctionity account, a reset link is on its way. Check your inbox, then /login.").format(
            email=email
        )
    )
