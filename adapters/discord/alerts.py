"""Watch alerts on Discord: a DM first, the watch's channel (mentioning the user) when DMs are closed; a private
alert (an auto-bid's, naming its maximum) by DM only.

An alert is one user's: when it cannot reach them, only that user's watches stop (RecipientGone with
whole_chat=False), never those of everyone else in the channel they watched from.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import discord

from adapters.discord.render import Rendered
from bot.core.errors import DeliveryFailed, RecipientGone, RetryLater
from bot.core.messages import AccessChange, Alert, Reply

log = logging.getLogger(__name__)

DM_CLOSED = 50007  # Discord: "Cannot send messages to this user"

Renderer = Callable[..., Awaitable[Rendered]]  # (reply, *, mention_user_id=None) -> Rendered


async def deliver_alert(client: discord.Client, alert: Alert, render: Renderer) -> None:
    """Send one alert, or raise what the dispatcher should do next: RetryLater, RecipientGone, DeliveryFailed."""
    if alert.access is not None:
        await change_access(client, alert.access)
        return
    if not alert.user_id and alert.reply.private:
        raise RecipientGone("a private alert with no one to send it to", whole_chat=False)
    if not alert.user_id:  # the channel's own message (a staff-log line): no DM, nobody to mention
        await _post(client, alert.chat_id, await render(alert.reply))
        return
    try:
        user_id = int(alert.user_id)
    except ValueError:
        raise RecipientGone(f"not a Discord user id: {alert.user_id[:30]!r}", whole_chat=False) from None
    channel: discord.DMChannel | None = None
    try:
        channel = await client.create_dm(discord.Object(id=user_id))
        await channel.send(**(await render(alert.reply)).send_kwargs())
        return
    except discord.Forbidden as error:
        if error.code != DM_CLOSED:
            log.info("DM to %s refused (code %s); trying the channel", user_id, error.code)
    except Exception as error:
        raise delivery_error(error) from error
    if alert.reply.private:  # only its owner may read it (an auto-bid's maximum): never in a channel
        raise RecipientGone("the user's DMs are closed, and this alert is theirs alone", whole_chat=False)
    await _send_to_channel(client, alert.reply, alert.chat_id, user_id, channel.id if channel else None, render)


async def _send_to_channel(
    client: discord.Client, reply: Reply, chat_id: str, user_id: int, dm_channel_id: int | None, render: Renderer
) -> None:
    if not chat_id.isdigit() or int(chat_id) in (user_id, dm_channel_id):
        raise RecipientGone("the user's DMs are closed and there is no channel to fall back to", whole_chat=False)
    channel = client.get_partial_messageable(int(chat_id))
    rendered = await render(reply, mention_user_id=str(user_id))
    # Ping only the watcher, never @everyone or a role someone put in an auction's name.
    mentions = discord.AllowedMentions(everyone=False, roles=False, users=[discord.Object(user_id)])
    try:
        await channel.send(**rendered.send_kwargs(), allowed_mentions=mentions)
    except discord.Forbidden as error:
        raise RecipientGone(
            f"DMs closed and the channel refused the message ({error.code})", whole_chat=False
        ) from error
    except Exception as error:
        raise delivery_error(error) from error


async def _post(client: discord.Client, chat_id: str, rendered: Rendered) -> None:
    if not chat_id.isdigit():
        raise RecipientGone(f"not a Discord channel id: {chat_id[:30]!r}")
    try:
        await client.get_partial_messageable(int(chat_id)).send(
            **rendered.send_kwargs(), allowed_mentions=discord.AllowedMentions.none()
        )
    except (discord.Forbidden, discord.NotFound) as error:
        raise RecipientGone(f"the channel refused the message ({error.code})") from error
    except Exception as error:
        raise delivery_error(error) from error


async def change_access(client: discord.Client, change: AccessChange) -> None:
    """Take a buyer's role away (or give it back): refunds, revocations, a licence whose support ended."""
    guild_id, user_id, role_id = int(change.place_id), int(change.user_id), int(change.target_id)
    reason = "Gavel: verified purchase restored" if change.grant else "Gavel: purchase no longer verified"
    try:
        if change.grant:
            await client.http.add_role(guild_id, user_id, role_id, reason=reason)
        else:
            await client.http.remove_role(guild_id, user_id, role_id, reason=reason)
    except discord.NotFound:
        log.info("role %s of user %s in guild %s: the member or role is gone already", role_id, user_id, guild_id)
    except Exception as error:
        raise delivery_error(error) from error


def delivery_error(error: Exception) -> DeliveryFailed:
    """Discord's answer as the dispatcher's vocabulary."""
    if isinstance(error, discord.RateLimited):  # discord.py waited what it will; the dispatcher waits the rest
        return RetryLater("Discord rate limit", retry_after=error.retry_after)
    if isinstance(error, discord.HTTPException) and error.status == 429:
        headers = getattr(error.response, "headers", None) or {}
        return RetryLater("Discord rate limit", retry_after=float(headers.get("Retry-After", 5)))
    if isinstance(error, discord.NotFound):
        return RecipientGone(f"unknown user or channel ({error.code})", whole_chat=False)
    if not isinstance(error, (discord.HTTPException, OSError, TimeoutError)):
        log.exception("unexpected error sending a Discord alert", exc_info=error)
    return DeliveryFailed(f"Discord refused the alert: {type(error).__name__}")
