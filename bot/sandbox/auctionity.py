"""A simulated Auctionity API (Starlette) with JWT auth, the documented rules, test hooks and a rival bidder."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import jwt
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.sandbox.auctionity_data import (
    SANDBOX_ALICE_EMAIL,
    SANDBOX_ALICE_ID,
    SANDBOX_ALICE_PASSWORD,
    SANDBOX_BOB_EMAIL,
    SANDBOX_BOB_ID,
    SANDBOX_BOB_PASSWORD,
    SANDBOX_RIVAL_EMAIL,
    SANDBOX_RIVAL_ID,
    SANDBOX_RIVAL_PASSWORD,
    SEED_IDS,
    AuctionityData,
    SandboxRuleError,
    as_amount,
    parse_iso,
    sort_auctions,
)
from bot.sandbox.faults import FaultInjectionMiddleware, Faults, faults_endpoint

__all__ = [
    "SANDBOX_ALICE_EMAIL",
    "SANDBOX_ALICE_ID",
    "SANDBOX_ALICE_PASSWORD",
    "SANDBOX_BOB_EMAIL",
    "SANDBOX_BOB_ID",
    "SANDBOX_BOB_PASSWORD",
    "SANDBOX_RIVAL_EMAIL",
    "SANDBOX_RIVAL_ID",
    "SANDBOX_RIVAL_PASSWORD",
    "SEED_IDS",
    "AuctionityData",
    "create_auctionity_app",
    "rival_round",
    "run_rival_bidders",
]

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[JSONResponse]]


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"message": message, "status": status}, status_code=status)


class RequestCounter:
    """Counts requests per path before faults apply, so tests see every attempt a client made."""

    def __init__(self, app: ASGIApp, data: AuctionityData) -> None:
        self.app = app
        self.data = data

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/_sandbox/"):
            self.data.requests[scope["path"]] += 1
        await self.app(scope, receive, send)


def _handler(func: Callable[[Request, AuctionityData], Awaitable[Any]], *, auth: bool = False) -> Handler:
    """Wrap a route: JSON body errors and rule errors become 400s, ``auth`` adds the caller's user id."""

    async def endpoint(request: Request) -> JSONResponse:
        data: AuctionityData = request.app.state.data
        try:
            if auth:
                request.state.user_id = _authenticate(request, data)
            result = await func(request, data)
        except SandboxRuleError as exc:
            return _error(exc.message, exc.status)
        except (ValueError, TypeError) as exc:  # a hook given the wrong types: still the caller's mistake
            return _error(f"bad request: {str(exc)[:200]}")
        return result if isinstance(result, JSONResponse) else JSONResponse(result)

    return endpoint


def _authenticate(request: Request, data: AuctionityData) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise SandboxRuleError("missing bearer token", 401)
    try:
        # Expiry is checked against the sandbox clock below, so tests can move time instead of sleeping.
        claims = jwt.decode(
            token.strip(),
            request.app.state.jwt_key,
            algorithms=["HS256"],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False, "require": ["sub", "exp"]},
        )
    except jwt.PyJWTError as exc:
        raise SandboxRuleError("invalid token", 401) from exc
    if not isinstance(claims.get("exp"), int | float) or claims["exp"] <= data.now().timestamp():
        raise SandboxRuleError("token expired", 401)
    if not isinstance(claims["sub"], str) or claims["sub"] not in data.users:
        raise SandboxRuleError("invalid token", 401)
    return str(claims["sub"])


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise SandboxRuleError("body must be a JSON object") from exc
    if not isinstance(body, dict):
        raise SandboxRuleError("body must be a JSON object")
    return body


def _int_param(request: Request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.strip().isdigit() or not 1 <= int(raw) <= maximum:
        raise SandboxRuleError(f"{name} must be an integer from 1 to {maximum}")
    return int(raw)


# -- public API -------------------------------------------------------------------------------------


async def login(request: Request, data: AuctionityData) -> Any:
    body = await _body(request)
    user_id = data.check_login(body.get("email"), body.get("password"))
    if user_id is None:
        return _error("wrong email or password", 403)
    now = data.now()
    claims = {"sub": user_id, "iat": int(now.timestamp()), "exp": int(now.timestamp()) + data.token_lifetime}
    token = jwt.encode(claims, request.app.state.jwt_key, algorithm="HS256")
    return {"access_token": token, "expires_in": data.token_lifetime, "token_type": "Bearer"}


async def signup(request: Request, data: AuctionityData) -> Any:
    body = await _body(request)
    data.signup(body.get("email"), body.get("password"))
    return JSONResponse({"message": "account created"}, status_code=201)


async def password_reset(request: Request, data: AuctionityData) -> Any:
    body = await _body(request)
    data.request_password_reset(body.get("email"))
    # The same answer whether or not the account exists, so the endpoint cannot be used to probe emails.
    return {"message": "if this email has an account, a reset link is on its way"}


async def list_auctions(request: Request, data: AuctionityData) -> Any:
    ids = request.query_params.getlist("id[]") + request.query_params.getlist("id")
    if not ids:
        raise SandboxRuleError("id is required")
    field, order = request.query_params.get("field"), request.query_params.get("order")
    found = sort_auctions(data.find(ids), field, order)
    return {"auctions": [a.to_json() for a in found], "total": len(found)}


async def create_auction(request: Request, data: AuctionityData) -> Any:
    body = await _body(request)
    for name in ("name", "base_amount", "start_at", "end_at"):
        if body.get(name) is None:
            raise SandboxRuleError(f"{name} is required")
    auction = data.create_auction(
        body["name"] if isinstance(body["name"], str) else "",
        body["base_amount"],
        parse_iso(body["start_at"]),
        parse_iso(body["end_at"]),
        creator_id=request.state.user_id,
        currency=body.get("currency") or "DRT",
        check=True,
    )
    return JSONResponse({"id": auction.id}, status_code=201)


async def user_auctions(request: Request, data: AuctionityData) -> Any:
    page = _int_param(request, "page", 1, 10**6)
    per_page = _int_param(request, "per_page", 20, 100)
    mine = sort_auctions(
        data.created_by(request.state.user_id), request.query_params.get("field"), request.query_params.get("order")
    )
    chunk = mine[(page - 1) * per_page : page * per_page]
    return {"auctions": [a.to_json() for a in chunk], "total": len(mine)}


async def bid(request: Request, data: AuctionityData) -> Any:
    body = await _body(request)
    # bid_field lets tests prove the client works against a server that reads only one of the two names.
    accepted = {"either": ("auction_id", "id"), "auction_id": ("auction_id",), "id": ("id",)}[data.bid_field]
    auction_id = next((body[k] for k in accepted if isinstance(body.get(k), str) and body[k]), None)
    if auction_id is None:
        raise SandboxRuleError(f"{' or '.join(accepted)} is required")
    if body.get("amount") is None:
        raise SandboxRuleError("amount is required")
    placed = data.place_bid_as(request.state.user_id, auction_id, body["amount"])
    return {"id": placed["id"], "user_id": placed["user_id"]}


async def winner_info(request: Request, data: AuctionityData) -> Any:
    auction_id = request.query_params.get("id")
    if not auction_id:
        raise SandboxRuleError("id is required")
    return {"email": data.winner_email(request.state.user_id, auction_id)}


# -- control hooks (under /_sandbox/, never faulted) -----------------------------------------------


async def hook_bid(request: Request, data: AuctionityData) -> Any:
    body = await _body(request)
    return data.place_bid_as(
        str(body.get("user_id") or SANDBOX_RIVAL_ID),
        str(body.get("auction_id")),
        body.get("amount"),
        force=bool(body.get("force")),
    )


async def hook_end(request: Request, data: AuctionityData) -> Any:
    body = await _body(request)
    return data.end_now(str(body.get("auction_id"))).to_json()


async def hook_create(request: Request, data: AuctionityData) -> Any:
    body = await _body(request)
    auction = data.create_auction(
        str(body.get("name") or "Sandbox lot"),
        as_amount(body.get("base_amount") or 10, "base_amount"),
        parse_iso(body.get("start_at") or data.now().isoformat()),
        parse_iso(body.get("end_at")),
        creator_id=str(body.get("creator_id") or SANDBOX_BOB_ID),
        currency=str(body.get("currency") or "DRT"),
    )
    return auction.to_json()


async def hook_bulk(request: Request, data: AuctionityData) -> Any:
    body = await _body(request)
    ids = data.bulk_create(int(body.get("n", 0)), bids_per_auction=int(body.get("bids_per_auction", 0)))
    return {"ids": ids}


async def hook_user(request: Request, data: AuctionityData) -> Any:
    body = await _body(request)
    return {"user_id": data.ensure_user(str(body.get("email")), str(body.get("password")))}


async def hook_state(request: Request, data: AuctionityData) -> Any:
    """GET shows counters and settings; POST changes them: reset, advance (seconds), bid_field, token_lifetime."""
    if request.method == "POST":
        body = await _body(request)
        if body.get("reset"):
            data.reset()
        if body.get("advance"):
            data.advance(float(body["advance"]))
        if body.get("bid_field") in ("either", "auction_id", "id"):
            data.bid_field = body["bid_field"]
        if body.get("token_lifetime"):
            data.token_lifetime = int(body["token_lifetime"])
    return {
        "now": data.now().isoformat(),
        "bid_field": data.bid_field,
        "token_lifetime": data.token_lifetime,
        "requests": dict(data.requests),
        "auctions": len(data.auctions),
        "password_reset_mail": data.password_reset_mail,
    }


def create_auctionity_app(
    data: AuctionityData | None = None,
    *,
    jwt_secret: str = "sandbox-jwt-secret",  # noqa: S107 - signs sandbox tokens only
    token_lifetime: int = 86400,
    clock: Callable[[], datetime] | None = None,
) -> Starlette:
    """The sandbox app: ``app.state.data`` is the state, ``app.state.faults`` what to break."""
    if data is None:
        data = AuctionityData(clock, token_lifetime=token_lifetime)
    else:
        if clock is not None:
            data.clock = clock
        data.default_token_lifetime = data.token_lifetime = token_lifetime
    faults = Faults()
    routes = [
        Route("/login", _handler(login), methods=["POST"]),
        Route("/signup", _handler(signup), methods=["POST"]),
        Route("/password/reset", _handler(password_reset), methods=["POST"]),
        Route("/auction", _handler(list_auctions), methods=["GET"]),
        Route("/auction", _handler(create_auction, auth=True), methods=["POST"]),
        Route("/user/auction", _handler(user_auctions, auth=True), methods=["GET"]),
        Route("/bid", _handler(bid, auth=True), methods=["POST"]),
        Route("/auction/winner/info", _handler(winner_info, auth=True), methods=["GET"]),
        Route("/_sandbox/faults", faults_endpoint, methods=["GET", "POST"]),
        Route("/_sandbox/bid", _handler(hook_bid), methods=["POST"]),
        Route("/_sandbox/end", _handler(hook_end), methods=["POST"]),
        Route("/_sandbox/auctions", _handler(hook_create), methods=["POST"]),
        Route("/_sandbox/bulk", _handler(hook_bulk), methods=["POST"]),
        Route("/_sandbox/users", _handler(hook_user), methods=["POST"]),
        Route("/_sandbox/state", _handler(hook_state), methods=["GET", "POST"]),
    ]
    # The counter sits outside fault injection so that a faulted attempt is still counted.
    middleware = [Middleware(RequestCounter, data=data), Middleware(FaultInjectionMiddleware, faults=faults)]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.data = data
    app.state.faults = faults
    # HS256 wants a key of at least 32 bytes; hashing the configured secret gives one whatever its length.
    app.state.jwt_key = hashlib.sha256(jwt_secret.encode()).digest()
    return app


# -- the rival bidder --------------------------------------------------------------------------------

SHORT_AUCTION_HORIZON = timedelta(minutes=10)


def rival_round(data: AuctionityData, *, rng: random.Random | None = None) -> list[dict[str, Any]]:
    """One pass of the rival: outbid others on live auctions (up to a budget), keep a short auction around."""
    rng = rng or random.Random()
    now = data.now()
    live = data.live_auctions()
    if not any(a.end - now <= SHORT_AUCTION_HORIZON for a in live):
        # The demo needs something that ends within minutes, so "ending soon" and "won/lost" show up.
        minutes = rng.randint(3, 6)
        data.create_auction(f"Flash sale lot #{rng.randint(100, 999)}", 10, now, now + timedelta(minutes=minutes))
    placed = []
    for auction in live:
        top = auction.bids[-1] if auction.bids else None
        if top is not None and top.user_id == SANDBOX_RIVAL_ID:
            continue
        if top is None and rng.random() > 0.3:
            continue  # open only some unbid auctions, so a user can still be first
        # A budget per auction lets the user win eventually instead of a bidding war without end.
        if top is not None and top.amount >= auction.base_amount * 3:
            continue
        step = max(1, round(auction.amount * rng.uniform(0.03, 0.08)))
        amount = auction.base_amount if top is None else auction.amount + step
        with contextlib.suppress(Exception):  # the auction may have just ended or been outbid
            placed.append(data.place_bid_as(SANDBOX_RIVAL_ID, auction.id, amount))
    return placed


async def run_rival_bidders(
    data: AuctionityData,
    *,
    interval: float = 20.0,
    stop: asyncio.Event | None = None,
    rng: random.Random | None = None,
) -> None:
    """Play the rival every ``interval`` seconds (jittered) until ``stop`` is set or the task is cancelled."""
    stop = stop or asyncio.Event()
    rng = rng or random.Random()
    while not stop.is_set():
        try:
            for placed in rival_round(data, rng=rng):
                log.debug("sandbox rival bid %s on %s", placed["amount"], placed["auction_id"])
        except Exception:  # the demo must keep going whatever one round hit
            log.exception("sandbox rival round failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval * rng.uniform(0.8, 1.2))
