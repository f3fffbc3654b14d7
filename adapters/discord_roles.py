"""Verified-buyer roles on Discord: add them, and explain in plain words why Discord would refuse."""

from __future__ import annotations

import logging

import discord

from bot.messages import Grant

log = logging.getLogger(__name__)

NO_MANAGE_ROLES = "I don't have the Manage Roles permission in this server"


async def role_problem(
    client: discord.Client, guild_id: int, role_id: int, app_permissions: discord.Permissions
) -> str | None:
    """Why the bot could not give ``role_id`` in this guild, or None if it can (or it cannot tell).

    Roles are fetched rather than read from the cache: a check must see the server as it is now
    (an admin may have just moved a role), and these checks are rare.
    """
    if not app_permissions.manage_roles:
        return NO_MANAGE_ROLES
    if role_id == guild_id:
        return "@everyone is not a role I can hand out; pick another role"
    me = client.user
    try:
        roles = await client.http.get_roles(guild_id)
        member = await client.http.get_member(guild_id, me.id) if me else None
    except (discord.HTTPException, discord.RateLimited) as error:
        log.info("could not read roles of guild %s: %s", guild_id, error)
        return None
    positions = {int(r["id"]): int(r.get("position", 0)) for r in roles}
    role = next((r for r in roles if int(r["id"]) == role_id), None)
    if role is None:
        return f"the role {role_id} does not exist in this server any more"
    if role.get("managed"):
        return f"<@&{role_id}> is managed by an integration, so no bot can hand it out"
    mine = [positions[int(r)] for r in (member or {}).get("roles", []) if int(r) in positions]
    highest = max(mine, default=0)
    if positions[role_id] >= highest:
        return f"<@&{role_id}> is not below my highest role; in Server Settings → Roles, drag my role above it"
    return None


async def grant_role(client: discord.Client, interaction: discord.Interaction, grant: Grant) -> str | None:
    """Add the grant's role to the user who ran the interaction; a polite reason if Discord refused."""
    guild_id, role_id, user_id = int(grant.place_id), int(grant.target_id), interaction.user.id
    try:
        await client.http.add_role(
            guild_id, user_id, role_id, reason=f"Gavel: verified purchase of item #{grant.item_id}"
        )
        return None
    except discord.Forbidden:
        problem = await role_problem(client, guild_id, role_id, interaction.app_permissions)
        problem = problem or "Discord did not allow me to hand out that role"
    except discord.NotFound:
        problem = "that role does not exist in this server any more"
    except (discord.HTTPException, discord.RateLimited) as error:
        log.warning("adding role %s in guild %s failed: %s", role_id, guild_id, error)
        return "Discord did not answer in time; please run /verify again in a minute"
    # For the server's admins: the user is told to ask them, and this line says what to fix.
    log.warning(
        "cannot give role %s to user %s in guild %s (item #%s): %s", role_id, user_id, guild_id, grant.item_id, problem
    )
    return problem
