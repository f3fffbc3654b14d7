"""CryptoGig's API objects as pydantic models: the one place that tolerates the API's loose JSON.

Versions as strings or numbers, prices as strings, media keys that come and go with the item
type, PHP's ``[]`` for an empty object, nulls and unknown keys are all read here. An unreadable
optional field falls back to its default; only what we cannot do without (an item's id, a
purchase's item) fails validation, which the client reports as UpstreamMalformed.
"""

from __future__ import annotations

import enum
import math
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
)

from bot.core.clock import as_utc

__all__ = [
    "Account",
    "AccountName",
    "Contact",
    "Item",
    "Media",
    "Price",
    "Profile",
    "ProfileMedia",
    "Purchase",
    "SupportStatus",
]


def _money(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return None
    try:
        amount = Decimal(str(value).strip().lstrip("$").replace(",", ""))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def _version(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    return value


def _str_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, str | int | float) and not isinstance(v, bool)]
    return value


def _object(value: Any) -> Any:
    """PHP encodes an empty associative array as ``[]``; read it as an empty object."""
    return {} if value is None or value == [] else value


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


Money = Annotated[Decimal | None, BeforeValidator(_money)]
Version = Annotated[str | None, BeforeValidator(_version)]
StrList = Annotated[list[str], BeforeValidator(_str_list)]
Timestamp = Annotated[datetime | None, AfterValidator(_utc)]


class _Lenient(BaseModel):
    """Base of the API models: extra keys ignored, and an unreadable optional field gets its default."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True, frozen=True)

    @field_validator("*", mode="wrap")
    @classmethod
    def _default_when_unreadable(cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
        try:
            return handler(value)
        except ValidationError:
            field = cls.model_fields[info.field_name or ""]
            if field.is_required():
                raise
            return field.get_default(call_default_factory=True)


class Media(_Lenient):
    """An item's media; which keys exist depends on the item type (audio has no preview_image)."""

    thumbnail: str | None = None
    preview_image: str | None = None
    preview_video: str | None = None
    preview_audio: str | None = None
    screenshots: StrList = Field(default_factory=list)


class Price(_Lenient):
    regular: Money = None
    extended: Money = None


class Item(_Lenient):
    """A catalogue item. ``version`` is always a string (the API sends "2.1.0" or 1.5)."""

    id: int
    name: str = ""
    description: str | None = None
    category: str | None = None
    sub_category: str | None = None
    options: StrList = Field(default_factory=list)
    version: Version = None
    demo_link: str | None = None
    tags: StrList = Field(default_factory=list)
    media: Annotated[Media, BeforeValidator(_object)] = Field(default_factory=Media)
    price: Annotated[Price, BeforeValidator(_object)] = Field(default_factory=Price)
    currency: str | None = None
    published_at: Timestamp = None

    @property
    def image_url(self) -> str | None:
        """The best still picture: the preview image, else the first screenshot, else the thumbnail."""
        media = self.media
        return media.preview_image or (media.screenshots[0] if media.screenshots else None) or media.thumbnail

    @property
    def kind(self) -> Literal["audio", "video", "image"]:
        if self.media.preview_audio:
            return "audio"
        return "video" if self.media.preview_video else "image"


class AccountName(_Lenient):
    firstname: str | None = None
    lastname: str | None = None
    full_name: str | None = None


class Contact(_Lenient):
    email: str | None = None


class ProfileMedia(_Lenient):
    avatar: str | None = None
    cover: str | None = None


def _links(value: Any) -> Any:
    """The document shows social_links as a list of pairs; accept an object or a list of either."""
    if isinstance(value, list):
        links: dict[str, Any] = {}
        for index, entry in enumerate(value):
            links.update(entry if isinstance(entry, dict) else {f"link{index + 1}": entry})
        return {str(k): v for k, v in links.items() if isinstance(v, str)}
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items() if isinstance(v, str)}
    return _object(value)


class Profile(_Lenient):
    heading: str | None = None
    description: str | None = None
    contact: Annotated[Contact, BeforeValidator(_object)] = Field(default_factory=Contact)
    social_links: Annotated[dict[str, str], BeforeValidator(_links)] = Field(default_factory=dict)
    media: Annotated[ProfileMedia, BeforeValidator(_object)] = Field(default_factory=ProfileMedia)


class Account(_Lenient):
    """The seller workspace the API key belongs to."""

    name: Annotated[AccountName, BeforeValidator(_object)] = Field(default_factory=AccountName)
    username: str | None = None
    email: str | None = None
    balance: Money = None
    currency: str | None = None
    profile: Annotated[Profile, BeforeValidator(_object)] = Field(default_factory=Profile)
    registered_at: Timestamp = None

    @property
    def display_name(self) -> str:
        name = self.name
        joined = " ".join(part for part in (name.firstname, name.lastname) if part)
        return name.full_name or joined or self.username or "(unnamed account)"


class SupportStatus(enum.StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    NONE = "none"


class Purchase(_Lenient):
    """A valid purchase. No ``supported_until`` means the purchase carries no support."""

    purchase_code: str | None = None
    license_type: str | None = None
    price: Money = None
    currency: str | None = None
    item: Item
    supported_until: Timestamp = None
    downloaded: bool = False
    date: Timestamp = None

    @property
    def is_extended(self) -> bool:
        return "extended" in (self.license_type or "").lower()

    def support_status(self, now: datetime) -> SupportStatus:
        if self.supported_until is None:
            return SupportStatus.NONE
        return SupportStatus.ACTIVE if self.supported_until > now else SupportStatus.EXPIRED
