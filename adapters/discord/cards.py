"""Live auction cards on Discord: the card's first update posts it in the channel, the next ones edit that message."""

from __future__ import annotations

import discord

from adapters.discord.alerts import Renderer, delivery_error
from bot.core.errors import RecipientGone
from bot.core.messages import CARD_KIND, Alert

__all__ = ["CARD_KIND", "send_card"]

UNKNOWN_MESSAGE = 10008  # Discord: the message was deleted


async def send_card(client: discord.Client, alert: Alert, render: Renderer) -> str:
    """Post the card in its channel, or edit its message (``extra["message_id"]``); returns the message's id."""
    if not alert.chat_id.isdigit():
        raise RecipientGone(f"not a Discord channel id: {alert.chat_id[:30]!r}")
    channel = client.get_partial_messageable(int(alert.chat_id))
    rendered = await render(alert.reply)
    message_id = alert.extra.get("message_id")
    # A card pings nobody, whatever an auction's name holds.
    quiet = discord.AllowedMentions.none()
    try:
        if not message_id:
            message = await channel.send(**rendered.send_kwargs(), allowed_mentions=quiet)
            return str(message.id)
        await channel.get_partial_message(int(message_id)).edit(**rendered.edit_kwargs(), allowed_mentions=quiet)
        return message_id
    except discord.NotFound as error:
        if message_id and error.code == UNKNOWN_MESSAGE:
            raise RecipientGone(f"the card's message was deleted ({error.code})", whole_chat=False) from error
        raise RecipientGone(f"the channel is gone ({error.code})") from error
    except discord.Forbidden as error:
        raise RecipientGone(f"the channel refused the card ({error.code})") from error
    except Exception as error:
        raise delivery_error(error) from error
