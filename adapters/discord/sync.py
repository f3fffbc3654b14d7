"""Pushing the slash tree to Discord: only when it changed (Discord rate-limits syncs), or on demand."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.http import HTTPClient

from adapters.discord.client import GavelClient
from adapters.discord.endpoints import DiscordEndpoints
from adapters.discord.tree import describe_tree, populate_tree, tree_hash
from bot.core.port import Port
from bot.core.registry import Command, Registry

if TYPE_CHECKING:
    from bot.core.config import Settings

log = logging.getLogger(__name__)

TREE_HASH_KEY = "discord:command_tree_hash"


async def push_tree(tree: app_commands.CommandTree[Any], guild_id: int | None) -> None:
    guild = discord.Object(id=guild_id) if guild_id else None
    synced = await tree.sync(guild=guild)
    log.info("synced %d Discord commands %s", len(synced), f"to guild {guild_id}" if guild_id else "globally")


async def sync_if_changed(tree: app_commands.CommandTree[Any], port: Port, guild_id: int | None) -> bool:
    """Push the tree only if it differs from the last one pushed; True if it was pushed."""
    digest = await tree_hash(tree, guild_id=guild_id)
    if await port.recall(TREE_HASH_KEY) == digest:
        log.info("Discord command tree unchanged; not syncing")
        return False
    try:
        await push_tree(tree, guild_id)
    except (discord.HTTPException, discord.RateLimited) as error:
        # Keep running with the commands Discord already has; the next start tries again.
        log.error("could not sync the Discord command tree (%s); commands may be stale", error)
        return False
    await port.remember(TREE_HASH_KEY, digest)
    return True


class _OfflineHandler:
    """Stands in for the adapter when only the tree's shape is needed (``gavel discord-sync``)."""

    async def run_slash(self, interaction: discord.Interaction, command: Command, options: dict[str, Any]) -> None:
        raise RuntimeError("discord-sync does not answer commands")

    async def complete(
        self, interaction: discord.Interaction, source: str, current: str
    ) -> list[app_commands.Choice[Any]]:
        return []


async def sync_commands(settings: Settings, registry: Registry, port: Port, *, http: HTTPClient | None = None) -> str:
    """`gavel discord-sync`: push the tree now, remember its hash, and return it as text."""
    if settings.discord_bot_token is None:
        raise ValueError("DISCORD_BOT_TOKEN is not set")
    client = GavelClient(None, http=http, endpoints=DiscordEndpoints.of(settings))
    guild_id = settings.discord_guild_id
    populate_tree(client.tree, registry, _OfflineHandler(), guild_id=guild_id)
    async with client:
        await client.login(settings.discord_bot_token.get_secret_value())
        await push_tree(client.tree, guild_id)
    await port.remember(TREE_HASH_KEY, await tree_hash(client.tree, guild_id=guild_id))
    return await describe_tree(client.tree, guild_id=guild_id)
