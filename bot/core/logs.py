"""Logging setup with a redacting filter, so no API key, token or password reaches a log line.

The filter sits on the root logger's handlers rather than on loggers: a filter on a logger
only sees records logged to that very logger, while every record that is written anywhere
passes a handler. httpx logs each request URL (``...?api_key=...``) at INFO, which is the
main reason this exists.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterable
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

__all__ = ["REDACTED", "RedactingFilter", "add_secret", "redact", "setup_logging", "without_credentials"]

REDACTED = "***"
HANDLER_NAME = "gavel"
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# Shorter registered secrets are ignored: redacting every "ab" would make logs unreadable.
MIN_SECRET_LENGTH = 4

_SECRET_KEYS = r"api[_-]?key|apikey|password|passwd|access[_-]?token|refresh[_-]?token|token|secret"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # api_key=... in a query string or form body, "password: ..." in prose, up to the next separator.
    (re.compile(rf"(?i)\b({_SECRET_KEYS})(\s*[=:]\s*)[^&\s'\",;)]+"), rf"\1\2{REDACTED}"),
    # "password": "..." in JSON, 'password': '...' in a repr.
    (re.compile(rf"""(?i)(["']({_SECRET_KEYS})["']\s*:\s*)(["'])(?:\\.|(?!\3).)*\3"""), rf"\1\3{REDACTED}\3"),
    # An Authorization header, whatever its scheme.
    (
        re.compile(r"""(?i)\b(authorization["']?\s*[:=]\s*["']?(?:(?:basic|bearer|token)\s+)?)[^\s'",]+"""),
        rf"\1{REDACTED}",
    ),
    # A bearer token outside a header line ("Bearer abc..."); eight characters so prose is left alone.
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), rf"\1{REDACTED}"),
    # A JWT anywhere: three base64url segments, the header starting eyJ ('{"').
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),
)


class RedactingFilter(logging.Filter):
    """Replaces secrets in the formatted message (and traceback text) with ``***``; never drops a record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()
        self._secret_pattern: re.Pattern[str] | None = None
        for secret in secrets:
            self.add_secret(secret)

    def add_secret(self, value: str | None) -> None:
        """Redact this exact string from now on (empty and very short values are ignored)."""
        if not value or len(value) < MIN_SECRET_LENGTH:
            return
        with self._lock:
            self._secrets = self._secrets | {value}
            # Longest first, so a secret containing another is replaced whole.
            alternatives = "|".join(re.escape(s) for s in sorted(self._secrets, key=len, reverse=True))
            self._secret_pattern = re.compile(alternatives)

    def redact(self, text: str, also: Iterable[str] = ()) -> str:
        for value in also:  # secrets known only to the caller (a user's purchase code), masked first
            if value and len(value) >= MIN_SECRET_LENGTH:
                text = text.replace(value, REDACTED)
        pattern = self._secret_pattern
        if pattern is not None:
            text = pattern.sub(REDACTED, text)
        for regex, replacement in _PATTERNS:
            text = regex.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string should still be logged, and still redacted
            message = f"{record.msg} {record.args}"
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text once set, so redacting it here covers the traceback.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


_redactor = RedactingFilter()


def add_secret(value: str | None) -> None:
    """Register one more string that must never appear in a log line (a token learnt at runtime...)."""
    _redactor.add_secret(value)


def redact(text: str, also: Iterable[str] = ()) -> str:
    """``text`` with every registered secret, each of ``also`` and every secret-looking value (a JWT, a bearer
    token, ``api_key=...``) masked: the one redaction, for logs and for upstream messages alike."""
    return _redactor.redact(text, also)


def without_credentials(url: str) -> str:
    """A URL as it may be shown: without any user:password in it (a proxy's credentials are as secret as a token)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def setup_logging(level: str | int = "INFO", *, secrets: Iterable[str] = (), stream: TextIO | None = None) -> None:
    """Configure the root logger: one stream handler (stderr by default), every handler redacting.

    Calling it again changes the level and adds secrets; it never adds a second handler or filter.
    """
    root = logging.getLogger()
    root.setLevel(level.upper() if isinstance(level, str) else level)
    handler = next((h for h in root.handlers if h.get_name() == HANDLER_NAME), None)
    if handler is None:
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.set_name(HANDLER_NAME)
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
    elif stream is not None and isinstance(handler, logging.StreamHandler):
        handler.setStream(stream)
    for secret in secrets:
        _redactor.add_secret(secret)
    # apscheduler says "Running job…" and "…executed successfully" at INFO for every run of every job, twice a
    # second; the jobs log what they did themselves (one line a poll at most), so its own lines start at WARNING.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    for existing in _all_handlers():
        if _redactor not in existing.filters:
            existing.addFilter(_redactor)
    # Uncaught errors in the main thread and in threads are printed by Python itself, unredacted; log them.
    sys.excepthook = _log_uncaught
    threading.excepthook = lambda hook: _log_uncaught(hook.exc_type, hook.exc_value, hook.exc_traceback)


def _log_uncaught(kind: type[BaseException], error: BaseException | None, traceback: Any) -> None:
    if issubclass(kind, KeyboardInterrupt):
        return
    logging.getLogger("gavel").critical("uncaught error", exc_info=(kind, error, traceback))


def _all_handlers() -> list[logging.Handler]:
    """The root's handlers and those of loggers that do not propagate to it (uvicorn's, say)."""
    handlers = list(logging.getLogger().handlers)
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            handlers.extend(h for h in logger.handlers if h not in handlers)
    return handlers
