"""A simulated CryptoGig marketplace API: seeded items and purchase codes, with fault injection.

It follows the published API document, including its loose edges: one item's version is a
JSON number, one item's prices are strings, media keys come and go with the item type, and an
invalid purchase code is reported with HTTP 200 (real servers vary; the client handles both).
"""

from __future__ import annotations

import copy
import hmac
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.sandbox.faults import FaultInjectionMiddleware, Faults, faults_endpoint

SANDBOX_API_KEY = "sandbox-cryptogig-key"

SAMPLE_PURCHASE_CODES: dict[str, str] = {
    "regular licence, supported": "3f6c2a9e-8b1d-4c7a-9e2f-5a1b7c3d9e01",
    "extended licence, supported": "a41d7e3b-25c9-4f80-b6e1-0c9d8f7a6b52",
    "regular licence, support expired": "c7e2b914-6d3a-4b5f-8e07-1f2a3b4c5d63",
    "regular licence, no support": "e95f0a27-3c8b-4d16-a2f4-7b6c5d4e3f74",
    "regular licence, already downloaded": "0b8d6c45-9e1f-4a27-b3c8-2d1e0f9a8b85",
}

_PICSUM = "https://picsum.photos/seed"
_MEDIA_CDN = "https://cdn.sandbox.cryptogig.test/media"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _seed_items() -> list[dict[str, Any]]:
    """The catalogue, shaped like the API's item objects."""
    return [
        {
            "id": 101, "name": "Neon Admin Dashboard", "description": "A dark admin template with 40 pages.",
            "category": "Templates", "sub_category": "Admin", "options": ["Bootstrap 5", "Figma files"],
            "version": "2.1.0", "demo_link": "https://demo.sandbox.cryptogig.test/neon",
            "tags": ["admin", "dashboard", "dark"],
            "media": {
                "thumbnail": f"{_PICSUM}/neon-thumb/160/160",
                "preview_image": f"{_PICSUM}/neon-preview/1200/800",
                "screenshots": [f"{_PICSUM}/neon-shot1/1200/800", f"{_PICSUM}/neon-shot2/1200/800"],
            },
            "price": {"regular": 19.99, "extended": 129.0}, "currency": "USD",
            "published_at": "2024-03-02T09:30:00Z",
        },
        {
            "id": 102, "name": "Lo-Fi Beats Pack", "description": "Twelve royalty-free lo-fi loops.",
            "category": "Audio", "sub_category": "Music", "options": ["WAV", "MP3"], "version": "1.0.0",
            "demo_link": "", "tags": ["lofi", "loops"],
            "media": {"thumbnail": f"{_PICSUM}/lofi-thumb/160/160",
                      "preview_audio": f"{_MEDIA_CDN}/lofi.mp3"},
            "price": {"regular": 9.0, "extended": 45.0}, "currency": "USD",
            "published_at": "2024-01-15T18:00:00Z",
        },
        {
            "id": 103, "name": "Cinematic Title Sequence", "description": "After Effects titles, 4K.",
            "category": "Video", "sub_category": "After Effects", "options": ["4K", "HD"], "version": "3.2",
            "demo_link": "https://demo.sandbox.cryptogig.test/titles", "tags": ["titles", "cinematic"],
            "media": {
                "thumbnail": f"{_PICSUM}/titles-thumb/160/160",
                "preview_image": f"{_PICSUM}/titles-preview/1280/720",
                "preview_video": f"{_MEDIA_CDN}/titles.mp4",
            },
            "price": {"regular": 24.0, "extended": 150.0}, "currency": "USD",
            "published_at": "2023-11-20T12:00:00Z",
        },
        {
            # The API document prints the version unquoted; this item sends it as a JSON number.
            "id": 104, "name": "Crypto Wallet UI Kit", "description": "Mobile wallet screens for Figma.",
            "category": "Graphics", "sub_category": "UI Kits", "options": [], "version": 1.5,
            "demo_link": None, "tags": ["figma", "wallet", "mobile"],
            "media": {"thumbnail": f"{_PICSUM}/wallet-thumb/160/160",
                      "preview_image": f"{_PICSUM}/wallet-preview/1200/800"},
            "price": {"regular": 15.5, "extended": 75.0}, "currency": "USD",
            "published_at": "2024-04-27T12:00:00Z",
        },
        {
            "id": 105, "name": "Gavel Auction Plugin", "description": "A WordPress plugin for live auctions.",
            "category": "Plugins", "sub_category": "WordPress", "options": ["Single site", "Multisite"],
            "version": "5.0.3", "demo_link": "https://demo.sandbox.cryptogig.test/auction-plugin",
            "tags": ["wordpress", "auction"],
            "media": {
                "thumbnail": f"{_PICSUM}/plugin-thumb/160/160",
                "screenshots": [f"{_PICSUM}/plugin-shot1/1200/800", f"{_PICSUM}/plugin-shot2/1200/800",
                                f"{_PICSUM}/plugin-shot3/1200/800"],
            },
            "price": {"regular": 39.0, "extended": 199.0}, "currency": "USD",
            "published_at": "2024-02-10T08:15:00Z",
        },
        {
            # Prices as strings and an extra key: what a PHP backend tends to send.
            "id": 106, "name": "Synthwave Sound Effects", "description": "80 retro synth hits and risers.",
            "category": "Audio", "sub_category": "Sound Effects", "options": ["WAV"], "version": "2.0.1",
            "demo_link": "", "tags": ["synthwave", "sfx"], "rating": 4.8,
            "media": {"thumbnail": f"{_PICSUM}/synth-thumb/160/160",
                      "preview_audio": f"{_MEDIA_CDN}/synth.mp3"},
            "price": {"regular": "12.00", "extended": "60.00"}, "currency": "USD",
            "published_at": "2024-05-05T20:45:00Z",
        },
        {
            "id": 107, "name": "Pixel Icon Set", "description": "1,200 pixel-art icons in SVG and PNG.",
            "category": "Graphics", "sub_category": "Icons", "options": ["SVG", "PNG"], "version": "4.4.0",
            "demo_link": "https://demo.sandbox.cryptogig.test/pixel-icons", "tags": ["icons", "pixel"],
            "media": {"thumbnail": f"{_PICSUM}/icons-thumb/160/160",
                      "preview_image": f"{_PICSUM}/icons-preview/1200/800"},
            "price": {"regular": 7.0, "extended": 35.0}, "currency": "USD",
            "published_at": "2023-09-01T10:00:00Z",
        },
    ]  # fmt: skip


def _seed_purchases(now: datetime) -> dict[str, dict[str, Any]]:
    """Purchase records by code; support dates are relative to ``now`` so they never go stale."""

    def purchase(item_id: int, licence: str, bought: int, support: int | None, downloaded: bool = False) -> dict:
        record = {"item_id": item_id, "license_type": licence, "downloaded": downloaded,
                  "date": _iso(now - timedelta(days=bought))}  # fmt: skip
        if support is not None:  # no key at all is the document's way of saying "no support"
            record["supported_until"] = _iso(now + timedelta(days=support))
        return record

    codes = SAMPLE_PURCHASE_CODES
    return {
        codes["regular licence, supported"]: purchase(101, "Regular", bought=20, support=180),
        codes["extended licence, supported"]: purchase(103, "Extended", bought=45, support=320),
        codes["regular licence, support expired"]: purchase(102, "Regular", bought=400, support=-30),
        codes["regular licence, no support"]: purchase(104, "Regular", bought=10, support=None),
        codes["regular licence, already downloaded"]: purchase(105, "Regular", 60, 90, downloaded=True),
    }


def _seed_account() -> dict[str, Any]:
    return {
        "name": {"firstname": "Sandy", "lastname": "Box", "full_name": "Sandy Box"},
        "username": "sandybox",
        "email": "sandy.box@sandbox.cryptogig.test",
        "balance": 1234.56,
        "currency": "USD",
        "profile": {
            "heading": "Templates, sounds and plugins",
            "description": "A sandbox seller workspace for trying Gavel.",
            "contact": {"email": "support@sandbox.cryptogig.test"},
            "social_links": {"facebook": "/", "x": "/"},
            "media": {
                "avatar": f"{_PICSUM}/sandy-avatar/200/200",
                "cover": f"{_PICSUM}/sandy-cover/1500/500",
            },
        },
        "registered_at": "2023-06-01T12:00:00Z",
    }


class CryptoGigData:
    """The sandbox's state: account, items, purchases, and a count of requests that reached the API."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Back to the seed (support dates recomputed from now) and zeroed request counts."""
        self.account: dict[str, Any] = _seed_account()
        self.items: dict[int, dict[str, Any]] = {item["id"]: item for item in _seed_items()}
        self.purchases: dict[str, dict[str, Any]] = _seed_purchases(datetime.now(UTC))
        self.requests: Counter[str] = Counter()
        # Codes refunded right after their first successful validation: how `gavel demo` shows a re-check.
        self.refund_after_first_validation: set[str] = set()

    def refund(self, code: str) -> bool:
        """Refund (or charge back) a purchase: from now on its code is invalid. False if there is no such code."""
        record = self.purchases.get(code.strip().lower())
        if record is None:
            return False
        record["refunded"] = True
        return True

    def purchase_payload(self, code: str) -> dict[str, Any] | None:
        """The API's purchase object for ``code`` (case and surrounding spaces ignored), or None."""
        code = code.strip().lower()
        record = self.purchases.get(code)
        if record is None or record["item_id"] not in self.items or record.get("refunded"):
            return None
        item = copy.deepcopy(self.items[record["item_id"]])
        licence = record["license_type"].lower()
        payload = {
            "purchase_code": code,
            "license_type": record["license_type"],
            "price": item["price"].get(licence),
            "currency": item.get("currency", "USD"),
            "item": item,
            "downloaded": record["downloaded"],
            "date": record["date"],
        }
        if "supported_until" in record:
            payload["supported_until"] = record["supported_until"]
        return payload


def _error(msg: str, status_code: int = 200) -> JSONResponse:
    return JSONResponse({"status": "error", "msg": msg}, status_code=status_code)


async def _params(request: Request) -> dict[str, str]:
    """Query parameters merged with a form or JSON body, whichever the caller sent."""
    params = dict(request.query_params)
    body = await request.body()
    if not body:
        return params
    content_type = request.headers.get("content-type", "")
    if "application/json" in content_type:
        try:
            decoded = json.loads(body)
        except ValueError:
            decoded = None
        if isinstance(decoded, dict):
            params.update({str(k): str(v) for k, v in decoded.items() if v is not None})
    elif "application/x-www-form-urlencoded" in content_type:
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


def _authorised(request: Request, params: dict[str, str]) -> bool:
    expected: str = request.app.state.api_key
    given = params.get("api_key", "")
    authorization = request.headers.get("authorization", "")
    if not given and authorization.lower().startswith("bearer "):
        given = authorization[7:].strip()
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


async def _guard(request: Request) -> tuple[CryptoGigData, dict[str, str]] | JSONResponse:
    """Count the request and check the API key; the JSONResponse is the refusal."""
    data: CryptoGigData = request.app.state.data
    data.requests[request.url.path] += 1
    params = await _params(request)
    if not _authorised(request, params):
        return _error("Invalid API key", 401)
    return data, params


async def account_details(request: Request) -> JSONResponse:
    guarded = await _guard(request)
    if isinstance(guarded, JSONResponse):
        return guarded
    data, _ = guarded
    return JSONResponse({"status": "success", "data": data.account})


async def all_items(request: Request) -> JSONResponse:
    guarded = await _guard(request)
    if isinstance(guarded, JSONResponse):
        return guarded
    data, _ = guarded
    if not data.items:
        return _error("No items found")
    return JSONResponse({"status": "success", "items": list(data.items.values())})


async def item_details(request: Request) -> JSONResponse:
    guarded = await _guard(request)
    if isinstance(guarded, JSONResponse):
        return guarded
    data, params = guarded
    raw_id = params.get("item_id", "").strip()
    if not raw_id.isdigit():
        return _error("Invalid request: item_id must be a number", 400)
    item = data.items.get(int(raw_id))
    if item is None:
        return _error("Item Not Found", 404)
    return JSONResponse({"status": "success", "item": item})


async def purchase_validation(request: Request) -> JSONResponse:
    guarded = await _guard(request)
    if isinstance(guarded, JSONResponse):
        return guarded
    data, params = guarded
    if "purchase_code" not in params:
        return _error("Invalid request: purchase_code is required", 400)
    purchase = data.purchase_payload(params["purchase_code"])
    if purchase is None:
        return _error("Invalid purchase code")
    if purchase["purchase_code"] in data.refund_after_first_validation:
        data.refund(purchase["purchase_code"])
    return JSONResponse({"status": "success", "data": {"purchase": purchase}})


async def refund_endpoint(request: Request) -> JSONResponse:
    """``POST /_sandbox/refund {"purchase_code": ...}``: mark a purchase refunded (no API key: a sandbox hook)."""
    params = await _params(request)
    if not request.app.state.data.refund(params.get("purchase_code", "")):
        return _error("Invalid purchase code", 404)
    return JSONResponse({"status": "success"})


def create_cryptogig_app(data: CryptoGigData | None = None, *, api_key: str = SANDBOX_API_KEY) -> Starlette:
    """The sandbox app: ``app.state.data`` to inspect or reset, ``app.state.faults`` to break it."""
    faults = Faults()
    app = Starlette(
        routes=[
            Route("/api/account/details", account_details, methods=["GET"]),
            Route("/api/items/all", all_items, methods=["GET"]),
            Route("/api/items/item", item_details, methods=["GET"]),
            Route("/api/purchases/validation", purchase_validation, methods=["POST"]),
            Route("/_sandbox/faults", faults_endpoint, methods=["GET", "POST"]),
            Route("/_sandbox/refund", refund_endpoint, methods=["POST"]),
        ]
    )
    app.state.data = data if data is not None else CryptoGigData()
    app.state.faults = faults
    app.state.api_key = api_key
    app.add_middleware(FaultInjectionMiddleware, faults=faults)
    return app
