"""The one list of command modules: to add a command, declare it in its room's module; to add a module, list it here.

Each module declares its commands next to their handlers on a ``CommandGroup`` (bot/core/registry.py); the order
below is the order /help, Telegram's menu and Discord's tree list them in.
"""

from __future__ import annotations

from bot.access import staff, verify
from bot.alerts import watches
from bot.auctions import accounts, bidding, cards, known
from bot.auctions import commands as auction_commands
from bot.catalog import items
from bot.core.registry import CommandGroup, Registry
from bot.dashboard import command as dashboard
from bot.general import commands as general
from bot.general import language

COMMAND_GROUPS: tuple[CommandGroup, ...] = (
    general.commands,
    verify.commands,
    items.commands,
    accounts.commands,
    auction_commands.commands,
    known.commands,
    bidding.commands,
    watches.commands,
    cards.commands,
    staff.commands,
    dashboard.commands,
    language.commands,
    general.closing,
)


def build_registry() -> Registry:
    """Every command Gavel has (each declared next to its handler, in its module)."""
    return Registry.of(*COMMAND_GROUPS)
