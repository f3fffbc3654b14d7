"""Encryption and keyed hashing of stored secrets (purchase codes, Auctionity tokens) with GAVEL_SECRET_KEY."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_HINT = "run `gavel keygen` to make one"

# Words people leave in .env files instead of a key. Each is six letters or more, so the odds of one
# turning up by chance in a random base64 key are about one in a billion.
_PLACEHOLDER = re.compile(r"change|replace|example|placeholder|secret|your[-_]?key", re.IGNORECASE)

# Fixed label for deriving the hashing key: the same Fernet key then never serves two purposes directly.
_HASH_KEY_INFO = b"gavel/keyed-hash/v1"


class UndecryptableSecret(ValueError):
    """A stored secret cannot be decrypted: it was written with another key, or is not a Fernet token."""


def generate_key() -> str:
    """A fresh random key suitable for GAVEL_SECRET_KEY."""
    return Fernet.generate_key().decode("ascii")


def validate_key(key: str) -> str:
    """Return ``key`` stripped if it is a usable Fernet key; raise ValueError with a one-line reason if not."""
    key = (key or "").strip()
    if not key:
        raise ValueError(f"GAVEL_SECRET_KEY is empty: {KEY_HINT}")
    if _PLACEHOLDER.search(key):
        raise ValueError(f"GAVEL_SECRET_KEY is still a placeholder: {KEY_HINT}")
    try:
        raw = base64.urlsafe_b64decode(key.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ValueError(f"GAVEL_SECRET_KEY is not a Fernet key (32 url-safe base64 bytes): {KEY_HINT}")
    # A hand-typed key such as 43 "A"s decodes fine but is trivially guessable.
    if len(set(raw)) < 8:
        raise ValueError(f"GAVEL_SECRET_KEY is not random enough: {KEY_HINT}")
    return key


class SecretBox:
    """Encrypts secrets for storage and hashes purchase codes, all from one Fernet key."""

    generate_key = staticmethod(generate_key)

    def __init__(self, key: str) -> None:
        key = validate_key(key)
        self._fernet = Fernet(key.encode("ascii"))
        self._hash_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HASH_KEY_INFO).derive(
            base64.urlsafe_b64decode(key.encode("ascii"))
        )

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    def encrypt(self, text: str) -> str:
        """Encrypt and authenticate ``text``; the result is an ASCII Fernet token."""
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The text inside ``token``; UndecryptableSecret if the key is wrong or the token damaged."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError, TypeError, AttributeError) as exc:
            raise UndecryptableSecret("a stored secret could not be decrypted: was GAVEL_SECRET_KEY changed?") from exc

    def keyed_hash(self, text: str) -> str:
        """HMAC-SHA256 of ``text`` as 64 hex digits: stable for one key, useless without it.

        Used to look up purchase codes without storing them in clear; callers normalise
        the code (strip, case) before hashing so equivalent spellings collide.
        """
        return hmac.new(self._hash_key, text.encode("utf-8"), hashlib.sha256).hexdigest()
