"""Gavel on Discord (discord.py): slash commands, buttons and modals in, embeds out, buyer roles, alerts."""

from adapters.discord.adapter import DiscordAdapter

__all__ = ["DiscordAdapter"]
