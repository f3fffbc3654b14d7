"""verify and verify_setup: check a purchase code with CryptoGig, bind it to the chat user, unlock what it gives."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.access.notices import item_label, staff_line, who
from bot.clients.cryptogig import Purchase, SupportStatus
from bot.core import formatting as fmt
from bot.core.common import CODE, ITEM_ID, chat_user_id
from bot.core.errors import (
    CodeAlreadyClaimed,
    InvalidPurchaseCode,
    NotAllowed,
    PurchaseRefunded,
    RateLimited,
    UserInputError,
)
from bot.core.i18n import N_, _
from bot.core.limits import Limit, limited, minutes
from bot.core.messages import Field, Grant, Outcome, Reply, Request, RoleChoice
from bot.core.registry import ArgKind, Argument, CommandGroup, Scope
from storage import claims, places
from storage.errors import AlreadyClaimed, ClaimRevoked

if TYPE_CHECKING:
    from bot.core.services import Services

commands = CommandGroup()


async def resend_links(request: Request, services: Services) -> Reply | None:
    """/verify with no code: a buyer whose purchases open places here gets their way in again."""
    now = services.now()

    def unlocked(session: Session) -> list[Grant]:
        held = claims.claims_of(session, platform=request.platform, platform_user_id=request.user_id)
        grants: list[Grant] = []
        for claim in (c for c in held if c.active):
            supported = claim.supported_until is not None and claim.supported_until > now
            found = places.access_grants_for_item(session, item_id=claim.item_id)
            grants += _grants_for(request, [g for g in found if supported or not g.expires_with_support])
        return grants

    grants = tuple(dict.fromkeys(await services.db.read(unlocked)))
    if not grants:
        return None  # nothing to re-send: ask for a code
    return Reply(
        title=_("Your access"),
        text=_("Your verified purchases open these for you. To verify another purchase, send /verify <code>."),
        outcome=Outcome.SUCCESS,
        grants=grants,
    )


@commands.command(
    args=(CODE,), aliases=("validate",), private=True, slow=True, when_missing=resend_links, deep_link=True
)
async def verify(request: Request, services: Services) -> Reply:
    """Verify a CryptoGig purchase code and unlock your access."""
    code = request.values["code"]
    user_id = await chat_user_id(services, request)
    code_hash = services.box.keyed_hash(code)
    audit = Audit(services, request, user_id, fmt.mask(code))
    failures = (InvalidPurchaseCode, CodeAlreadyClaimed, NotAllowed)
    limits = await _limits(services, user_id, code_hash)
    try:
        async with limited(services, limits, action="verify", failures=failures) as attempt:
            try:
                purchase = await services.cryptogig.validate_purchase(code)
            except InvalidPurchaseCode:
                if not await services.db.read(lambda s: claims.was_refunded(s, code_hash=code_hash)):
                    raise
                # Not a guess: this code was a real purchase until its refund. It counts against the code (tried
                # over and over, it still stops), not against the person, who may go on trying their real codes.
                attempt.spare(f"verify:user:{user_id}")
                raise PurchaseRefunded() from None
            grants = await _claim(services, request, audit, code, code_hash, purchase)
    except (*failures, RateLimited) as refused:
        await audit.refused(refused)
        raise

    item = purchase.item
    fields = [
        # Translators: a field name of a verified purchase's card: the item bought
        Field(_("Item"), f"{item.name} (#{item.id})", inline=False),
        Field(
            # Translators: a field name of a verified purchase's card: its licence type
            _("Licence"),
            # Translators: a purchase's licence type when CryptoGig names none
            fmt.licence(purchase.license_type, _("unknown")),
        ),
        # Translators: a field name of a verified purchase's card: how long the seller's support lasts
        Field(_("Support"), _support_line(purchase, services)),
        # Translators: a field name of a verified purchase's card: the purchase code, masked
        Field(_("Code"), fmt.mask(code)),
    ]
    if purchase.date:
        # Translators: a field name of a verified purchase's card: the day it was bought
        fields.append(Field(_("Purchased"), fmt.day(purchase.date)))
    if purchase.downloaded:
        # Translators: a field name of a verified purchase's card: whether the buyer downloaded the item
        downloaded = _("Downloaded")
        # Translators: the value of the "Downloaded" field of a verified purchase's card
        fields.append(Field(downloaded, _("yes")))
    if not grants and request.place_id is None and await _roles_elsewhere(services, request, item.id):
        text = _(
            "Your purchase is verified and linked to this account. "
            "Run /verify inside the seller's server to receive your buyer role."
        )
    else:
        text = _("Your purchase is verified and linked to this account.")
    return Reply(
        title=_("Purchase verified"),
        text=text,
        fields=tuple(fields),
        thumbnail_url=item.media.thumbnail,
        outcome=Outcome.SUCCESS,
        grants=grants,
    )


EXPIRE = Argument(
    "expire",
    "support: access ends when the purchase's support ends",
    ArgKind.CHOICE,
    False,
    choices=("support", "never"),
)


@commands.command(
    args=(
        ITEM_ID,
        Argument("role", "the role verified buyers get (where there are roles)", ArgKind.ROLE, False),
        EXPIRE,
    ),
    scope=Scope.MANAGER,
    needs_place=True,
    ephemeral=True,
    slow=True,
)
async def verify_setup(request: Request, services: Services) -> Reply:
    """Give verified buyers of an item a role of this server, or a way into this group."""
    target, role = _setup_target(request)
    follows_support = request.values.get("expire") == "support"
    item = await services.cryptogig.item(request.values["item_id"])
    now = services.now()
    await services.db.run(
        lambda s: places.set_access_grant(
            s,
            platform=request.platform,
            place_id=str(request.place_id),
            item_id=item.id,
            target_id=target,
            created_by=request.who,
            now=now,
            expires_with_support=follows_support,
        )
    )
    if role is None and follows_support:
        text = _(
            "Buyers who /verify {name} (#{id}) now get this group: they ask to join, and I let verified buyers in"
            " for as long as their purchase's support lasts."
        )
    elif role is None:
        text = _(
            "Buyers who /verify {name} (#{id}) now get this group: they ask to join, and I let verified buyers in."
        )
    elif follows_support:
        # Translators: {role} is the role's name, written @name
        text = _(
            "Buyers who /verify {name} (#{id}) now get the role {role} for as long as their purchase's support lasts."
        )
    else:
        # Translators: {role} is the role's name, written @name
        text = _("Buyers who /verify {name} (#{id}) now get the role {role}.")
    return Reply(
        title=_("Access set up"),
        text=text.format(name=item.name, id=item.id, role=role),
        outcome=Outcome.SUCCESS,
        grant_checks=(Grant(request.platform, str(request.place_id), target, item.id),),
    )


async def _limits(services: Services, chat_user_id: int, code_hash: str) -> list[Limit]:
    """The user's own failures, and (unless the code is already theirs) the code's failures from any account."""
    settings = services.settings
    own_window = minutes(settings.verify_window_minutes)
    limits = [Limit(f"verify:user:{chat_user_id}", settings.verify_max_failures, own_window)]
    if not await services.db.read(lambda s: claims.holds_claim(s, chat_user_id=chat_user_id, code_hash=code_hash)):
        window = minutes(settings.verify_code_window_minutes)
        limits.append(Limit(f"verify:code:{code_hash}", settings.verify_code_max_failures, window))
    return limits


class Audit:
    """One verification's line in the audit log, and in the staff log when it went somewhere."""

    # Why a verification was refused, as the staff log reads it (translated where shown).
    OUTCOMES = (
        # Translators: why a verification was refused, in a staff-log line
        (PurchaseRefunded, "invalid", N_("refunded, so no longer valid")),
        # Translators: why a verification was refused, in a staff-log line
        (InvalidPurchaseCode, "invalid", N_("not a valid code")),
        # Translators: why a verification was refused, in a staff-log line
        (CodeAlreadyClaimed, "claimed", N_("already linked to another account")),
        # Translators: why a verification was refused, in a staff-log line
        (NotAllowed, "revoked", N_("revoked by the seller's staff")),
        # Translators: why a verification was refused, in a staff-log line
        (RateLimited, "limited", N_("too many tries")),
    )

    def __init__(self, services: Services, request: Request, chat_user_id: int, masked_code: str) -> None:
        self.services, self.chat_user_id, self.masked_code = services, chat_user_id, masked_code
        self.person = (request.platform, request.user_id, request.display_name)  # worded in each log's language

    def verified(self, session: Session, item_id: int, item_name: str) -> None:
        now = self.services.now()
        claims.record_verify_attempt(
            session, chat_user_id=self.chat_user_id, ok=True, at=now, outcome="verified", item_id=item_id,
            masked_code=self.masked_code,
        )  # fmt: skip

        def line() -> Reply:
            # Translators: a staff-log line; {code} is the masked purchase code
            return Reply(_("✅ Verified: {person} — {item}, code {code}.").format(
                person=who(*self.person), item=item_label(item_id, item_name), code=self.masked_code
            ))  # fmt: skip

        staff_line(session, key=f"verified:{self.chat_user_id}:{now.timestamp()}", words=line, now=now)

    async def refused(self, error: BaseException) -> None:
        outcome, why = next((o, w) for kind, o, w in self.OUTCOMES if isinstance(error, kind))
        now = self.services.now()

        def record(session: Session) -> None:
            claims.record_verify_attempt(
                session, chat_user_id=self.chat_user_id, ok=False, at=now, outcome=outcome,
                masked_code=self.masked_code,
            )  # fmt: skip
            if outcome != "limited":  # an attack's every try would bury the log; the audit keeps them all

                def line() -> Reply:
                    # Translators: a staff-log line; {code} is the masked purchase code, {why} why it was refused
                    return Reply(_("⛔ Refused: {person}, code {code}: {why}.").format(
                        person=who(*self.person), code=self.masked_code, why=_(why)
                    ))  # fmt: skip

                staff_line(session, key=f"refused:{self.chat_user_id}:{now.timestamp()}", words=line, now=now)

        await self.services.db.run(record)


def _support_line(purchase: Purchase, services: Services) -> str:
    now = services.now()
    status = purchase.support_status(now)
    if status is SupportStatus.ACTIVE and purchase.supported_until:
        until = purchase.supported_until
        # Translators: {day} is a date, {when} how far away it is ("in 3 months")
        return _("Supported until {day} ({when})").format(day=fmt.day(until), when=fmt.relative(until, now))
    if status is SupportStatus.EXPIRED and purchase.supported_until:
        return _("Support expired on {day}").format(day=fmt.day(purchase.supported_until))
    return _("No support included")


def _first_check(code_hash: str, now: datetime, period: timedelta) -> datetime:
    """When a new claim is first re-checked: somewhere in the coming period, spread evenly by the code's hash."""
    return now + period * (int(code_hash[:8], 16) / 0x1_0000_0000)


def _grants_for(request: Request, grants: list, *, supported: bool = True) -> tuple[Grant, ...]:
    """Grants of this platform; a role can only be handed out in the place the command ran in; a grant that
    follows the licence only while support lasts."""
    chosen = []
    for grant in grants:
        if grant.expires_with_support and not supported:
            continue
        if grant.platform != request.platform:
            continue
        if grant.target_id != grant.place_id and grant.place_id != request.place_id:
            continue  # a role elsewhere: only a /verify run in that server can hand it out
        chosen.append(Grant(grant.platform, grant.place_id, grant.target_id, grant.item_id))
    return tuple(chosen)


async def _roles_elsewhere(services: Services, request: Request, item_id: int) -> bool:
    """Whether some place of this platform hands out a role for the item (so the buyer should /verify there)."""
    grants = await services.db.read(
        lambda s: places.access_grants_for_item(s, item_id=item_id, platform=request.platform)
    )
    return any(grant.target_id != grant.place_id for grant in grants)


async def _claim(
    services: Services, request: Request, audit: Audit, code: str, code_hash: str, purchase: Purchase
) -> tuple[Grant, ...]:
    """Bind the code to the user (CodeAlreadyClaimed if it is someone else's) and find what it unlocks here."""
    now = services.now()
    encrypted = services.box.encrypt(code)
    period = timedelta(seconds=services.settings.verify_recheck_seconds)
    supported = purchase.support_status(now) is SupportStatus.ACTIVE

    def claim(session: Session) -> tuple[Grant, ...]:
        claims.claim_purchase(
            session,
            chat_user_id=audit.chat_user_id,
            code_hash=code_hash,
            code_encrypted=encrypted,
            item_id=purchase.item.id,
            license=purchase.license_type or "",
            supported_until=purchase.supported_until,
            max_claims=services.settings.max_claims_per_code,
            now=now,
            next_check_at=_first_check(code_hash, now, period),
        )
        audit.verified(session, purchase.item.id, purchase.item.name)
        found = places.access_grants_for_item(session, item_id=purchase.item.id)
        return _grants_for(request, found, supported=supported)

    try:
        return await services.db.run(claim)
    except AlreadyClaimed:
        raise CodeAlreadyClaimed() from None
    except ClaimRevoked:
        raise NotAllowed("claim_revoked") from None


def _setup_target(request: Request) -> tuple[str, str | None]:
    """(target id, the role as the reply names it): a role the invoker may hand out, or (None) this group itself."""
    role = request.values.get("role")
    if not request.place_has_roles:
        if role is not None:
            # The group the command runs in is the only target: never a chat named from elsewhere.
            raise UserInputError("setup_names_nothing")
        return str(request.place_id), None
    if not isinstance(role, RoleChoice) or not role.resolved:
        raise UserInputError("pick_a_role")
    if role.id == request.place_id:
        raise UserInputError("role_is_everyone")
    if role.managed:
        raise NotAllowed("role_managed")
    if role.privileged:
        raise NotAllowed("role_privileged")
    if role.outranks_invoker:
        raise NotAllowed("role_outranks_you")
    return role.id, f"@{role.name or role.id}"


async def verify_for(services: Services, request: Request, code: str) -> Purchase:
    """/verify's check and claim on behalf of ``request``'s person (a staff import): the same audit and staff-log
    lines, and the same refusals raised (InvalidPurchaseCode, CodeAlreadyClaimed, NotAllowed, upstream errors);
    without the asker's rate limits, which guard a person typing, not staff importing."""
    user_id = await chat_user_id(services, request)
    audit = Audit(services, request, user_id, fmt.mask(code))
    try:
        purchase = await services.cryptogig.validate_purchase(code)
        await _claim(services, request, audit, code, services.box.keyed_hash(code), purchase)
    except (InvalidPurchaseCode, CodeAlreadyClaimed, NotAllowed) as refused:
        await audit.refused(refused)
        raise
    return purchase
