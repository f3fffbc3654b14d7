"""Staff commands (the bot's admins): the staff log, a buyer's or a code's history, revoke, unbind, the grant map.

Answers are private: a buyer's purchases are between the seller and the buyer.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from sqlmodel import Session

from bot.access import notices as buyers
from bot.core import formatting as fmt
from bot.core import i18n
from bot.core.common import ITEM_ID
from bot.core.errors import NotAllowed
from bot.core.i18n import _, ngettext
from bot.core.messages import Button, Field, Outcome, Reply, Request
from bot.core.registry import ArgKind, Argument, CommandGroup, Scope
from storage import claims, places, staff_logs
from storage.claims import ClaimView

if TYPE_CHECKING:
    from bot.core.services import Services

commands = CommandGroup()

USER = Argument("user", "their numeric user id, or send the command as a reply to one of their messages", ArgKind.USER)
CODE = Argument("code", "the purchase code", ArgKind.CODE, max_length=200)
SWITCH = Argument("state", "off to stop", ArgKind.CHOICE, required=False, choices=("on", "off"))
MAX_LISTED = 20


def claim_state(view: ClaimView) -> str:
    """A claim's state in words, for staff (/buyer, /code, the dashboard)."""
    if view.active:
        # Translators: the state of a verified purchase, in staff's listing
        return _("active")
    if not view.revoked_at:
        # Translators: the state of a verified purchase, in staff's listing
        return _("revoked")
    why = buyers.why_revoked(view.revoke_reason) if view.revoke_reason else _("revoked")
    # Translators: the state of a verified purchase, in staff's listing; {day} is a date, {why} the reason
    return _("revoked {day}: {why}").format(day=fmt.day(view.revoked_at), why=why)


def _support(view: ClaimView, services: Services) -> str:
    if view.supported_until is None:
        # Translators: a verified purchase comes with no support from the seller, in staff's listing
        return _("no support")
    # Translators: in staff's listing; {day} is a date, {when} how far away it is ("in 3 months")
    return _("support until {day} ({when})").format(
        day=fmt.day(view.supported_until), when=fmt.relative(view.supported_until, services.now())
    )


def _masked(services: Services, view: ClaimView) -> str:
    return buyers.masked_code(services.box, view.code_encrypted)


def _private_only(request: Request, command: str) -> None:
    """Codes are only ever typed where nobody else reads them."""
    if not request.is_private:
        raise NotAllowed("private_only", command=command, open_private_chat=True)


@commands.command(args=(SWITCH,), scope=Scope.ADMIN, needs_place=True, ephemeral=True)
async def staff_log(request: Request, services: Services) -> Reply:
    """Make this group or channel the staff log (/staff_log off stops it)."""
    now = services.now()
    if request.values.get("state") == "off":
        removed = await services.db.run(
            lambda s: staff_logs.remove_staff_log(s, platform=request.platform, chat_id=request.chat_id)
        )
        return Reply(_("This is no longer a staff log.") if removed else _("This was not a staff log."))
    await services.db.run(
        lambda s: staff_logs.add_staff_log(
            s,
            platform=request.platform,
            chat_id=request.chat_id,
            created_by=request.who,
            language=i18n.current(),
            now=now,
        )
    )
    return Reply(
        title=_("Staff log on"),
        text=_(
            "Verifications, refusals, revocations and re-check results will be posted here as they happen, "
            "with the item and the purchase code masked. Send /staff_log off to stop."
        ),
        outcome=Outcome.SUCCESS,
    )


@commands.command(args=(USER,), scope=Scope.ADMIN, private=True)
async def buyer(request: Request, services: Services) -> Reply:
    """See what a buyer verified: items, licences, support end, state."""
    user_id = request.values["user"]
    views = await services.db.read(lambda s: claims.claims_of(s, platform=request.platform, platform_user_id=user_id))
    if not views:
        return Reply(_("{person} has verified nothing.").format(person=buyers.who(request.platform, user_id)))
    fields = tuple(
        Field(
            f"{buyers.item_label(v.item_id)} — {_masked(services, v)}",
            # Translators: a purchase in staff's listing: "Regular, support until …; verified 2 May 2025; active"
            _("{licence}, {support}; verified {day}; {state}").format(
                # Translators: a purchase's licence type when CryptoGig named none, in staff's listing
                licence=fmt.licence(v.license, _("licence unknown")),
                support=_support(v, services),
                day=fmt.day(v.verified_at),
                state=claim_state(v),
            ),
            inline=False,
        )
        for v in views[-MAX_LISTED:]
    )
    person = buyers.who(request.platform, user_id, views[-1].display_name)
    count = len(views)
    return Reply(
        title=_("Buyer {person}").format(person=person),
        fields=fields,
        footer=ngettext("{count} purchase", "{count} purchases", count).format(count=count),
    )


@commands.command(args=(CODE,), scope=Scope.ADMIN, private=True)
async def code(request: Request, services: Services) -> Reply:
    """See who claimed a purchase code, and when (private chat only)."""
    _private_only(request, "code")
    value = request.values["code"]
    code_hash = services.box.keyed_hash(value)
    views = await services.db.read(lambda s: claims.claims_of_code(s, code_hash=code_hash))
    if not views:
        # Translators: {code} is a purchase code, masked
        return Reply(_("Nobody has claimed {code}.").format(code=fmt.mask(value)))
    fields = tuple(
        Field(
            buyers.who(v.platform, v.platform_user_id, v.display_name),
            # Translators: a claim of a purchase code in staff's listing: "item #3, verified 2 May 2025; active"
            _("{item}, verified {day}; {state}").format(
                item=buyers.item_label(v.item_id), day=fmt.day(v.verified_at), state=claim_state(v)
            ),
            inline=False,
        )
        for v in views
    )
    # Translators: a title; {code} is a purchase code, masked
    return Reply(title=_("Code {code}").format(code=fmt.mask(value)), fields=fields)


@commands.command(args=(USER, replace(ITEM_ID, required=False)), scope=Scope.ADMIN, private=True)
async def revoke(request: Request, services: Services) -> Reply:
    """Take a buyer's access away and revoke their purchases (all, or one item's)."""
    user_id, item_id = request.values["user"], request.values.get("item_id")
    now = services.now()

    def take(session: Session) -> list[ClaimView]:
        held = claims.claims_of(session, platform=request.platform, platform_user_id=user_id)
        chosen = [v for v in held if v.active and (item_id is None or v.item_id == item_id)]
        done = []
        for view in chosen:
            masked = _masked(services, view)
            revoked = buyers.revoke(
                session, claim_id=view.id, reason="revoked", now=now, masked_code=masked, by=request.who
            )
            if revoked is not None:
                done.append(revoked)
        return done

    done = await services.db.run(take)
    person = buyers.who(request.platform, user_id)
    if not done and item_id:
        text = _("{person} has no active verified purchase of {item}.")
        return Reply(text.format(person=person, item=buyers.item_label(item_id)))
    if not done:
        return Reply(_("{person} has no active verified purchase.").format(person=person))
    items = ", ".join(buyers.item_label(v.item_id) for v in done)
    return Reply(
        # Translators: a title: a buyer's purchases were revoked
        title=_("Revoked"),
        # Translators: {items} lists the items whose purchases were revoked
        text=_("{person}: {items}. Their access is being taken away, and they are told privately.").format(
            person=person, items=items
        ),
        outcome=Outcome.SUCCESS,
    )


@commands.command(args=(CODE,), scope=Scope.ADMIN, private=True)
async def unbind(request: Request, services: Services) -> Reply:
    """Free a purchase code so another account can claim it; the old account loses the access."""
    _private_only(request, "unbind")
    value = request.values["code"]
    code_hash = services.box.keyed_hash(value)
    now = services.now()

    def free(session: Session) -> list[ClaimView]:
        active = [v for v in claims.claims_of_code(session, code_hash=code_hash) if v.active]
        masked = fmt.mask(value)
        done = [
            buyers.revoke(session, claim_id=v.id, reason="unbound", now=now, masked_code=masked, by=request.who)
            for v in active
        ]
        return [v for v in done if v is not None]

    done = await services.db.run(free)
    if not done:
        # Translators: {code} is a purchase code, masked
        return Reply(_("{code} is not bound to any account.").format(code=fmt.mask(value)))
    people = ", ".join(buyers.who(v.platform, v.platform_user_id, v.display_name) for v in done)
    return Reply(
        title=_("Code freed"),
        # Translators: {code} is a purchase code, masked; {people} the accounts it was bound to
        text=_("{code} is no longer bound to {people}; another account may now verify it.").format(
            code=fmt.mask(value), people=people
        ),
        outcome=Outcome.SUCCESS,
    )


@commands.command(scope=Scope.ADMIN, needs_place=True, private=True, slow=True)
async def grants(request: Request, services: Services) -> Reply:
    """List what verified buyers get here: item, and the role or group it opens."""
    found = await services.db.read(
        lambda s: places.access_grants_for_place(s, platform=request.platform, place_id=str(request.place_id))
    )
    if not found:
        return Reply(_("Nothing is set up here yet. Send /verify_setup <item> to open this place to buyers."))
    names = {item.id: item.name for item in await services.cryptogig.items()}
    fields = tuple(
        Field(
            buyers.item_label(g.item_id, names.get(g.item_id)),
            _granted(g.target_id, g.place_id, g.expires_with_support),
            inline=False,
        )
        for g in found
    )
    return Reply(title=_("Access set up here"), fields=fields)


def _granted(target_id: str, place_id: str, with_support: bool) -> str:
    """What an item's verified buyers get (in /grants): this group, or a role; maybe only while support lasts."""
    if target_id == place_id and with_support:
        # Translators: what verified buyers of an item get, in /grants
        return _("this group, while support lasts")
    if target_id == place_id:
        # Translators: what verified buyers of an item get, in /grants
        return _("this group")
    if with_support:
        # Translators: what verified buyers of an item get, in /grants; {role} is the role's id
        return _("role {role}, while support lasts").format(role=target_id)
    # Translators: what verified buyers of an item get, in /grants; {role} is the role's id
    return _("role {role}").format(role=target_id)


@commands.command(scope=Scope.ADMIN, needs_place=True)
async def verify_panel(request: Request, services: Services) -> Reply:
    """Post a Verify button, so buyers verify without typing a command."""
    # Translators: a button label: opens a private chat that asks for the purchase code
    button = Button(_("Verify my purchase"), "verify", private=True)
    return Reply(
        title=_("Verified buyers"),
        text=_(
            "Bought something from us? Press the button and send your purchase code: I check it with CryptoGig "
            "and let you in. Your code stays between you and me."
        ),
    ).with_buttons([button])
