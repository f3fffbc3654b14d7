"""What an outbox row holds: a Reply to send or an AccessChange to carry out, as versioned JSON.

Rows are written by one version of Gavel and may be read by the next, after a deploy: every payload names its
schema version (``v``), the reader upgrades older versions step by step before validating, and fields it does
not know are ignored. A field renamed in ``Reply`` therefore needs a new version and one step in ``_UPGRADES``;
``tests/unit/test_payloads.py`` reads rows exactly as earlier versions wrote them.

    version 1   (until this module) Reply as ``dataclasses.asdict`` with the image base64-encoded,
                or ``{"access": {...}}``; no version field
    version 2   ``{"v": 2, "reply": {...}}`` or ``{"v": 2, "access": {...}}``, through pydantic
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.core.messages import AccessChange, Reply

VERSION = 2


class UnreadablePayload(ValueError):
    """A row's payload is not JSON, names a version newer than this code, or does not validate."""


class _Payload(BaseModel):
    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64", extra="ignore")

    v: int = VERSION
    reply: Reply | None = None
    access: AccessChange | None = None


def encode_reply(reply: Reply) -> str:
    """A Reply as the outbox keeps it (alerts are worded when written, sent later)."""
    return _Payload(reply=reply).model_dump_json()


def encode_access(change: AccessChange) -> str:
    """An access change as the outbox keeps it (carried out by the dispatcher, retried like an alert)."""
    return _Payload(access=change).model_dump_json()


def decode(text: str) -> Reply | AccessChange:
    """What a row holds, whichever version wrote it; UnreadablePayload when it cannot be read."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError) as error:
        raise UnreadablePayload(f"not JSON: {error}") from None
    if not isinstance(data, dict):
        raise UnreadablePayload("not a JSON object")
    version = data.get("v", 1)
    if not isinstance(version, int) or version > VERSION:
        raise UnreadablePayload(f"written by a newer version (payload version {version!r})")
    while version < VERSION:
        data, version = _UPGRADES[version](data), version + 1
    try:
        payload = _Payload.model_validate(data)
    except ValidationError as error:
        raise UnreadablePayload(f"does not validate: {error.error_count()} error(s)") from None
    found = payload.access or payload.reply
    if found is None:
        raise UnreadablePayload("holds neither a reply nor an access change")
    return found


def _from_version_1(data: dict[str, Any]) -> dict[str, Any]:
    if "access" in data:
        return {"v": 2, "access": data["access"]}
    image = data.get("image")
    if isinstance(image, dict) and isinstance(image.get("data"), str):
        # Version 1 wrote standard base64; version 2 reads pydantic's URL-safe alphabet.
        raw = base64.b64decode(image["data"])
        data = {**data, "image": {**image, "data": base64.urlsafe_b64encode(raw).decode("ascii")}}
    return {"v": 2, "reply": data}


_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _from_version_1}
