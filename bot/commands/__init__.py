"""The command table: every module's commands, gathered in the order help lists them."""

from __future__ import annotations

from bot.commands import auctions, auth, bidding, cards, catalog, general, language, staff, verify, watch
from bot.registry import Registry


def build_registry() -> Registry:
    """Every command Gavel has (each declared next to its handler, in its module)."""
    return Registry.of(
        general.commands,
        verify.commands,
        catalog.commands,
        auth.commands,
        auctions.commands,
        bidding.commands,
        watch.commands,
        cards.commands,
        staff.commands,
        language.commands,
        general.closing,
    )
