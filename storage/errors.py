"""Storage's own errors: the core translates them into its own; storage never raises ``bot.core.errors``.

StorageError
├── AlreadyClaimed     a purchase code is bound to as many chat users as it may be
├── CardLimitReached   a chat, or a poster, has as many live cards as allowed
└── LimitReached       a rate-limit bucket is full; carries retry_after and the bucket
"""

from __future__ import annotations


class StorageError(Exception):
    """Base of every error the storage layer raises on purpose."""


class AlreadyClaimed(StorageError):
    """The purchase code already has ``max_claims`` active claims by other chat users."""

    def __init__(self, *, max_claims: int) -> None:
        super().__init__(f"code already claimed ({max_claims} claim(s) allowed)")
        self.max_claims = max_claims


class ClaimRevoked(StorageError):
    """The user's claim of this code was revoked for good; verifying it again does not bring it back."""

    def __init__(self, *, reason: str) -> None:
        super().__init__(f"claim revoked ({reason})")
        self.reason = reason


class CardLimitReached(StorageError):
    """``where`` (``chat`` or ``user``) already has ``limit`` active live cards."""

    def __init__(self, *, where: str, limit: int) -> None:
        super().__init__(f"live card limit reached per {where} ({limit})")
        self.where = where
        self.limit = limit


class LimitReached(StorageError):
    """Too many attempts in ``bucket``; the next one is allowed in ``retry_after`` seconds."""

    def __init__(self, *, bucket: str, retry_after: float) -> None:
        super().__init__(f"rate limit reached for {bucket.split(':', 1)[0]}")
        self.bucket = bucket
        self.retry_after = retry_after


class DatabaseUnavailable(StorageError):
    """The database could not be reached, or a statement ran past its timeout: try again later."""
