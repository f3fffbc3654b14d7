"""The CryptoGig marketplace client: one long-lived httpx client, typed models, typed errors.

``parse_response`` is the single entry point from an HTTP answer to a model or one of our
errors; the models themselves (bot.clients.cryptogig_models) hold all tolerance of loose JSON.
"""

from __future__ import annotations

import enum
import logging
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from bot.clients.cryptogig_models import (
    Account,
    AccountName,
    Contact,
    Item,
    Media,
    Price,
    Profile,
    ProfileMedia,
    Purchase,
    SupportStatus,
)
from bot.clients.http import build_http_client, decode_json, retrying, send
from bot.core.errors import BadApiKey, InvalidPurchaseCode, ItemNotFound, UpstreamError, UpstreamMalformed
from bot.core.logs import redact

__all__ = [
    "UPSTREAM",
    "Account",
    "AccountName",
    "Contact",
    "CryptoGigClient",
    "Endpoint",
    "Item",
    "Media",
    "Price",
    "Profile",
    "ProfileMedia",
    "Purchase",
    "SupportStatus",
    "parse_response",
]

log = logging.getLogger(__name__)

UPSTREAM = "CryptoGig"
M = TypeVar("M", bound=BaseModel)


class Endpoint(enum.Enum):
    ACCOUNT = "/api/account/details"
    ITEMS = "/api/items/all"
    ITEM = "/api/items/item"
    VALIDATION = "/api/purchases/validation"


def _message(payload: Any) -> str:
    if isinstance(payload, dict):
        for key in ("msg", "message", "error"):
            if isinstance(payload.get(key), str) and payload[key].strip():
                return payload[key].strip()[:200]
    return ""


def _is_error(payload: Any) -> bool:
    return isinstance(payload, dict) and str(payload.get("status", "")).strip().lower() in (
        "error",
        "fail",
        "failed",
    )


def _raise_for_error(endpoint: Endpoint, status: int, payload: Any, secrets: tuple[str, ...]) -> None:
    """Map an error answer (HTTP 4xx, or ``{"status": "error"}`` with any status) to our errors."""
    if status < 400 and not _is_error(payload):
        return
    msg = redact(_message(payload), also=secrets)  # an upstream echoing our key or the user's code
    lowered = msg.lower()
    if status in (401, 403) or "api key" in lowered or "api_key" in lowered:
        raise BadApiKey("CryptoGig refused the API key", upstream=UPSTREAM, status=status)
    if endpoint is Endpoint.VALIDATION and ("purchase code" in lowered or status == 404):
        raise InvalidPurchaseCode("CryptoGig does not know this purchase code", upstream=UPSTREAM, status=status)
    if endpoint is Endpoint.ITEM and ("not found" in lowered or status == 404):
        raise ItemNotFound("CryptoGig has no item with this id", upstream=UPSTREAM, status=status)
    if not msg:
        raise UpstreamMalformed(f"CryptoGig answered {status} without saying why", upstream=UPSTREAM, status=status)
    # Words we do not know are never shown to a user (they read a generic line); the operator finds them here.
    log.warning("CryptoGig refused %s (%s): %s", endpoint.value, status, msg)
    raise UpstreamError(f"CryptoGig refused the request: {msg}", upstream=UPSTREAM, status=status)


def _model(model: type[M], value: Any, what: str, status: int) -> M:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        # Only the locations: the input values may hold purchase codes, and none belong in a message.
        where = ", ".join(".".join(str(p) for p in err["loc"]) or "top" for err in exc.errors()[:3])
        raise UpstreamMalformed(
            f"CryptoGig sent {what} we cannot read ({where})", upstream=UPSTREAM, status=status
        ) from None


def _unwrap(payload: dict[str, Any], *keys: str) -> Any:
    """The first of ``keys`` present, looking in ``data`` too; None when absent."""
    data = payload.get("data")
    for key in keys:
        if key in payload:
            return payload[key]
        if isinstance(data, dict) and key in data:
            return data[key]
    return None


def parse_response(endpoint: Endpoint, response: httpx.Response, *, api_key: str = "", purchase_code: str = "") -> Any:
    """Turn one CryptoGig answer into models (Account, list[Item], Item, Purchase) or one of our errors.

    ``api_key`` and ``purchase_code`` are only used to keep them out of error messages.
    """
    status = response.status_code
    try:
        payload = decode_json(response, UPSTREAM)
    except UpstreamMalformed:
        if status in (401, 403):
            raise BadApiKey("CryptoGig refused the API key", upstream=UPSTREAM, status=status) from None
        raise
    if endpoint is Endpoint.ITEMS and _is_error(payload) and "no items" in _message(payload).lower():
        return []  # how the API says the workspace sells nothing yet
    _raise_for_error(endpoint, status, payload, (api_key, purchase_code))
    if not isinstance(payload, dict):
        raise UpstreamMalformed("CryptoGig sent JSON of an unexpected shape", upstream=UPSTREAM, status=status)
    if endpoint is Endpoint.ACCOUNT:
        data = payload.get("data")
        return _model(Account, data if isinstance(data, dict) else payload, "account details", status)
    if endpoint is Endpoint.ITEMS:
        found = _unwrap(payload, "items")
        found = payload["data"] if found is None and isinstance(payload.get("data"), list) else found
        # A missing list means no items; PHP sends an id-keyed array as an object.
        entries = [] if found is None else list(found.values()) if isinstance(found, dict) else found
        if not isinstance(entries, list):
            raise UpstreamMalformed("CryptoGig sent an item list we cannot read", upstream=UPSTREAM, status=status)
        items, unreadable = [], 0
        for entry in entries:
            try:
                items.append(Item.model_validate(entry))
            except ValidationError:
                unreadable += 1  # one bad item should not hide the rest
        if unreadable:
            log.warning("skipped %d unreadable item(s) in CryptoGig's item list", unreadable)
        return items
    if endpoint is Endpoint.ITEM:
        return _model(Item, _unwrap(payload, "item") or payload.get("data"), "an item", status)
    purchase = _unwrap(payload, "purchase")
    if purchase is None and isinstance(payload.get("data"), dict):
        purchase = payload["data"]
    return _model(Purchase, purchase, "a purchase", status)


class CryptoGigClient:
    """Async client for the CryptoGig API; one long-lived connection pool, GETs retried, the POST never."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float | httpx.Timeout | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_attempts: int = 3,
    ) -> None:
        self._api_key = api_key
        self._retry_attempts = retry_attempts
        self._http = build_http_client(base_url, timeout=timeout, transport=transport)

    def __repr__(self) -> str:  # never show the key
        return f"CryptoGigClient(base_url={str(self._http.base_url)!r})"

    async def __aenter__(self) -> CryptoGigClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _get(self, endpoint: Endpoint, **params: Any) -> Any:
        async def call() -> Any:
            response = await send(
                self._http, UPSTREAM, "GET", endpoint.value, params={"api_key": self._api_key, **params}
            )
            return parse_response(endpoint, response, api_key=self._api_key)

        return await retrying(call, attempts=self._retry_attempts)

    async def account(self) -> Account:
        """The seller account behind the API key."""
        return await self._get(Endpoint.ACCOUNT)

    async def items(self) -> list[Item]:
        """Every item the workspace sells (empty when it sells none)."""
        return await self._get(Endpoint.ITEMS)

    async def item(self, item_id: int) -> Item:
        """One item; ItemNotFound when there is no such id."""
        return await self._get(Endpoint.ITEM, item_id=item_id)

    async def validate_purchase(self, code: str) -> Purchase:
        """Check a purchase code; InvalidPurchaseCode when CryptoGig does not know it. Never retried."""
        code = code.strip()
        data = {"api_key": self._api_key, "purchase_code": code}
        response = await send(self._http, UPSTREAM, "POST", Endpoint.VALIDATION.value, data=data)
        return parse_response(Endpoint.VALIDATION, response, api_key=self._api_key, purchase_code=code)
