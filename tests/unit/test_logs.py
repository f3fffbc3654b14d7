"""setup_logging redacts API keys, tokens, passwords and registered secrets from every log line."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from bot.clients.cryptogig import CryptoGigClient
from bot.core import logs
from bot.core.logs import RedactingFilter, add_secret, setup_logging
from bot.sandbox.cryptogig import SAMPLE_PURCHASE_CODES, SANDBOX_API_KEY

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsImV4cCI6MTcwMDAwMDAwMH0.c2lnbmF0dXJlLWJ5dGVz"


@pytest.fixture
def output(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """setup_logging's output, with a fresh redactor; the root logger is put back as it was afterwards."""
    root = logging.getLogger()
    saved_level, saved_handlers = root.level, list(root.handlers)
    monkeypatch.setattr(logs, "_redactor", RedactingFilter())
    stream = io.StringIO()
    yield stream
    for handler in list(root.handlers):
        handler.removeFilter(logs._redactor)
        if handler not in saved_handlers:
            root.removeHandler(handler)
    root.setLevel(saved_level)


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
async def test_httpx_request_line_shows_the_url_with_the_api_key_redacted(
    cryptogig_sandbox: Any, output: io.StringIO, level: str
) -> None:
    setup_logging(level, stream=output)  # the key is deliberately not registered: the pattern must catch it
    async with CryptoGigClient(cryptogig_sandbox.url, SANDBOX_API_KEY) as client:
        await client.items()
        await client.validate_purchase(SAMPLE_PURCHASE_CODES["regular licence, supported"])
    text = output.getvalue()
    assert "HTTP Request: GET" in text
    assert "/api/items/all?api_key=***" in text
    assert SANDBOX_API_KEY not in text


def test_secrets_given_to_setup_logging_are_redacted_from_any_logger(output: io.StringIO) -> None:
    setup_logging("INFO", secrets=["tg-bot-token-123456:ABCDEF"], stream=output)
    logging.getLogger("telegram.ext").info("connecting with %s", "tg-bot-token-123456:ABCDEF")
    assert output.getvalue().rstrip().endswith("connecting with ***")


def test_secret_registered_later_is_redacted_from_then_on(output: io.StringIO) -> None:
    setup_logging("INFO", stream=output)
    add_secret("late-secret-value")
    logging.getLogger("bot.anything").warning("value=%s!", "late-secret-value")
    assert "late-secret-value" not in output.getvalue()
    assert "value=***!" in output.getvalue()


def test_jwt_anywhere_in_a_message_is_redacted(output: io.StringIO) -> None:
    setup_logging("INFO", stream=output)
    logging.getLogger("auctionity").info("session %s stored", JWT)
    assert JWT not in output.getvalue()
    assert "session *** stored" in output.getvalue()


def test_authorization_bearer_header_is_redacted(output: io.StringIO) -> None:
    setup_logging("DEBUG", stream=output)
    logging.getLogger("x").debug("headers: %r", {"Authorization": "Bearer opaque-token-abcdef123"})
    assert "opaque-token-abcdef123" not in output.getvalue()
    assert "Bearer ***" in output.getvalue()


@pytest.mark.parametrize(
    "message",
    [
        "POST /login email=a@b.test&password=hunter2hunter2",
        '{"email": "a@b.test", "password": "hunter2hunter2"}',
        "{'email': 'a@b.test', 'password': 'hunter2hunter2'}",
        "login failed for a@b.test, password: hunter2hunter2",
    ],
)
def test_password_values_are_redacted_in_form_json_and_repr(output: io.StringIO, message: str) -> None:
    setup_logging("INFO", stream=output)
    logging.getLogger("auth").info(message)
    assert "hunter2hunter2" not in output.getvalue()
    assert "a@b.test" in output.getvalue()


def test_traceback_text_is_redacted_too(output: io.StringIO) -> None:
    setup_logging("INFO", secrets=["secret-in-exception"], stream=output)
    try:
        raise RuntimeError("failed with secret-in-exception")
    except RuntimeError:
        logging.getLogger("boom").exception("it broke")
    assert "RuntimeError: failed with ***" in output.getvalue()
    assert "secret-in-exception" not in output.getvalue()


def test_message_with_bad_format_arguments_is_still_logged_and_redacted(output: io.StringIO) -> None:
    setup_logging("INFO", stream=output)
    logging.getLogger("sloppy").info("two %s %s", f"api_key={SANDBOX_API_KEY}")
    assert "api_key=***" in output.getvalue()
    assert SANDBOX_API_KEY not in output.getvalue()


def test_calling_setup_logging_twice_adds_one_handler_and_one_filter(output: io.StringIO) -> None:
    setup_logging("INFO", stream=output)
    setup_logging("DEBUG", stream=output)
    ours = [h for h in logging.getLogger().handlers if h.get_name() == logs.HANDLER_NAME]
    assert len(ours) == 1
    assert ours[0].filters.count(logs._redactor) == 1
    assert logging.getLogger().level == logging.DEBUG
    logging.getLogger("once").info("exactly once")
    assert output.getvalue().count("exactly once") == 1


def test_handlers_already_present_also_redact(output: io.StringIO) -> None:
    elsewhere = io.StringIO()
    own_logger = logging.getLogger("uvicorn.test-own-handler")
    own_handler = logging.StreamHandler(elsewhere)
    own_logger.addHandler(own_handler)
    own_logger.propagate = False
    try:
        setup_logging("INFO", secrets=["handler-secret"], stream=output)
        own_logger.warning("leaking handler-secret")
        assert elsewhere.getvalue() == "leaking ***\n"
    finally:
        own_logger.removeHandler(own_handler)
        own_logger.propagate = True


def test_very_short_secrets_are_ignored_so_logs_stay_readable() -> None:
    redactor = RedactingFilter(["ab", ""])
    assert redactor.redact("about a cab") == "about a cab"


def test_redaction_is_idempotent_and_prefers_the_longest_secret() -> None:
    redactor = RedactingFilter(["abcd", "abcdefgh"])
    once = redactor.redact(f"x abcdefgh y api_key=k1 {JWT}")
    assert once == "x *** y api_key=*** ***"
    assert redactor.redact(once) == once
