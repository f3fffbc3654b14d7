"""start, help and cancel: the commands that explain the bot."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.messages import Button, Field, Reply, Request
from bot.registry import Registry, Scope

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


def help_command_list(registry: Registry, request: Request, settings_admin: bool) -> list[str]:
    lines = []
    for command in registry.visible(request.platform):
        if command.scope is Scope.ADMIN and not settings_admin:
            continue
        lines.append(f"{command.usage} — {command.help}")
    return lines


async def start(request: Request, services: Services) -> Reply:
    """Greet the user; ``/start verify`` (a deep link) goes straight to that flow."""
    payload = str(request.values.get("payload", "")).lower()
    text = DEEP_LINKS.get(payload, WELCOME)
    return Reply(title="Welcome to Gavel", text=text).with_buttons(
        [Button("Browse items", "items"), Button("Live auctions", "auctions")],
        [Button("Help", "help")],
    )


def make_help(registry: Registry):
    async def help_(request: Request, services: Services) -> Reply:
        """List every command, or explain one."""
        wanted = str(request.values.get("command", "")).lstrip("/").lower()
        if wanted:
            command = registry.find(wanted)
            if command is None or command.hidden:
                return Reply(f"There is no command /{wanted[:40]}. Send /help to see them all.")
            fields = tuple(Field(f"<{a.name}>", a.help, inline=False) for a in command.args)
            scope = {Scope.PRIVATE: "Private chat only.", Scope.ADMIN: "Admins only."}.get(command.scope, "")
            aliases = f"Also: {', '.join('/' + a for a in command.aliases)}." if command.aliases else ""
            text = "\n".join(t for t in (command.help, scope, aliases) if t)
            return Reply(title=command.usage, text=text, fields=fields)
        is_admin = services.settings.is_admin(request.who)
        lines = help_command_list(registry, request, is_admin)
        return Reply(title="Commands", text="\n".join(lines), footer="Send /help <command> for details.")

    return help_


async def cancel(request: Request, services: Services) -> Reply:
    """Stop the conversation in progress (the core handles it)."""
    return Reply("There is nothing to cancel.", ephemeral=True)
