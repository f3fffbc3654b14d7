"""start, help and cancel: the commands that explain the bot."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core import i18n
from bot.core.i18n import N_, _
from bot.core.messages import Button, Field, Reply, Request
from bot.core.registry import Argument, CommandGroup, Scope

if TYPE_CHECKING:
    from bot.core.services import Services

# Translators: the greeting of /start; keep the commands (/verify, /items, ...) as they are
WELCOME = N_(
    "Hi! I'm Gavel. I check your CryptoGig purchases and let you bid on Auctionity auctions from chat.\n"
    "• /verify <purchase code> unlocks what you bought\n"
    "• /items shows the catalogue\n"
    "• /auctions, /bid and /watch follow auctions, and I tell you when you are outbid"
)

DEEP_LINKS = {
    "verify": N_("Send me your purchase code with /verify <code> — or just /verify and I will ask for it."),
    "login": N_("Send /login and I will ask for your Auctionity email and password, here in private."),
    "items": N_("Send /items to browse the catalogue."),
}

commands = CommandGroup()
closing = CommandGroup()  # listed last in help


@commands.command(args=(Argument("payload", "where a deep link should take you", required=False),))
async def start(request: Request, services: Services) -> Reply:
    """Say hello and show what I can do.

    ``/start verify`` (a deep link) goes straight to that flow.
    """
    text = _(DEEP_LINKS.get(str(request.values.get("payload", "")).lower(), WELCOME))
    return Reply(title=_("Welcome to Gavel"), text=text).with_buttons(
        [Button(_("Browse items"), "items"), Button(_("Live auctions"), "auctions")],
        # Translators: a button label: lists the commands
        [Button(_("Help"), "help")],
    )


@commands.command("help", args=(Argument("command", "a command name", required=False),))
async def help_(request: Request, services: Services) -> Reply:
    """List every command, or explain one."""
    registry = services.registry
    wanted = str(request.values.get("command", "")).lstrip("/").lower()
    if wanted:
        command = registry.find(wanted)
        if command is None or command.hidden:
            # Translators: {command} is what the reader typed, a command name that does not exist
            return Reply(_("There is no command /{command}. Send /help to see them all.").format(command=wanted[:40]))
        fields = tuple(
            Field(f"<{i18n.argument_name(a.name)}>", _argument_help(a), inline=False) for a in command.positional
        )
        scope = {
            # Translators: in a command's help: it works only in a private chat with the bot
            Scope.PRIVATE: _("Private chat only."),
            # Translators: in a command's help: only the bot's admins may use it
            Scope.ADMIN: _("Admins only."),
        }.get(command.scope, "")
        aliases = ", ".join("/" + a for a in command.aliases)
        # Translators: in a command's help: its other names, like "/h, /commands"
        also = _("Also: {aliases}.").format(aliases=aliases) if command.aliases else ""
        text = "\n".join(t for t in (_(command.help), scope, also) if t)
        return Reply(title=command.usage, text=text, fields=fields)
    is_admin = services.settings.is_admin(request.who)
    lines = [
        f"{command.usage} — {_(command.help)}"
        for command in registry.visible(conversations=not request.asks_in_forms)
        if command.scope is not Scope.ADMIN or is_admin
    ]
    return Reply(title=_("Commands"), text="\n".join(lines), footer=_("Send /help <command> for details."))


def _argument_help(argument: Argument) -> str:
    """An argument's help, with the words it accepts when they are a fixed few (the sort fields of /myauctions)."""
    if not argument.choices:
        return _(argument.help)
    # Translators: an argument's help, then the words it accepts: "sort by: one of created_at, name, end_at"
    return _("{help}: one of {choices}").format(help=_(argument.help), choices=", ".join(argument.choices))


@commands.command(private=True)
async def whoami(request: Request, services: Services) -> Reply:
    """Show your platform and user id, and the GAVEL_ADMINS line that makes you staff."""
    line = f"GAVEL_ADMINS={request.who}"
    if services.settings.is_admin(request.who):
        text = _("You are on this bot's staff: GAVEL_ADMINS names you.")
    else:
        text = _(
            "To make you one of this bot's staff, its operator puts this line in the bot's .env (after a comma, if "
            "there are ids there already) and restarts it:\n{line}"
        ).format(line=line)
    fields = (
        # Translators: a field name of /whoami: the chat platform ("telegram", "discord"), as GAVEL_ADMINS writes it
        Field(_("Platform"), request.platform),
        # Translators: a field name of /whoami: the reader's numeric id on that platform
        Field(_("Your id"), request.user_id),
    )
    # Translators: the title of /whoami's answer
    return Reply(title=_("Who you are"), text=text, fields=fields)


@closing.command(conversational=True)
async def cancel(request: Request, services: Services) -> Reply:
    """Stop what you were doing (a login, say)."""
    return Reply(_("There is nothing to cancel."), ephemeral=True)  # the core ends any conversation first
