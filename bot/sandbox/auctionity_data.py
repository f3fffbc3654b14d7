"""State and rules of the simulated Auctionity: users, auctions, bids, a movable clock and the control hooks."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

BidField = Literal["either", "auction_id", "id"]

SANDBOX_ALICE_EMAIL = "alice@sandbox.test"
SANDBOX_ALICE_PASSWORD = "alice-password"
SANDBOX_BOB_EMAIL = "bob@sandbox.test"
SANDBOX_BOB_PASSWORD = "bob-password"
SANDBOX_RIVAL_EMAIL = "rival@sandbox.test"
SANDBOX_RIVAL_PASSWORD = "rival-password"

_NAMESPACE = uuid.UUID("6f1c2d0e-7a55-4f0b-9a4e-0c7d1e5b8a11")
# Seeded ids are stable across resets and restarts, so tests and a demo script can name them.
SANDBOX_ALICE_ID = str(uuid.uuid5(_NAMESPACE, SANDBOX_ALICE_EMAIL))
SANDBOX_BOB_ID = str(uuid.uuid5(_NAMESPACE, SANDBOX_BOB_EMAIL))
SANDBOX_RIVAL_ID = str(uuid.uuid5(_NAMESPACE, SANDBOX_RIVAL_EMAIL))


def _seed_id(key: str) -> str:
    return "0x" + hashlib.sha256(f"gavel-sandbox-auction:{key}".encode()).hexdigest()


SEED_IDS = {
    "live_with_bids": _seed_id("live_with_bids"),  # bids by alice then rival; ends in 2 days
    "live_single_bid": _seed_id("live_single_bid"),  # one bid by rival; ends in 6 hours
    "live_no_bids": _seed_id("live_no_bids"),  # no bids yet; ends in 45 minutes
    "ended": _seed_id("ended"),  # created by alice, won by rival an hour ago
    "upcoming": _seed_id("upcoming"),  # starts tomorrow
}

MIN_PASSWORD_LENGTH = 8
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SORT_FIELDS = {"created_at", "start_at", "end_at", "name", "amount"}
# Cheap scrypt parameters: a sandbox must hash on every signup and reset without slowing the tests.
_SCRYPT = {"n": 2**12, "r": 8, "p": 1, "dklen": 32}


class SandboxRuleError(ValueError):
    """A request broke an Auctionity rule; the HTTP layer answers ``status`` with this message."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def new_hash_id() -> str:
    """An id shaped like an Ethereum transaction hash, as Auctionity's are."""
    return "0x" + secrets.token_hex(32)


def to_iso(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, as the Auctionity document shows."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(value: object) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise SandboxRuleError("dates must be ISO 8601 strings")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise SandboxRuleError(f"invalid date {value[:40]!r}") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def as_amount(value: object, name: str = "amount") -> int:
    """An integer amount, also from a digit string; floats and booleans are refused."""
    if isinstance(value, bool):
        raise SandboxRuleError(f"{name} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,30}\s*", value):
        return int(value)
    raise SandboxRuleError(f"{name} must be an integer")


def _hash_password(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)


@dataclass
class SandboxUser:
    id: str
    email: str
    salt: bytes = field(repr=False)
    password_hash: bytes = field(repr=False)

    @classmethod
    def create(cls, email: str, password: str, user_id: str | None = None) -> SandboxUser:
        salt = secrets.token_bytes(16)
        return cls(user_id or str(uuid.uuid4()), email, salt, _hash_password(password, salt))

    def check(self, password: str) -> bool:
        return hmac.compare_digest(_hash_password(password, self.salt), self.password_hash)


@dataclass
class SandboxBid:
    id: str
    user_id: str
    amount: int
    date: datetime

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "user_id": self.user_id, "amount": self.amount, "date": to_iso(self.date)}


@dataclass
class SandboxAuction:
    id: str
    name: str
    base_amount: int
    currency: str
    start: datetime
    end: datetime
    creator_id: str
    created_at: datetime
    bids: list[SandboxBid] = field(default_factory=list)

    @property
    def amount(self) -> int:
        return self.bids[-1].amount if self.bids else self.base_amount

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "amount": self.amount,
            "start_date": to_iso(self.start),
            "end_date": to_iso(self.end),
            "history": [bid.to_json() for bid in self.bids],
            "base_amount": self.base_amount,
            "currency": self.currency,
        }


def sort_auctions(auctions: list[SandboxAuction], field_name: str | None, order: str | None) -> list[SandboxAuction]:
    field_name = field_name or "created_at"
    order = (order or "DESC").upper()
    if field_name not in SORT_FIELDS:
        raise SandboxRuleError(f"field must be one of {', '.join(sorted(SORT_FIELDS))}")
    if order not in ("ASC", "DESC"):
        raise SandboxRuleError("order must be ASC or DESC")
    keys: dict[str, Callable[[SandboxAuction], Any]] = {
        "created_at": lambda a: a.created_at,
        "start_at": lambda a: a.start,
        "end_at": lambda a: a.end,
        "name": lambda a: a.name.lower(),
        "amount": lambda a: a.amount,
    }
    return sorted(auctions, key=keys[field_name], reverse=order == "DESC")


class AuctionityData:
    """Everything the sandbox knows; every method is safe to call from a test thread while it serves."""

    def __init__(self, clock: Callable[[], datetime] | None = None, *, token_lifetime: int = 86400) -> None:
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.default_token_lifetime = token_lifetime
        self._lock = threading.RLock()
        # Hashing is the slow part of seeding, so the seeded users are hashed once and reused by reset().
        self._seed_users = [
            SandboxUser.create(SANDBOX_ALICE_EMAIL, SANDBOX_ALICE_PASSWORD, SANDBOX_ALICE_ID),
            SandboxUser.create(SANDBOX_BOB_EMAIL, SANDBOX_BOB_PASSWORD, SANDBOX_BOB_ID),
            SandboxUser.create(SANDBOX_RIVAL_EMAIL, SANDBOX_RIVAL_PASSWORD, SANDBOX_RIVAL_ID),
        ]
        self.reset()

    # -- time ---------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The sandbox's time: the clock plus any advance(), to the millisecond the JSON shows."""
        moment = (self.clock() + self.offset).astimezone(UTC)
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

    def advance(self, seconds: float | timedelta) -> datetime:
        """Move the sandbox's time forward (reset() brings it back)."""
        with self._lock:
            self.offset += seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
            return self.now()

    # -- seed -----------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the seed: three users, five auctions around the current time, no faults in the rules."""
        with self._lock:
            self.offset = timedelta(0)
            self.token_lifetime = self.default_token_lifetime
            self.bid_field: BidField = "either"
            self.requests: Counter[str] = Counter()
            self.password_reset_mail: list[str] = []
            self.users: dict[str, SandboxUser] = {u.id: u for u in self._seed_users}
            self.users_by_email: dict[str, str] = {u.email: u.id for u in self._seed_users}
            self.auctions: dict[str, SandboxAuction] = {}
            self.auctions_by_creator: dict[str, list[str]] = {}
            self._seed()

    def _seed(self) -> None:
        now = self.now()
        hour, day = timedelta(hours=1), timedelta(days=1)
        alice, bob, rival = SANDBOX_ALICE_ID, SANDBOX_BOB_ID, SANDBOX_RIVAL_ID
        seed = [
            ("live_with_bids", "Vintage mechanical keyboard", 100, now - 3 * hour, now + 2 * day, bob,
             [(alice, 100, now - 2 * hour), (rival, 120, now - hour)]),
            ("live_single_bid", "Signed whitepaper print", 250, now - 5 * hour, now + 6 * hour, bob,
             [(rival, 250, now - 4 * hour)]),
            ("live_no_bids", "Retro game console bundle", 50, now - hour, now + 45 * timedelta(minutes=1), bob, []),
            ("ended", "Antique pocket watch", 80, now - 2 * day, now - hour, alice,
             [(bob, 80, now - day), (rival, 95, now - 2 * hour)]),
            ("upcoming", "Limited edition sneakers", 150, now + day, now + 3 * day, bob, []),
        ]  # fmt: skip
        for key, name, base, start, end, creator, bids in seed:
            auction = self.create_auction(name, base, start, end, creator_id=creator, auction_id=SEED_IDS[key])
            auction.created_at = start
            for user_id, amount, date in bids:
                auction.bids.append(SandboxBid(_seed_id(f"{key}:{amount}"), user_id, amount, date))

    # -- users ----------------------------------------------------------------------------------

    def ensure_user(self, email: str, password: str) -> str:
        """The user id for this email, creating the user (or resetting its password) as needed."""
        email = email.strip().lower()
        with self._lock:
            user_id = self.users_by_email.get(email)
            user = SandboxUser.create(email, password, user_id)
            self.users[user.id] = user
            self.users_by_email[email] = user.id
            return user.id

    def signup(self, email: object, password: object) -> str:
        if not isinstance(email, str) or not EMAIL_RE.match(email.strip()):
            raise SandboxRuleError("invalid email address")
        if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
            raise SandboxRuleError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
        with self._lock:
            if email.strip().lower() in self.users_by_email:
                raise SandboxRuleError("email already registered")
            return self.ensure_user(email, password)

    def check_login(self, email: object, password: object) -> str | None:
        """The user id when email and password match, else None (one answer for both mistakes)."""
        if not isinstance(email, str) or not isinstance(password, str):
            return None
        user_id = self.users_by_email.get(email.strip().lower())
        user = self.users.get(user_id) if user_id else None
        return user.id if user is not None and user.check(password) else None

    def request_password_reset(self, email: object) -> None:
        if not isinstance(email, str) or not EMAIL_RE.match(email.strip()):
            raise SandboxRuleError("invalid email address")
        with self._lock:
            if email.strip().lower() in self.users_by_email:
                self.password_reset_mail.append(email.strip().lower())

    def email_of(self, user_id: str) -> str | None:
        user = self.users.get(user_id)
        return user.email if user else None

    # -- auctions -------------------------------------------------------------------------------

    def get(self, auction_id: str) -> SandboxAuction:
        auction = self.auctions.get(auction_id)
        if auction is None:
            raise SandboxRuleError("auction not found")
        return auction

    def create_auction(
        self,
        name: str,
        base_amount: int,
        start: datetime,
        end: datetime,
        *,
        creator_id: str = SANDBOX_BOB_ID,
        currency: str = "DRT",
        auction_id: str | None = None,
        check: bool = False,
    ) -> SandboxAuction:
        """Store a new auction; ``check=True`` applies the public API's validation (the hook skips it)."""
        if check:
            if not isinstance(name, str) or not name.strip():
                raise SandboxRuleError("name is required")
            if as_amount(base_amount, "base_amount") <= 0:
                raise SandboxRuleError("base_amount must be a positive integer")
            if end <= start:
                raise SandboxRuleError("end_at must be after start_at")
            if end <= self.now():
                raise SandboxRuleError("end_at must be in the future")
            if not isinstance(currency, str) or not currency.strip():
                raise SandboxRuleError("currency must be a non-empty string")
        auction = SandboxAuction(
            auction_id or new_hash_id(), name.strip(), int(base_amount), currency.strip(),
            start.astimezone(UTC), end.astimezone(UTC), creator_id, self.now(),
        )  # fmt: skip
        with self._lock:
            self.auctions[auction.id] = auction
            self.auctions_by_creator.setdefault(creator_id, []).append(auction.id)
        return auction

    def bulk_create(self, n: int, *, creator_id: str = SANDBOX_BOB_ID, bids_per_auction: int = 0) -> list[str]:
        """``n`` live auctions ending over the next week, for benchmarks; returns their ids."""
        now = self.now()
        ids: list[str] = []
        with self._lock:
            mine = self.auctions_by_creator.setdefault(creator_id, [])
            for i in range(n):
                auction = SandboxAuction(
                    new_hash_id(), f"Bench lot {i}", 10, "DRT", now - timedelta(hours=1),
                    now + timedelta(minutes=30 + (i * 7) % (7 * 24 * 60)), creator_id, now,
                )  # fmt: skip
                for k in range(bids_per_auction):
                    bidder = SANDBOX_RIVAL_ID if k % 2 else SANDBOX_ALICE_ID
                    auction.bids.append(SandboxBid(new_hash_id(), bidder, 10 + k, now - timedelta(minutes=59 - k)))
                self.auctions[auction.id] = auction
                mine.append(auction.id)
                ids.append(auction.id)
        return ids

    def end_now(self, auction_id: str) -> SandboxAuction:
        """End an auction at the sandbox's current time (starting it too if it had not started)."""
        with self._lock:
            auction = self.get(auction_id)
            now = self.now()
            auction.end = now
            auction.start = min(auction.start, now)
            return auction

    def place_bid_as(self, user_id: str, auction_id: str, amount: object, *, force: bool = False) -> dict[str, Any]:
        """Bid on behalf of ``user_id`` under the public rules (``force`` skips all but existence)."""
        with self._lock:
            auction = self.get(auction_id)
            now = self.now()
            value = as_amount(amount)
            if not force:
                if now < auction.start:
                    raise SandboxRuleError("auction has not started")
                if now >= auction.end:
                    raise SandboxRuleError("auction has ended")
                if value < auction.base_amount or (auction.bids and value <= auction.amount):
                    raise SandboxRuleError("bid too low")
            bid = SandboxBid(new_hash_id(), user_id, value, now)
            auction.bids.append(bid)
            return {**bid.to_json(), "auction_id": auction.id}

    def winner_email(self, user_id: str, auction_id: str) -> str:
        with self._lock:
            auction = self.get(auction_id)
            if auction.creator_id != user_id:
                raise SandboxRuleError("only the auction's creator may see its winner", status=403)
            if self.now() < auction.end:
                raise SandboxRuleError("auction is still running")
            if not auction.bids:
                raise SandboxRuleError("auction received no bids")
            return self.email_of(auction.bids[-1].user_id) or "unknown@sandbox.test"

    def find(self, ids: list[str]) -> list[SandboxAuction]:
        """The auctions among ``ids`` in first-seen order; unknown ids are skipped."""
        with self._lock:
            found = {i: self.auctions[i] for i in ids if i in self.auctions}
            return list(found.values())

    def live_auctions(self) -> list[SandboxAuction]:
        """Auctions open for bids right now."""
        now = self.now()
        with self._lock:
            return [a for a in self.auctions.values() if a.start <= now < a.end]

    def created_by(self, user_id: str) -> list[SandboxAuction]:
        with self._lock:
            return [self.auctions[i] for i in self.auctions_by_creator.get(user_id, []) if i in self.auctions]
