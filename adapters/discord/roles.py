"""Verified-buyer roles on Discord: add them, and explain in plain words why Discord would refuse."""

from __future__ import annotations

import logging

import discord

from bot.core.i18n import N_, _
from bot.core.messages import Grant, RoleChoice

log = logging.getLogger(__name__)

# Translators: why a role cannot be given; it follows a colon mid-sentence (lower case, no full stop)
NO_MANAGE_ROLES = N_("I don't have the Manage Roles permission in this server")
# Translators: why a role cannot be given; it follows a colon mid-sentence (lower case, no full stop)
PRIVILEGED_ROLE = N_("that role carries administration or moderation permissions, so I will not hand it out")

# A role with any of these lets its holder run the server or throw people out: never a buyer's reward.
PRIVILEGED = discord.Permissions(
    administrator=True,
    manage_guild=True,
    manage_roles=True,
    manage_channels=True,
    kick_members=True,
    ban_members=True,
    manage_webhooks=True,
    moderate_members=True,
)


def is_privileged(role: dict) -> bool:
    return bool(int(role.get("permissions") or 0) & PRIVILEGED.value)


async def describe_role(client: discord.Client, interaction: discord.Interaction, role_id: int) -> RoleChoice:
    """The role as the core needs to judge it: privileged? above the invoker? managed?

    Everything is read fresh from Discord (roles, the invoker's roles, the owner): a moderator must
    not get a role past the check because a cache was stale. A role that no longer exists comes
    back unresolved, which the core refuses.
    """
    guild_id = interaction.guild_id
    if guild_id is None:
        return RoleChoice(str(role_id))
    roles = {int(r["id"]): r for r in await client.http.get_roles(guild_id)}
    role = roles.get(role_id)
    if role is None:
        return RoleChoice(str(role_id))
    invoker = interaction.user.id
    guild = interaction.guild
    owner_id = guild.owner_id if guild is not None and guild.owner_id else None
    if owner_id is None:
        owner_id = int((await client.http.get_guild(guild_id)).get("owner_id") or 0)
    member = await client.http.get_member(guild_id, invoker)
    highest = max((_position(roles[int(r)]) for r in member.get("roles", []) if int(r) in roles), default=(0, 0))
    return RoleChoice(
        id=str(role_id),
        name=str(role.get("name") or ""),
        resolved=True,
        privileged=is_privileged(role),
        outranks_invoker=owner_id != invoker and _position(role) >= highest,
        managed=bool(role.get("managed")),
    )


def _position(role: dict) -> tuple[int, int]:
    # Discord orders roles by position, then by id for equal positions.
    return int(role.get("position", 0)), int(role["id"])


async def role_problem(
    client: discord.Client, guild_id: int, role_id: int, app_permissions: discord.Permissions
) -> str | None:
    """Why the bot could not give ``role_id`` in this guild, or None if it can (or it cannot tell).

    Roles are fetched rather than read from the cache: a check must see the server as it is now
    (an admin may have just moved a role), and these checks are rare.
    """
    if not app_permissions.manage_roles:
        return _(NO_MANAGE_ROLES)
    if role_id == guild_id:
        # Translators: why a role cannot be given; it follows a colon mid-sentence (lower case, no full stop)
        return _("{everyone} is not a role I can hand out; pick another role").format(everyone="@everyone")
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
        # Translators: why a role cannot be given; it follows a colon mid-sentence (lower case, no full stop)
        return _("the role {role} does not exist in this server any more").format(role=role_id)
    if role.get("managed"):
        # Translators: why a role cannot be given; it follows a colon mid-sentence (lower case, no full stop)
        return _("{role} is managed by an integration, so no bot can hand it out").format(role=f"<@&{role_id}>")
    mine = [positions[int(r)] for r in (member or {}).get("roles", []) if int(r) in positions]
    highest = max(mine, default=0)
    if positions[role_id] >= highest:
        # Translators: why a role cannot be given, after a colon; "Server Settings → Roles" is in Discord's menus
        return _("{role} is not below my highest role; in Server Settings → Roles, drag my role above it").format(
            role=f"<@&{role_id}>"
        )
    return None


async def grant_role(client: discord.Client, interaction: discord.Interaction, grant: Grant) -> str | None:
    """Add the grant's role to the user who ran the interaction; a polite reason if Discord refused."""
    guild_id, role_id, user_id = int(grant.place_id), int(grant.target_id), interaction.user.id
    try:
        # Checked again at every grant: someone may have given the role Administrator since it was set up.
        roles = {int(r["id"]): r for r in await client.http.get_roles(guild_id)}
        if role_id in roles and is_privileged(roles[role_id]):
            log.warning("refusing to give privileged role %s in guild %s (item #%s)", role_id, guild_id, grant.item_id)
            return _(PRIVILEGED_ROLE)
        await client.http.add_role(
            guild_id, user_id, role_id, reason=f"Gavel: verified purchase of item #{grant.item_id}"
        )
        return None
    except discord.Forbidden:
        problem = await role_problem(client, guild_id, role_id, interaction.app_permissions)
        # Translators: why a role cannot be given; it follows a colon mid-sentence (lower case, no full stop)
        problem = problem or _("Discord did not allow me to hand out that role")
    except discord.NotFound:
        # Translators: why a role cannot be given; it follows a colon mid-sentence (lower case, no full stop)
        problem = _("that role does not exist in this server any more")
    except (discord.HTTPException, discord.RateLimited) as error:
        log.warning("adding role %s in guild %s failed: %s", role_id, guild_id, error)
        # Translators: why a role cannot be given; it follows a colon mid-sentence (lower case, no full stop)
        return _("Discord did not answer in time; please run /verify again in a minute")
    # For the server's admins: the user is told to ask them, and this line says what to fix.
    log.warning(
        "cannot give role %s to user %s in guild %s (item #%s): %s", role_id, user_id, guild_id, grant.item_id, problem
    )
    return problem
