"""Gavel's one exception tree. Errors carry data, not sentences: bot/core/wording.py words them for the user.

    GavelError
    ├── UserInputError            the request itself is wrong (bad id, bad amount...): a code and its data
    ├── NotAllowed                scope checks, refusals (admin only, private chat only...): a code and its data
    ├── RateLimited               too many failed verifications; carries retry_after
    ├── CodeAlreadyClaimed        a purchase code bound to another chat user
    ├── NotLoggedIn               the command needs an Auctionity session
    └── UpstreamError             anything an upstream API did
        ├── UpstreamUnavailable   connect error, timeout, 5xx (503 included)
        ├── UpstreamMalformed     the upstream answered something we cannot read
        ├── BadApiKey             CryptoGig refused our API key
        ├── InvalidPurchaseCode   CryptoGig: code unknown
        │   └── PurchaseRefunded  ...and the bot knows why: it held a claim of this code until a refund
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
    StartFailed                   a platform or the database could not be started (words for the operator)
    ├── Unreachable               no answer (name not resolved, connection refused, timeout, 5xx): try again
    └── Refused                   a definite no (a rejected token, no such database): retrying cannot help

Clients raise only these; adapters never see httpx exceptions.
"""

from __future__ import annotations

import socket
import ssl

from bot.core.i18n import N_


class GavelError(Exception):
    """Base of every error Gavel raises on purpose."""

    def __init__(self, message: str = "", **details: object) -> None:
        super().__init__(message or self.__class__.__name__)
        self.message = message
        self.details = details


class UserInputError(GavelError):
    """The user's input is wrong: ``code`` names how (``not_an_amount``), ``details`` hold what the wording needs."""

    def __init__(self, code: str, **details: object) -> None:
        super().__init__(code, **details)
        self.code = code


class NotAllowed(GavelError):
    """The user may not do this here: ``code`` names why (``admins_only``), ``details`` hold the rest."""

    def __init__(self, code: str, **details: object) -> None:
        super().__init__(code, **details)
        self.code = code


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

    # Translators: stands for a service's name when the error names none: "the service is not answering right now"
    upstream: str = N_("the service")  # bot/core/wording.py translates it where it is shown

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


class PurchaseRefunded(InvalidPurchaseCode):
    """CryptoGig refuses the code as it refuses any unknown one, but the bot revoked a claim of it after a refund.

    CryptoGig's documented refusal is the same for both, so this is the bot's own knowledge, not CryptoGig's answer.
    """


class ItemNotFound(UpstreamError):
    """CryptoGig has no item with this id."""


class BadRequest(UpstreamError):
    """Auctionity answered 400. ``reason`` names a known answer (``email_taken``); None: one we do not know.

    Its ``message`` is Auctionity's own text, for the log only: the user reads our words for the reason.
    """

    def __init__(
        self, message: str = "", *, reason: str | None = None, upstream: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message, upstream=upstream, status=status)
        self.reason = reason


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


class StartFailed(GavelError):
    """``service`` (Telegram, Discord, the database) could not be started; ``called`` says what was asked of it.

    Its words are for the operator reading the log or `gavel doctor`, in English, like every log line.
    """

    def __init__(self, message: str = "", *, service: str, called: str = "") -> None:
        super().__init__(message)
        self.service = service
        self.called = called


class Unreachable(StartFailed):
    """No answer from ``service``: ``reason`` is short ("name not resolved", "connection refused")."""

    def __init__(self, *, service: str, reason: str, called: str = "") -> None:
        super().__init__(f"{service} is not reachable ({reason})", service=service, called=called)
        self.reason = reason


class Refused(StartFailed):
    """``service`` said no for good; the message says what came back and what to do ("copy the token again")."""


def unreachable_reason(error: BaseException) -> str:
    """Why a connection failed, in a few words, from the exception and whatever caused it."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__ or getattr(current, "os_error", None)
    for found in seen:  # the innermost cause knows best, but any of them may say it
        if isinstance(found, socket.gaierror):
            return "name not resolved"
        if isinstance(found, ConnectionRefusedError):
            return "connection refused"
        if isinstance(found, ssl.SSLError):
            return "TLS handshake failed"
        if isinstance(found, TimeoutError):
            return "timed out"
    text = " ".join(str(found) for found in seen).lower()
    for words, reason in (
        (("name or service not known", "nodename nor servname", "name resolution", "translate host name"),
         "name not resolved"),
        (("connection refused", "connect call failed"), "connection refused"),
        (("timed out", "timeout"), "timed out"),
        (("certificate", "ssl"), "TLS handshake failed"),
        (("starting up", "shutting down", "recovery mode"), "the server is starting or stopping"),
    ):  # fmt: skip
        if any(word in text for word in words):
            return reason
    return type(error).__name__
