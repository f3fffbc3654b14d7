"""start, help and cancel: the commands that explain the bot."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.messages import Button, Field, Reply, Request
from bot.registry import Argument, CommandGroup, Scope

if TYPE_CHECKING:
    from bot.services import Services

WELCOME = (
    "Hi! I'm Gavel. I check your CryptoGig purchases and let you bid on Auctionity auctions from chat.\n"
    "• /verify <purchase code> unlocks what you bought\n"
    "• /items shows the catalogue\n"
    "• /auctions, /bid and /watch follow auctions, and I tell you when you are outbid"
)

DEEP_LINKS = {
    "verify": "Send me your purchase code with /verify <code> — or just /verify and I will ask for it.",
    "login": "Send /login and I will ask for your Auctionity email and password, here in private.",
    "items": "Send /items to browse the catalogue.",
}

commands = CommandGroup()
closing = CommandGroup()  # listed last in help


@commands.command(args=(Argument("payload", "where a deep link should take you", required=False),))
async def start(request: Request, services: Services) -> Reply:
    """Say hello and show what I can do.

    ``/start verify`` (a deep link) goes straight to that flow.
    """
    text = DEEP_LINKS.get(str(request.values.get("payload", "")).lower(), WELCOME)
    return Reply(title="Welcome to Gavel", text=text).with_buttons(
        [Button("Browse items", "items"), Button("Live auctions", "auctions")],
        [Button("Help", "help")],
    )


@commands.command("help", args=(Argument("command", "a command name", required=False),))
async def help_(request: Request, services: Services) -> Reply:
    """List every command, or explain one."""
    registry = services.registry
    assert registry is not None, "the Core sets services.registry"
    wanted = str(request.values.get("command", "")).lstrip("/").lower()
    if wanted:
        command = registry.find(wanted)
        if command is None or command.hidden:
            return Reply(f"There is no command /{wanted[:40]}. Send /help to see them all.")
        fields = tuple(Field(f"<{a.name}>", a.help, inline=False) for a in command.positional)
        scope = {Scope.PRIVATE: "Private chat only.", Scope.ADMIN: "Admins only."}.get(command.scope, "")
        aliases = f"Also: {', '.join('/' + a for a in command.aliases)}." if command.aliases else ""
        text = "\n".join(t for t in (command.help, scope, aliases) if t)
        return Reply(title=command.usage, text=text, fields=fields)
    is_admin = services.settings.is_admin(request.who)
    lines = [
        f"{command.usage} — {command.help}"
        for command in registry.visible(conversations=not request.asks_in_forms)
        if command.scope is not Scope.ADMIN or is_admin
    ]
    return Reply(title="Commands", text="\n".join(lines), footer="Send /help <command> for details.")


@closing.command(conversational=True)
async def cancel(request: Request, services: Services) -> Reply:
    """Stop what you were doing (a login, say)."""
    return Reply("There is nothing to cancel.", ephemeral=True)  # the core ends any conversation first
