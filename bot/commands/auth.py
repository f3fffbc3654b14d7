"""signup, login, logout, reset_password: Auctionity accounts and the per-user session the bot keeps."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import formatting as fmt
from bot.clients.auctionity import Token, user_id_from_token
from bot.errors import NotLoggedIn, SessionExpired, UserInputError, WrongCredentials
from bot.limits import Limit, limited, minutes
from bot.messages import Button, Outcome, Reply, Request
from storage import repo

if TYPE_CHECKING:
    from bot.services import Services

EMAIL_SHAPE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,24}$")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
DEFAULT_TOKEN_LIFETIME = timedelta(hours=1)  # when Auctionity omits expires_in, assume little


@dataclass(frozen=True)
class AuctionityLogin:
    """The user's live session: which chat user, their Auctionity id if known, and the JWT."""

    chat_user_id: int
    auctionity_user_id: str | None
    token: str


def clean_email(raw: str) -> str:
    email = raw.strip()
    if not EMAIL_SHAPE.match(email) or not email.isprintable():  # no NUL or other control character gets stored
        raise UserInputError("That does not look like an email address (name@example.com).")
    return email.lower()


def _check_password(password: str) -> str:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise UserInputError(
            f"A password needs {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters. Send /signup to try again."
        )
    return password


def chat_user_id(services: Services, request: Request) -> int:
    with services.db() as session:
        user = repo.get_or_create_chat_user(
            session, platform=request.platform, platform_user_id=request.user_id, display_name=request.display_name
        )
        return user.id


def current_login(services: Services, request: Request) -> AuctionityLogin:
    """The user's Auctionity session, or NotLoggedIn / SessionExpired; never another user's."""
    with services.db() as session:
        user = repo.find_chat_user(session, platform=request.platform, platform_user_id=request.user_id)
        stored = repo.get_auctionity_session(session, chat_user_id=user.id) if user else None
        if user is None or stored is None:
            raise NotLoggedIn()
        if fmt.as_utc(stored.expires_at) <= services.now():
            repo.delete_auctionity_session(session, chat_user_id=user.id)
            expired = True
        else:
            expired = False
            token = services.box.decrypt(stored.token_encrypted)
            login = AuctionityLogin(user.id, user.auctionity_user_id, token)
    if expired:
        raise SessionExpired()
    return login


def forget_login(services: Services, chat_user_id: int) -> None:
    """Drop a session Auctionity rejected, so the next command says "log in" straight away."""
    with services.db() as session:
        repo.delete_auctionity_session(session, chat_user_id=chat_user_id)


def _save_login(services: Services, request: Request, email: str, token: Token) -> datetime:
    now = services.now()
    expires_at = token.expires_at(now) or now + DEFAULT_TOKEN_LIFETIME
    user_id = chat_user_id(services, request)
    with services.db() as session:
        repo.save_auctionity_session(
            session,
            chat_user_id=user_id,
            email=email,
            token_encrypted=services.box.encrypt(token.access_token),
            expires_at=expires_at,
        )
        auctionity_user_id = user_id_from_token(token.access_token)
        if auctionity_user_id:
            repo.set_auctionity_user_id(session, chat_user_id=user_id, auctionity_user_id=auctionity_user_id)
    return expires_at


def _logged_in_reply(title: str, email: str, expires_at: datetime, services: Services) -> Reply:
    return Reply(
        title=title,
        text=f"You are logged in to Auctionity as {email}. Your session lasts until {fmt.date(expires_at)} "
        f"({fmt.relative(expires_at, services.now())}).",
        outcome=Outcome.SUCCESS,
        ephemeral=True,
    ).with_buttons([Button("My auctions", "myauctions"), Button("My watches", "watches")])


async def signup(request: Request, services: Services) -> Reply:
    """Create an Auctionity account, then log in with it."""
    form = request.form or {}
    email = clean_email(form.get("email", ""))
    password = _check_password(form.get("password", ""))
    await services.auctionity.signup(email, password)
    token = await services.auctionity.login(email, password)
    expires_at = _save_login(services, request, email, token)
    return _logged_in_reply("Welcome to Auctionity", email, expires_at, services)


async def login(request: Request, services: Services) -> Reply:
    """Log in to Auctionity; the bot keeps the session (encrypted), never the password."""
    form = request.form or {}
    email = clean_email(form.get("email", ""))
    password = form.get("password", "")
    if not password or len(password) > MAX_PASSWORD_LENGTH:
        raise UserInputError("That password cannot be right. Send /login to try again.")
    settings = services.settings
    window = minutes(settings.login_window_minutes)
    limits = [
        Limit(f"login:user:{chat_user_id(services, request)}", settings.login_max_failures, window),
        # The same address tried from several chat accounts is still one account being guessed at.
        Limit(f"login:email:{services.box.keyed_hash(email)}", settings.login_max_failures, window),
    ]
    async with limited(services, limits, action="login", failures=(WrongCredentials,)):
        token = await services.auctionity.login(email, password)
    expires_at = _save_login(services, request, email, token)
    return _logged_in_reply("Logged in", email, expires_at, services)


async def logout(request: Request, services: Services) -> Reply:
    """Forget the user's Auctionity session."""
    with services.db() as session:
        user = repo.find_chat_user(session, platform=request.platform, platform_user_id=request.user_id)
        removed = bool(user) and repo.delete_auctionity_session(session, chat_user_id=user.id)
    text = "You are logged out of Auctionity." if removed else "You were not logged in."
    return Reply(text, ephemeral=True)


async def reset_password(request: Request, services: Services) -> Reply:
    """Ask Auctionity to email a password-reset link."""
    email = clean_email((request.form or {}).get("email", ""))
    settings = services.settings
    window = minutes(settings.reset_window_minutes)
    limits = [
        Limit(f"reset:email:{services.box.keyed_hash(email)}", settings.reset_max_emails, window, failures_only=False),
        # One chat account cannot mail many addresses either.
        Limit(f"reset:user:{chat_user_id(services, request)}", settings.reset_max_emails * 2, window, False),
    ]
    async with limited(services, limits, action="reset", failures=()):
        await services.auctionity.reset_password(email)
    return Reply(
        f"If {email} has an Auctionity account, a reset link is on its way. Check your inbox, then /login.",
        ephemeral=True,
    )
