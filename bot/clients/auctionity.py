"""Async client for the Auctionity API: tolerant typed models, and every failure as an error from bot.core.errors.

One client serves every chat user: the JWT is an argument of each call, never client state,
so two users' sessions cannot mix. GETs are retried on UpstreamUnavailable; POSTs never are,
since a retried bid could bid twice.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import httpx

from bot.clients.auctionity_models import (
    Auction,
    AuctionPage,
    Bid,
    BidReceipt,
    Token,
    parse_auction_page,
    parse_auctions,
    parse_bid_receipt,
    parse_created_auction_id,
    parse_token,
    parse_winner_email,
    user_id_from_token,
)
from bot.clients.http import build_http_client, decode_json, retrying, send
from bot.core.clock import as_utc
from bot.core.errors import (
    AuctionClosed,
    AuctionNotFound,
    BadRequest,
    BidTooLow,
    Forbidden,
    NotCreator,
    SessionExpired,
    UpstreamMalformed,
    UpstreamUnavailable,
    WrongCredentials,
)
from bot.core.logs import redact

log = logging.getLogger(__name__)

# The models are part of the client's API: `from bot.clients.auctionity import Auction` keeps working.
__all__ = [
    "Auction",
    "AuctionPage",
    "AuctionityClient",
    "Bid",
    "BidReceipt",
    "Token",
    "parse_auction_page",
    "parse_auctions",
    "parse_bid_receipt",
    "parse_created_auction_id",
    "parse_token",
    "parse_winner_email",
    "user_id_from_token",
]

UPSTREAM = "Auctionity"
MAX_IDS_PER_REQUEST = 50  # keeps GET /auction URLs far below the usual 8 KB limit
MAX_ERROR_MESSAGE = 160


_CLOSED_WORDS = ("ended", "not started", "not yet started", "not open", "closed", "finished", "is over")
_TOO_LOW_WORDS = ("too low", "higher", "greater", "at least", "below", "minimum", "exceed", "outbid")
_NOT_FOUND_WORDS = ("not found", "unknown auction", "no such", "does not exist", "doesn't exist")

# Auctionity's known refusals (its documented messages, and near spellings), by operation: each gets our own words
# in the reader's language (bot/core/wording.py, UPSTREAM_REFUSALS). Anything else is worded generically, and its
# text goes to the log only.
KNOWN_REFUSALS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("signup", ("already registered", "already exists", "already in use", "already taken"), "email_taken"),
    ("signup", ("password must", "password is too", "weak password"), "weak_password"),
    ("signup", ("invalid email", "email is invalid"), "bad_email"),
    ("reset_password", ("invalid email", "email is invalid"), "bad_email"),
    ("winner", ("still running", "not ended", "has not ended", "not finished", "in progress"), "still_running"),
    ("winner", ("no bids", "received no bid", "no winner"), "no_bids"),
    ("create_auction", ("end_at must be after", "end must be after"), "end_before_start"),
    ("create_auction", ("in the future", "in the past"), "end_in_past"),
    ("create_auction", ("currency",), "not_a_currency"),
    ("create_auction", ("name is required", "name must"), "name_missing"),
    ("create_auction", ("base_amount", "base amount"), "bad_base_amount"),
)


def _server_message(response: httpx.Response, hide: Iterable[str]) -> str:
    """The server's own words, short, on one line, with anything secret-looking removed."""
    try:
        payload: Any = response.json()
    except ValueError:
        text = response.text
        payload = "" if text.lstrip().startswith("<") else text  # an HTML error page says nothing useful
    for _ in range(3):  # {"error": {"message": ...}} and similar nestings
        if isinstance(payload, dict):
            payload = next((payload[k] for k in ("message", "error", "msg", "detail", "errors") if payload.get(k)), "")
        elif isinstance(payload, list):
            payload = payload[0] if payload else ""
    message = payload if isinstance(payload, str) else ""
    message = redact(message, also=hide)
    message = " ".join("".join(c if c.isprintable() else " " for c in message).split())
    return message[: MAX_ERROR_MESSAGE - 1] + "…" if len(message) > MAX_ERROR_MESSAGE else message


def _raise_for_status(response: httpx.Response, operation: str, hide: Iterable[str] = ()) -> None:
    """Turn a non-2xx answer into our error; ``operation`` decides what a 403 or a 400 means."""
    status = response.status_code
    if status < 300:
        return
    kw: dict[str, Any] = {"upstream": UPSTREAM, "status": status}
    if status < 400:
        raise UpstreamMalformed(f"{UPSTREAM} answered an unexpected redirect ({status})", **kw)
    message = _server_message(response, hide)
    lowered = message.lower()
    if status == 401:
        raise SessionExpired(message or "the Auctionity session expired or is invalid", **kw)
    if status == 403:
        if operation == "login":
            raise WrongCredentials("wrong email or password", **kw)
        if operation == "winner":
            raise NotCreator(message or "only the auction's creator can see its winner", **kw)
        raise Forbidden(message or "Auctionity refused this", **kw)
    if status == 429:
        raise UpstreamUnavailable(f"{UPSTREAM} is rate limiting us", **kw)
    if operation in ("bid", "winner") and (status == 404 or any(w in lowered for w in _NOT_FOUND_WORDS)):
        raise AuctionNotFound(message or "no such auction", **kw)
    if operation == "bid" and any(w in lowered for w in _CLOSED_WORDS):
        raise AuctionClosed(message, **kw)
    if operation == "bid" and any(w in lowered for w in _TOO_LOW_WORDS):
        raise BidTooLow(message, **kw)
    for known_operation, words, reason in KNOWN_REFUSALS:
        if operation == known_operation and any(w in lowered for w in words):
            raise BadRequest(message, reason=reason, **kw)
    # Words we do not know are never shown to a user; the operator finds them here (redacted: _server_message).
    log.warning("%s refused %s (%s): %s", UPSTREAM, operation, status, message or "no reason given")
    raise BadRequest(message or f"{UPSTREAM} refused the request ({status})", **kw)


def _iso(moment: datetime) -> str:
    moment = as_utc(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# -- the client ----------------------------------------------------------------------------------------


class AuctionityClient:
    """One long-lived client for every user; each authenticated call takes that user's JWT."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float | httpx.Timeout | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_attempts: int = 3,
    ) -> None:
        self._http = build_http_client(base_url, timeout=timeout, transport=transport)
        self._retry_attempts = retry_attempts

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(
        self,
        method: str,
        path: str,
        operation: str,
        *,
        token: str | None = None,
        hide: Iterable[str] = (),
        **kwargs: Any,
    ) -> httpx.Response:
        headers = None
        if token is not None:
            # A token that cannot be a header value would fail inside httpx; it is simply not a session.
            if not token or not token.isascii() or not token.isprintable() or " " in token.strip():
                raise SessionExpired("the Auctionity session is not usable", upstream=UPSTREAM)
            headers = {"Authorization": f"Bearer {token.strip()}"}
        response = await send(self._http, UPSTREAM, method, path, headers=headers, **kwargs)
        log.debug("%s %s %s -> %s", UPSTREAM, method, path, response.status_code)
        _raise_for_status(response, operation, (*hide, token or ""))
        return response

    async def _json(self, method: str, path: str, operation: str, **kwargs: Any) -> Any:
        return decode_json(await self._call(method, path, operation, **kwargs), UPSTREAM)

    async def _get_json(self, path: str, operation: str, **kwargs: Any) -> Any:
        return await retrying(
            functools.partial(self._json, "GET", path, operation, **kwargs), attempts=self._retry_attempts
        )

    # -- authentication (no token) --

    async def login(self, email: str, password: str) -> Token:
        payload = await self._json(
            "POST", "/login", "login", json={"email": email, "password": password}, hide=(password,)
        )
        return parse_token(payload)

    async def signup(self, email: str, password: str) -> None:
        await self._call("POST", "/signup", "signup", json={"email": email, "password": password}, hide=(password,))

    async def reset_password(self, email: str) -> None:
        await self._call("POST", "/password/reset", "reset_password", json={"email": email})

    # -- auctions --

    async def auctions(
        self, ids: Sequence[str], *, field: str | None = None, order: str | None = None
    ) -> list[Auction]:
        """The auctions among ``ids`` that exist (unknown ids are simply absent), in batches of 50."""
        if isinstance(ids, str):
            ids = [ids]
        unique = list(dict.fromkeys(i.strip() for i in ids if isinstance(i, str) and i.strip()))
        extra = [(k, v) for k, v in (("field", field), ("order", order)) if v]
        found: list[Auction] = []
        for start in range(0, len(unique), MAX_IDS_PER_REQUEST):
            params = [("id[]", i) for i in unique[start : start + MAX_IDS_PER_REQUEST]] + extra
            found.extend(parse_auctions(await self._get_json("/auction", "auctions", params=params)))
        return found

    async def create_auction(
        self,
        token: str,
        *,
        name: str,
        base_amount: int,
        start_at: datetime,
        end_at: datetime,
        currency: str | None = None,
    ) -> str:
        """Create an auction as the token's user; returns its id."""
        body: dict[str, Any] = {
            "name": name,
            "base_amount": base_amount,
            "start_at": _iso(start_at),
            "end_at": _iso(end_at),
        }
        if currency:
            body["currency"] = currency
        payload = await self._json("POST", "/auction", "create_auction", token=token, json=body)
        return parse_created_auction_id(payload)

    async def user_auctions(
        self,
        token: str,
        *,
        field: str | None = None,
        order: str | None = None,
        page: int = 1,
        per_page: int = 20,
    ) -> AuctionPage:
        """The auctions the token's user created, one page at a time."""
        params: dict[str, Any] = {"page": page, "per_page": per_page}
        params.update({k: v for k, v in (("field", field), ("order", order)) if v})
        payload = await self._get_json("/user/auction", "user_auctions", token=token, params=params)
        return parse_auction_page(payload)

    async def bid(self, token: str, auction_id: str, amount: int) -> BidReceipt:
        """Bid once (never retried). Both field names go out, since servers disagree on which one they read."""
        body = {"auction_id": auction_id, "id": auction_id, "amount": amount}
        receipt = parse_bid_receipt(await self._json("POST", "/bid", "bid", token=token, json=body))
        if receipt.user_id is None:
            receipt = receipt.model_copy(update={"user_id": user_id_from_token(token)})
        return receipt

    async def winner(self, token: str, auction_id: str) -> str:
        """The winner's email; only the auction's creator may ask (else NotCreator)."""
        payload = await self._get_json("/auction/winner/info", "winner", token=token, params={"id": auction_id})
        return parse_winner_email(payload)
