"""Async client for the Auctionity API: tolerant typed models, and every failure as an error from bot.errors.

One client serves every chat user: the JWT is an argument of each call, never client state,
so two users' sessions cannot mix. GETs are retried on UpstreamUnavailable; POSTs never are,
since a retried bid could bid twice.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from types import TracebackType
from typing import Annotated, Any, Self, TypeVar

import httpx
import jwt
from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.clients.http import build_http_client, decode_json, retrying, send
from bot.errors import (
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

log = logging.getLogger(__name__)

UPSTREAM = "Auctionity"
MAX_IDS_PER_REQUEST = 50  # keeps GET /auction URLs far below the usual 8 KB limit
MAX_ERROR_MESSAGE = 160

M = TypeVar("M", bound=BaseModel)


# -- models -------------------------------------------------------------------------------------------


def _to_int(value: Any) -> Any:
    """Amounts as Auctionity might send them: 150, 150.0, "150", " 150.00 "; not True, not 150.5."""
    if isinstance(value, bool):
        raise ValueError("an amount cannot be a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float | str):
        try:
            number = Decimal(value.strip() if isinstance(value, str) else repr(value))
        except InvalidOperation:
            raise ValueError("not a number") from None
        if not number.is_finite() or number != number.to_integral_value() or abs(number) > 10**30:
            raise ValueError("not a whole number")
        return int(number)
    return value  # anything else: let pydantic refuse it


def _to_utc(value: datetime) -> datetime:
    """Dates without an offset are taken as UTC, as Auctionity's are."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _readable_amounts(history: Any) -> list[int]:
    amounts = []
    for bid in history if isinstance(history, list) else []:
        try:
            amount = _to_int(bid.get("amount")) if isinstance(bid, dict) else None
        except ValueError:
            continue
        if isinstance(amount, int):
            amounts.append(amount)
    return amounts


Amount = Annotated[int, BeforeValidator(_to_int)]
UtcDatetime = Annotated[datetime, AfterValidator(_to_utc)]
NonEmptyStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Bid(_Model):
    id: NonEmptyStr
    user_id: NonEmptyStr
    amount: Amount
    date: UtcDatetime


class Auction(_Model):
    id: NonEmptyStr = Field(validation_alias=AliasChoices("id", "auction_id"))
    name: str = ""
    amount: Amount
    start_date: UtcDatetime
    end_date: UtcDatetime
    history: list[Bid] = Field(default_factory=list)
    currency: str | None = None
    base_amount: Amount | None = None

    @model_validator(mode="before")
    @classmethod
    def _fill_gaps(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for key in ("history", "name"):
            if data.get(key) is None:
                data.pop(key, None)
        if data.get("amount") is None:
            # The current amount is the top bid, else the base amount: both say the same thing.
            data["amount"] = max(_readable_amounts(data.get("history")), default=data.get("base_amount"))
        return data

    @field_validator("history")
    @classmethod
    def _oldest_first(cls, history: list[Bid]) -> list[Bid]:
        return sorted(history, key=lambda bid: bid.date)

    @property
    def top_bid(self) -> Bid | None:
        """The highest bid (the earliest of equals), or None before the first bid."""
        if not self.history:
            return None
        return max(self.history, key=lambda bid: (bid.amount, -bid.date.timestamp()))

    def has_started(self, now: datetime) -> bool:
        return _to_utc(now) >= self.start_date

    def has_ended(self, now: datetime) -> bool:
        return _to_utc(now) >= self.end_date


class Token(_Model):
    access_token: NonEmptyStr = Field(repr=False)  # repr=False: a logged model never shows the JWT
    expires_in: Amount | None = None
    token_type: str = "Bearer"

    def expires_at(self, now: datetime) -> datetime | None:
        """When the session ends: from expires_in, else the JWT's exp claim, else unknown."""
        if self.expires_in is not None:
            return _to_utc(now) + timedelta(seconds=max(0, min(self.expires_in, 10**9)))
        claims = _unverified_claims(self.access_token)
        exp = claims.get("exp") if claims else None
        if isinstance(exp, int | float) and not isinstance(exp, bool) and 0 < exp < 10**11:
            return datetime.fromtimestamp(exp, UTC)
        return None


class BidReceipt(_Model):
    id: NonEmptyStr = Field(validation_alias=AliasChoices("id", "bid_id"))
    user_id: str | None = None


class AuctionPage(_Model):
    auctions: list[Auction] = Field(default_factory=list)
    total: int = 0


# -- parsing entry points: a JSON payload in, a model or UpstreamMalformed out ------------------------


def _malformed(what: str, status: int | None = None) -> UpstreamMalformed:
    return UpstreamMalformed(f"{UPSTREAM} sent an unreadable {what}", upstream=UPSTREAM, status=status)


def _validate(model: type[M], payload: Any, what: str) -> M:
    try:
        return model.model_validate(payload)
    except ValidationError:
        # "from None": a ValidationError quotes its input, which can hold a token.
        raise _malformed(what) from None


def _auction_list(items: Any) -> list[Auction]:
    """Auctions from a JSON list; one unreadable entry is skipped (and logged) rather than losing the batch."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise _malformed("auction list")
    auctions: list[Auction] = []
    for item in items:
        try:
            auctions.append(Auction.model_validate(item))
        except ValidationError:
            log.warning("skipped an unreadable auction from %s", UPSTREAM)
    if items and not auctions:
        raise _malformed("auction list")
    return auctions


def parse_auctions(payload: Any) -> list[Auction]:
    """``{"auctions": [...], "total": n}`` (or a bare list) -> auctions."""
    if isinstance(payload, dict):
        if "auctions" not in payload:
            raise _malformed("auction list")
        return _auction_list(payload["auctions"])
    return _auction_list(payload)


def parse_auction_page(payload: Any) -> AuctionPage:
    auctions = parse_auctions(payload)
    total = payload.get("total") if isinstance(payload, dict) else None
    try:
        total = _to_int(total) if total is not None else len(auctions)
    except ValueError:
        total = len(auctions)
    return AuctionPage(auctions=auctions, total=total if isinstance(total, int) and total >= 0 else len(auctions))


def parse_token(payload: Any) -> Token:
    return _validate(Token, payload, "login answer")


def parse_bid_receipt(payload: Any) -> BidReceipt:
    return _validate(BidReceipt, payload, "bid receipt")


def parse_created_auction_id(payload: Any) -> str:
    if isinstance(payload, dict):
        value = payload.get("id", payload.get("auction_id"))
        if isinstance(value, str) and value.strip():
            return value.strip()
    raise _malformed("new auction id")


def parse_winner_email(payload: Any) -> str:
    if isinstance(payload, dict):
        value = payload.get("email")
        if value is None and isinstance(payload.get("winner"), dict):
            value = payload["winner"].get("email")
        if isinstance(value, str) and "@" in value:
            return value.strip()
    raise _malformed("winner answer")


def _unverified_claims(token: Any) -> dict[str, Any] | None:
    if not isinstance(token, str) or not token:
        return None
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
    return claims if isinstance(claims, dict) else None


def user_id_from_token(token: str) -> str | None:
    """The Auctionity user id (the JWT's ``sub``), read WITHOUT verifying: only to label our own user."""
    claims = _unverified_claims(token)
    sub = claims.get("sub") if claims else None
    if isinstance(sub, int) and not isinstance(sub, bool):
        sub = str(sub)
    if not isinstance(sub, str) or not sub.strip():
        return None
    return sub.strip()


# -- errors --------------------------------------------------------------------------------------------

_JWT_RE = re.compile(r"eyJ[\w-]*\.[\w-]*\.[\w-]*")
_BEARER_RE = re.compile(r"(?i)bearer\s+\S+")
_CLOSED_WORDS = ("ended", "not started", "not yet started", "not open", "closed", "finished", "is over")
_TOO_LOW_WORDS = ("too low", "higher", "greater", "at least", "below", "minimum", "exceed", "outbid")
_NOT_FOUND_WORDS = ("not found", "unknown auction", "no such", "does not exist", "doesn't exist")


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
    for secret in hide:
        if secret:
            message = message.replace(secret, "***")
    message = _BEARER_RE.sub("Bearer ***", _JWT_RE.sub("***", message))
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
    raise BadRequest(message or f"{UPSTREAM} refused the request ({status})", **kw)


def _iso(moment: datetime) -> str:
    moment = _to_utc(moment)
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
