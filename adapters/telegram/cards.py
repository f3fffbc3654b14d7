"""Live auction cards on Telegram: the card's first update posts it in the group, the next ones edit that message."""

from __future__ import annotations

from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from adapters.telegram.render import text_chunks
from adapters.telegram.send import TelegramSender, retry_seconds
from bot.core.errors import DeliveryFailed, RecipientGone, RetryLater
from bot.core.logs import redact
from bot.core.messages import CARD_KIND, Alert

__all__ = ["CARD_KIND", "send_card"]

# What Telegram says when the message is no longer there to edit (deleted), or can never be edited again.
MESSAGE_GONE = ("message to edit not found", "message not found", "message can't be edited")


async def send_card(sender: TelegramSender, chat_id: int, alert: Alert) -> str:
    """Post the card, or edit its message (``extra["message_id"]``); returns the message's id.

    A card is short: one message. "Message is not modified" (the same text again, after a retry) is done.
    """
    message_id = alert.extra.get("message_id")
    chunks = text_chunks(alert.reply)
    text = chunks[0] if chunks else "…"
    markup = await sender.keyboard(alert.reply)
    try:
        if not message_id:
            message = await sender.bot.send_message(chat_id=chat_id, text=text, reply_markup=markup)
            return str(message.message_id)
        await sender.bot.edit_message_text(chat_id=chat_id, message_id=int(message_id), text=text, reply_markup=markup)
        return message_id
    except RetryAfter as error:
        seconds = retry_seconds(error)
        raise RetryLater(f"Telegram asked to wait {seconds:g}s", retry_after=seconds) from None
    except Forbidden as error:  # the bot was removed from the group, or may no longer write there
        raise RecipientGone(error.message) from None
    except ChatMigrated:  # the group became a supergroup: the card's message stayed behind in the old one
        raise RecipientGone("the group was upgraded; post the card again", whole_chat=False) from None
    except BadRequest as error:
        reason = error.message.lower()
        if message_id and "not modified" in reason:
            return message_id
        if message_id and any(gone in reason for gone in MESSAGE_GONE):
            raise RecipientGone(error.message, whole_chat=False) from None
        if "chat not found" in reason:
            raise RecipientGone(error.message) from None
        raise DeliveryFailed(error.message) from None
    except TelegramError as error:
        raise DeliveryFailed(redact(str(error))) from None
