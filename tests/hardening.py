"""Shared by the hardening suite (issue 8): what a user must never read, logins, and the figures each test reports."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from bot.core import i18n, wording
from bot.core.messages import Reply


def _internal_error_openings() -> tuple[str, ...]:
    """The core's last resort for an exception it did not expect, as each language opens it."""
    openings = []
    for language in i18n.LANGUAGES:
        with i18n.speaking(language):
            openings.append(i18n._(wording.INTERNAL_ERROR).split("{reference}")[0].split(".")[0].strip())
    return tuple(openings)


# Never acceptable as an answer, in any language.
INTERNAL_ERRORS = _internal_error_openings()


def shows_internal_error(text: str) -> bool:
    return any(opening in text for opening in INTERNAL_ERRORS)


# Words that would mean an implementation detail leaked into a reply.
LEAK_WORDS = ("Traceback", "httpx", "Exception", "Error(", "sqlalchemy", "psycopg", "NoneType")


def assert_polite(reply: Reply | None, asked: str = "") -> str:
    """The reply's plain text, after checking it is a real answer a user can read (no internal error, no leak)."""
    assert reply is not None, f"no answer to {asked!r}"
    assert isinstance(reply, Reply), f"{asked!r} answered {type(reply).__name__}, not a Reply"
    text = reply.plain_text()
    assert text.strip(), f"{asked!r} got an empty reply"
    assert not shows_internal_error(text), f"{asked!r} got the internal error: {text!r}"
    for word in LEAK_WORDS:
        assert word not in text, f"{asked!r} leaked {word!r}: {text!r}"
    return text


async def login(chat: Any, email: str, password: str) -> Reply:
    """The three-message login of a private chat: /login, the email, the password."""
    await chat.say("/login")
    await chat.say(email)
    return await chat.say(password)


def backend(url: str) -> str:
    return "postgresql" if url.startswith("postgres") else "sqlite"


def report(capsys: Any, title: str, **figures: Any) -> None:
    """Show a test's figures whatever the capture mode, and append them to a JSON-lines file for the lead.

    The file is $GAVEL_HARDENING_REPORT, or gavel-hardening-figures.jsonl in the system's temp directory.
    """
    path = Path(
        os.environ.get("GAVEL_HARDENING_REPORT") or Path(tempfile.gettempdir()) / "gavel-hardening-figures.jsonl"
    )
    line = json.dumps({"test": title, **figures}, default=str, sort_keys=True)
    with path.open("a", encoding="utf-8") as output:
        output.write(line + "\n")
    with capsys.disabled():
        print(f"\n[hardening] {title}: {json.dumps(figures, default=str, sort_keys=True)}")
