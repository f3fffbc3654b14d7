"""The command menu Telegram shows beside the message box, once per shipped language."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand
from telegram.error import TelegramError

from bot.core import i18n
from bot.core.logs import redact
from bot.core.registry import Registry

log = logging.getLogger(__name__)

MAX_DESCRIPTION = 256  # Telegram's limit for a command's description


async def publish_commands(bot: Bot, registry: Registry, default_language: str) -> None:
    """Every visible command with its help in each shipped language (Telegram picks by the user's app's
    ``language_code``), and in the default language for users whose app speaks none of them."""
    for language in (None, *i18n.LANGUAGES):
        with i18n.speaking(language or default_language):
            commands = [BotCommand(c.name, i18n._(c.help)[:MAX_DESCRIPTION]) for c in registry.visible()]
        try:
            await bot.set_my_commands(commands, language_code=language)
        except TelegramError as error:  # the bot still works without the menu
            log.warning("setMyCommands (%s) failed: %s", language or "default", redact(str(error)))
