"""verify: check a purchase code with CryptoGig, bind it to the chat user, and hand out the access it unlocks."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

from bot import formatting as fmt
from bot.clients.cryptogig import Purchase, SupportStatus
from bot.errors import CodeAlreadyClaimed, InvalidPurchaseCode, RateLimited, UserInputError
from bot.messages import Field, Grant, Outcome, Reply, Request
from storage import repo

if TYPE_CHECKING:
    from bot.services import Services

CODE_SHAPE = re.compile(r"^[A-Za-z0-9-]+$")
CHAT_OR_ROLE_ID = re.compile(r"-?[0-9]{1,20}")  # Telegram group ids are negative; Discord role ids are snowflakes
MAX_CODE_LENGTH = 100


def clean_code(raw: str) -> str:
    """The code trimmed, or UserInputError if it cannot be a purchase code (no upstream call, no attempt used)."""
    code = raw.strip().strip("`'\"<>")
    if not code:
        raise UserInputError("Please send the purchase code after the command: /verify <purchase code>.")
    if len(code) > MAX_CODE_LENGTH:
        raise UserInputError(f"That is too long for a purchase code (at most {MAX_CODE_LENGTH} characters).")
    if not CODE_SHAPE.match(code):
        raise UserInputError(
            "A purchase code has only letters, digits and dashes, like 1f3a9c2e-7b4d-4e8f-9a61-0c5d7e2b1a90. "
            "Check what you pasted."
        )
    return code


def _check_attempts(services: Services, chat_user_id: int) -> None:
    settings = services.settings
    window = timedelta(minutes=settings.verify_window_minutes)
    now = services.now()
    with services.db() as session:
        failures = repo.failed_attempts_since(session, chat_user_id=chat_user_id, since=now - window)
    if len(failures) >= settings.verify_max_failures:
        # The window reopens when the oldest failure that still counts leaves it.
        oldest_counting = failures[len(failures) - settings.verify_max_failures]
        raise RateLimited(retry_after=(fmt.as_utc(oldest_counting) + window - now).total_seconds())


def _record_attempt(services: Services, chat_user_id: int, ok: bool) -> None:
    with services.db() as session:
        repo.record_verify_attempt(session, chat_user_id=chat_user_id, ok=ok, at=services.now())


def _support_line(purchase: Purchase, services: Services) -> str:
    now = services.now()
    status = purchase.support_status(now)
    if status is SupportStatus.ACTIVE and purchase.supported_until:
        until = purchase.supported_until
        return f"Supported until {fmt.day(until)} ({fmt.relative(until, now)})"
    if status is SupportStatus.EXPIRED and purchase.supported_until:
        return f"Support expired on {fmt.day(purchase.supported_until)}"
    return "No support included"


def _grants_for(request: Request, grants: list) -> tuple[Grant, ...]:
    """Grants for this platform; on Discord only the guild the command ran in can hand out a role."""
    chosen = []
    for grant in grants:
        if grant.platform != request.platform:
            continue
        if request.platform == "discord" and grant.place_id != request.place_id:
            continue
        chosen.append(Grant(grant.platform, grant.place_id, grant.target_id, grant.item_id))
    return tuple(chosen)


async def verify(request: Request, services: Services) -> Reply:
    """Verify a purchase code and unlock what it gives access to."""
    code = clean_code((request.form or {}).get("code", ""))
    with services.db() as session:
        user = repo.get_or_create_chat_user(
            session,
            platform=request.platform,
            platform_user_id=request.user_id,
            display_name=request.display_name,
        )
        chat_user_id = user.id
    _check_attempts(services, chat_user_id)
    try:
        purchase = await services.cryptogig.validate_purchase(code)
    except InvalidPurchaseCode:
        _record_attempt(services, chat_user_id, ok=False)
        raise
    box = services.box
    try:
        with services.db() as session:
            repo.claim_purchase(
                session,
                chat_user_id=chat_user_id,
                code_hash=box.keyed_hash(code),
                code_encrypted=box.encrypt(code),
                item_id=purchase.item.id,
                license=purchase.license_type or "",
                supported_until=purchase.supported_until,
                max_claims=services.settings.max_claims_per_code,
                now=services.now(),
            )
            repo.record_verify_attempt(session, chat_user_id=chat_user_id, ok=True, at=services.now())
            grants = _grants_for(request, repo.access_grants_for_item(session, item_id=purchase.item.id))
    except CodeAlreadyClaimed:
        _record_attempt(services, chat_user_id, ok=False)
        raise CodeAlreadyClaimed(
            "This purchase code is already linked to another account. If it is yours, contact the seller."
        ) from None

    item = purchase.item
    fields = [
        Field("Item", f"{item.name} (#{item.id})", inline=False),
        Field("Licence", purchase.license_type or "unknown"),
        Field("Support", _support_line(purchase, services)),
        Field("Code", fmt.mask(code)),
    ]
    if purchase.date:
        fields.append(Field("Purchased", fmt.day(purchase.date)))
    if purchase.downloaded:
        fields.append(Field("Downloaded", "yes"))
    text = "Your purchase is verified and linked to this account."
    if not grants and request.platform == "discord" and request.place_id is None:
        text += " Run /verify inside the seller's server to receive your buyer role."
    return Reply(
        title="Purchase verified",
        text=text,
        fields=tuple(fields),
        thumbnail_url=item.media.thumbnail,
        outcome=Outcome.SUCCESS,
        ephemeral=True,
        grants=grants,
    )


async def verify_setup(request: Request, services: Services) -> Reply:
    """Map an item to the role (Discord) or group (Telegram) that a verified purchase of it unlocks."""
    item_id = request.values["item_id"]
    target = str(request.values.get("target") or request.chat_id)
    target = target.strip("<@&>#")
    if not CHAT_OR_ROLE_ID.fullmatch(target):
        raise UserInputError("Name the role (Discord) or leave it out inside the group to grant (Telegram).")
    item = await services.cryptogig.item(item_id)
    with services.db() as session:
        repo.set_access_grant(
            session,
            platform=request.platform,
            place_id=str(request.place_id),
            item_id=item.id,
            target_id=target,
            created_by=request.who,
        )
    grant = Grant(request.platform, str(request.place_id), target, item.id)
    what = f"the role <@&{target}>" if request.platform == "discord" else "an invite link to this group"
    return Reply(
        title="Access set up",
        text=f"Buyers who /verify {item.name} (#{item.id}) now get {what}.",
        outcome=Outcome.SUCCESS,
        ephemeral=True,
        grant_checks=(grant,),
    )
