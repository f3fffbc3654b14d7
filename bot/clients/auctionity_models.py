"""Auctionity's answers as tolerant typed models, and the parse functions that turn a payload into them.

Tolerance of the document's sloppiness (missing history or total, ``auction_id`` for ``id``, amounts as
strings, dates with or without fractions) lives here, in one place; what cannot be read becomes
UpstreamMalformed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar

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

from bot.core.clock import as_utc
from bot.core.errors import (
    UpstreamMalformed,
)

log = logging.getLogger(__name__)

UPSTREAM = "Auctionity"
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
UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
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
        return as_utc(now) >= self.start_date

    def has_ended(self, now: datetime) -> bool:
        return as_utc(now) >= self.end_date


class Token(_Model):
    access_token: NonEmptyStr = Field(repr=False)  # repr=False: a logged model never shows the JWT
    expires_in: Amount | None = None
    token_type: str = "Bearer"

    def expires_at(self, now: datetime) -> datetime | None:
        """When the session ends: from expires_in, else the JWT's exp claim, else unknown."""
        if self.expires_in is not None:
            return as_utc(now) + timedelta(seconds=max(0, min(self.expires_in, 10**9)))
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
