"""Gavel's one exception tree, and the one place that turns an error into what the user reads.

    GavelError
    ├── UserInputError            the request itself is wrong (bad id, bad amount...)
    ├── NotAllowed                scope checks: admin only, private chat only
    ├── RateLimited               too many failed verifications; carries retry_after
    ├── CodeAlreadyClaimed        a purchase code bound to another chat user
    ├── NotLoggedIn               the command needs an Auctionity session
    └── UpstreamError             anything an upstream API did
        ├── UpstreamUnavailable   connect error, timeout, 5xx (503 included)
        ├── UpstreamMalformed     the upstream answered something we cannot read
        ├── BadApiKey             CryptoGig refused our API key
        ├── InvalidPurchaseCode   CryptoGig: code unknown
        ├── ItemNotFound          CryptoGig: no such item
        ├── BadRequest            Auctionity 400
        │   ├── BidTooLow
        │   ├── AuctionClosed     ended, or not started yet
        │   └── AuctionNotFound
        ├── SessionExpired        Auctionity 401 (expired, tampered or missing JWT)
        └── Forbidden             Auctionity 403
            ├── WrongCredentials  login with a bad email / password
            └── NotCreator        winner info asked by someone who did not create the auction
    DeliveryFailed                an adapter could not deliver a pushed alert
    ├── RecipientGone             the user blocked the bot / left: deactivate their watches
    └── RetryLater                the platform said slow down; carries retry_after

Clients raise only these; adapters never see httpx exceptions.
"""

from __future__ import annotations

import math


class GavelError(Exception):
    """Base of every error Gavel raises on purpose."""

    def __init__(self, message: str = "", **details: object) -> None:
        super().__init__(message or self.__class__.__name__)
        self.message = message
        self.details = details


class UserInputError(GavelError):
    """The user's arguments are wrong; ``message`` says what to type instead."""


class NotAllowed(GavelError):
    """The user may not run this command here."""


class RateLimited(GavelError):
    """Too many attempts at ``action`` (verify, login, reset); ``retry_after`` seconds until the next one."""

    def __init__(self, message: str = "", *, retry_after: float = 0, action: str = "verify", bucket: str = "") -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.action = action
        self.bucket = bucket


class CodeAlreadyClaimed(GavelError):
    """The purchase code is already bound to another chat user."""


class NotLoggedIn(GavelError):
    """The command needs an Auctionity session and the user has none."""


class UpstreamError(GavelError):
    """Something an upstream API (CryptoGig or Auctionity) did."""

    upstream: str = "the service"

    def __init__(self, message: str = "", *, upstream: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        if upstream:
            self.upstream = upstream
        self.status = status


class UpstreamUnavailable(UpstreamError):
    """Connect error, timeout or 5xx: worth trying again later."""


class UpstreamMalformed(UpstreamError):
    """The upstream answered, but with something we cannot read (HTML, empty, bad JSON)."""


class BadApiKey(UpstreamError):
    """CryptoGig refused the configured API key."""


class InvalidPurchaseCode(UpstreamError):
    """CryptoGig does not know this purchase code."""


class ItemNotFound(UpstreamError):
    """CryptoGig has no item with this id."""


class BadRequest(UpstreamError):
    """Auctionity answered 400."""


class BidTooLow(BadRequest):
    """The bid is not above the current top (or below the base amount)."""


class AuctionClosed(BadRequest):
    """The auction has ended or has not started yet."""


class AuctionNotFound(BadRequest):
    """No auction with this id."""


class SessionExpired(UpstreamError):
    """Auctionity answered 401: the JWT is expired, tampered with or missing."""


class Forbidden(UpstreamError):
    """Auctionity answered 403."""


class WrongCredentials(Forbidden):
    """Login refused: wrong email or password."""


class NotCreator(Forbidden):
    """Winner info is only for the auction's creator."""


class DeliveryFailed(GavelError):
    """An adapter could not deliver an alert; the dispatcher retries with backoff."""


class RecipientGone(DeliveryFailed):
    """The recipient blocked the bot or cannot be reached any more: stop alerting them.

    ``whole_chat``: nobody in that chat can be reached (the bot left a group); else only this one user.
    """

    def __init__(self, message: str = "", *, whole_chat: bool = True) -> None:
        super().__init__(message)
        self.whole_chat = whole_chat


class RetryLater(DeliveryFailed):
    """The platform asked us to wait ``retry_after`` seconds (Telegram RetryAfter, Discord 429)."""

    def __init__(self, message: str = "", *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def user_message(error: GavelError) -> str:
    """What the user reads for an error: what went wrong and what to do next. The one place."""
    if isinstance(error, (UserInputError, NotAllowed, CodeAlreadyClaimed)) and error.message:
        return error.message
    if isinstance(error, RateLimited):
        minutes = max(1, math.ceil(error.retry_after / 60))
        wait = f"{minutes} minute{'s' if minutes != 1 else ''}"
        if error.bucket.startswith("verify:code:"):
            return f"This purchase code was tried too many times. Please try again in {wait}, or contact the seller."
        if error.action == "login":
            return f"Too many failed logins. Please wait {wait} before you try again."
        if error.action == "reset":
            return f"I have sent enough reset emails for now. Please wait {wait}, and check your spam folder."
        return f"Too many failed attempts. Please try again in {wait}."
    if isinstance(error, CodeAlreadyClaimed):
        return "This purchase code is already linked to another account. Contact the seller if it is yours."
    if isinstance(error, NotLoggedIn):
        return "You are not logged in to Auctionity. Send /login to me in a private chat first."
    if isinstance(error, SessionExpired):
        return "Your Auctionity session expired. Please /login again."
    if isinstance(error, WrongCredentials):
        return "Auctionity did not accept that email and password. Check them and /login again."
    if isinstance(error, NotCreator):
        return "Only the creator of this auction can see its winner."
    if isinstance(error, BidTooLow):
        return "Your bid is too low: it must be above the current top bid. Check /auctions and try a higher amount."
    if isinstance(error, AuctionClosed):
        return "This auction is not open for bids (it has ended or not started yet)."
    if isinstance(error, AuctionNotFound):
        return "Auctionity has no auction with that id. Check the id and try again."
    if isinstance(error, InvalidPurchaseCode):
        return "That purchase code is not valid. Check it for typos; you find it in your CryptoGig downloads."
    if isinstance(error, ItemNotFound):
        return "There is no item with that id. Send /items to see what is available."
    if isinstance(error, BadApiKey):
        return "The marketplace refused the bot's credentials. Please tell the bot's admin."
    if isinstance(error, BadRequest):
        return "Auctionity refused that request" + (f": {error.message}" if error.message else ".")
    if isinstance(error, UpstreamMalformed):
        return f"{error.upstream} sent an answer I could not read. Please try again in a minute."
    if isinstance(error, UpstreamUnavailable):
        return f"{error.upstream} is not answering right now. Please try again in a minute."
    if isinstance(error, UpstreamError):
        return f"{error.upstream} could not do that right now. Please try again later."
    return error.message or "That did not work. Please try again."
