"""Gavel on Telegram (python-telegram-bot): updates in as core Requests, Replies out as Bot API calls."""

from adapters.telegram.adapter import TelegramAdapter

__all__ = ["TelegramAdapter"]
