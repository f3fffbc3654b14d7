"""verify: check a purchase code with CryptoGig, bind it to the chat user, and hand out the access it unlocks."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot import formatting as fmt
from bot.clients.cryptogig import Purchase, SupportStatus
from bot.errors import CodeAlreadyClaimed, InvalidPurchaseCode, NotAllowed, UserInputError
from bot.limits import Limit, limited, minutes
from bot.messages import Field, Grant, Outcome, Reply, Request, RoleChoice
from storage import repo
from storage.errors import AlreadyClaimed

if TYPE_CHECKING:
    from bot.services import Services

CODE_SHAPE = re.compile(r"^[a-z0-9-]+$")
MAX_CODE_LENGTH = 100


def normalise_code(raw: str) -> str:
    """The one spelling of a purchase code: blanks and quotes trimmed, case folded.

    CryptoGig accepts a code in any case, so ``ABC…`` and ``abc…`` are one purchase: every check,
    the hash, the claim and the upstream call see this form only.
    """
    return raw.strip().strip("`'\"<>").strip().casefold()


def clean_code(raw: str) -> str:
    """The normalised code, or UserInputError if it cannot be a purchase code (no upstream call, no attempt used)."""
    code = normalise_code(raw)
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


def _limits(services: Services, chat_user_id: int, code_hash: str) -> list[Limit]:
    """The user's own failures, and (unless the code is already theirs) the code's failures from any account."""
    settings = services.settings
    own_window = minutes(settings.verify_window_minutes)
    limits = [Limit(f"verify:user:{chat_user_id}", settings.verify_max_failures, own_window)]
    with services.db() as session:
        own = repo.holds_claim(session, chat_user_id=chat_user_id, code_hash=code_hash)
    if not own:
        window = minutes(settings.verify_code_window_minutes)
        limits.append(Limit(f"verify:code:{code_hash}", settings.verify_code_max_failures, window))
    return limits


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
    """Grants of this platform; a role can only be handed out in the place the command ran in."""
    chosen = []
    for grant in grants:
        if grant.platform != request.platform:
            continue
        if grant.target_id != grant.place_id and grant.place_id != request.place_id:
            continue  # a role elsewhere: only a /verify run in that server can hand it out
        chosen.append(Grant(grant.platform, grant.place_id, grant.target_id, grant.item_id))
    return tuple(chosen)


def _roles_elsewhere(services: Services, request: Request, item_id: int) -> bool:
    """Whether some place of this platform hands out a role for the item (so the buyer should /verify there)."""
    with services.db() as session:
        grants = repo.access_grants_for_item(session, item_id=item_id, platform=request.platform)
    return any(grant.target_id != grant.place_id for grant in grants)


def _claim(
    services: Services, request: Request, chat_user_id: int, code: str, code_hash: str, purchase: Purchase
) -> tuple[Grant, ...]:
    """Bind the code to the user (CodeAlreadyClaimed if it is someone else's) and find what it unlocks here."""
    try:
        with services.db() as session:
            repo.claim_purchase(
                session,
                chat_user_id=chat_user_id,
                code_hash=code_hash,
                code_encrypted=services.box.encrypt(code),
                item_id=purchase.item.id,
                license=purchase.license_type or "",
                supported_until=purchase.supported_until,
                max_claims=services.settings.max_claims_per_code,
                now=services.now(),
            )
            repo.record_verify_attempt(session, chat_user_id=chat_user_id, ok=True, at=services.now())
            return _grants_for(request, repo.access_grants_for_item(session, item_id=purchase.item.id))
    except AlreadyClaimed:
        raise CodeAlreadyClaimed(
            "This purchase code is already linked to another account. If it is yours, contact the seller."
        ) from None


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
    box = services.box
    code_hash = box.keyed_hash(code)
    failures = (InvalidPurchaseCode, CodeAlreadyClaimed)
    try:
        async with limited(services, _limits(services, chat_user_id, code_hash), action="verify", failures=failures):
            purchase = await services.cryptogig.validate_purchase(code)
            grants = _claim(services, request, chat_user_id, code, code_hash, purchase)
    except failures:
        _record_attempt(services, chat_user_id, ok=False)
        raise

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
    if not grants and request.place_id is None and _roles_elsewhere(services, request, item.id):
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


def _setup_target(request: Request) -> tuple[str, str]:
    """(target id, how the reply names it): a role the invoker may hand out, or this group itself."""
    role = request.values.get("role")
    if not request.place_has_roles:
        if role is not None:
            # The group the command runs in is the only target: never a chat named from elsewhere.
            raise UserInputError(
                "Here, verified buyers get into this group itself, so name nothing after the item: "
                "send /verify_setup <item> in the group you want to open to buyers."
            )
        return str(request.place_id), "this group: they ask to join, and I let verified buyers in"
    if not isinstance(role, RoleChoice) or not role.resolved:
        raise UserInputError("Pick the role to give from the role option of /verify_setup.")
    if role.id == request.place_id:
        raise UserInputError("Everyone already has @everyone: pick the role verified buyers should get.")
    if role.managed:
        raise NotAllowed("That role is managed by an integration, so nobody can hand it out. Pick another one.")
    if role.privileged:
        raise NotAllowed(
            "That role can administer or moderate the server (Administrator, Manage Server, Manage Roles, "
            "Manage Channels, Kick or Ban Members), so I will not give it to whoever verifies a purchase. "
            "Pick a role without those permissions."
        )
    if role.outranks_invoker:
        raise NotAllowed(
            "That role is not below your own highest role, so you could not hand it out yourself, "
            "and I will not hand it out for you. Pick a lower role, or ask the server owner."
        )
    return role.id, f"the role @{role.name or role.id}"


async def verify_setup(request: Request, services: Services) -> Reply:
    """Map an item to the role or group that a verified purchase of it unlocks in this place."""
    item_id = request.values["item_id"]
    target, what = _setup_target(request)
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
    return Reply(
        title="Access set up",
        text=f"Buyers who /verify {item.name} (#{item.id}) now get {what}.",
        outcome=Outcome.SUCCESS,
        ephemeral=True,
        grant_checks=(grant,),
    )
