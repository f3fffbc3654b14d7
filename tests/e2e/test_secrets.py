"""No secret leaks: not into a log line at DEBUG, not into another user's reply, not into the database in plaintext.

The end-to-end flows run with logging set up as ``gavel run`` does it, at DEBUG, with
SQLAlchemy's own loggers opened too (statements, parameters and rows): verifying
purchase codes, signing up and logging in (also with a wrong password), bidding, creating
an auction, asking its winner, the seller account as an admin, watching, a poll that
queues an outbid alert, an upstream failure, and logging out. Then the API key, the secret
key, every password, every full purchase code and every JWT (any ``eyJ…`` token, and the
exact ones the bot stored) are looked for everywhere they must not be.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select as sa_select
from sqlmodel import SQLModel, select

from bot.alerts.poller import Poller
from bot.core import logs
from bot.core.logs import RedactingFilter, setup_logging
from bot.core.messages import Outcome, Reply
from bot.sandbox.auctionity_data import (
    SANDBOX_ALICE_EMAIL,
    SANDBOX_ALICE_PASSWORD,
    SANDBOX_BOB_EMAIL,
    SANDBOX_BOB_PASSWORD,
    SEED_IDS,
)
from bot.sandbox.cryptogig import SAMPLE_PURCHASE_CODES, SANDBOX_API_KEY
from storage.models import AuctionitySession
from tests.hardening import backend, report

JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
JWT_BYTES = re.compile(rb"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
LIVE, ENDED = SEED_IDS["live_with_bids"], SEED_IDS["ended"]
CAROL_EMAIL, CAROL_PASSWORD = "carol.newcomer@example.com", "carol-signup-secret"
WRONG_PASSWORD = "dave-wrong-password-123"
ALICE_CODE = SAMPLE_PURCHASE_CODES["regular licence, supported"]
BOB_CODE = SAMPLE_PURCHASE_CODES["extended licence, supported"]


@pytest.fixture
def debug_log(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """Everything logged anywhere, as ``gavel run`` writes it at DEBUG; the root logger is put back afterwards."""
    root = logging.getLogger()
    saved_level, saved_handlers = root.level, list(root.handlers)
    existing = next((h for h in root.handlers if h.get_name() == logs.HANDLER_NAME), None)
    saved_stream = getattr(existing, "stream", None)
    monkeypatch.setattr(logs, "_redactor", RedactingFilter())
    # SQLAlchemy keeps its loggers at WARNING whatever the root says; an operator chasing a bug may open them.
    sql = logging.getLogger("sqlalchemy.engine")
    saved_sql_level = sql.level
    sql.setLevel(logging.DEBUG)  # statements, their parameters and the rows they return
    stream = io.StringIO()
    setup_logging("DEBUG", secrets=settings.secrets(), stream=stream)
    yield stream
    sql.setLevel(saved_sql_level)
    for handler in logs._all_handlers():
        handler.removeFilter(logs._redactor)
    for handler in list(root.handlers):
        if handler not in saved_handlers:
            root.removeHandler(handler)
    if isinstance(existing, logging.StreamHandler) and saved_stream is not None:
        existing.setStream(saved_stream)
    root.setLevel(saved_level)


class Conversation:
    """Every reply each user received, to look for what belongs to someone else."""

    def __init__(self) -> None:
        self.replies: dict[str, list[Reply]] = {}

    async def login(self, chat: Any, email: str, password: str) -> Reply:
        await self.say(chat, "/login")
        await self.say(chat, email)
        return await self.say(chat, password)

    async def say(self, chat: Any, text: str) -> Reply:
        reply = await chat.say(text)
        assert reply is not None
        self.replies.setdefault(chat.user_id, []).append(reply)
        return reply

    def shown_to(self, user: str) -> str:
        """All a user could read or press: text, title, fields, footer, buttons, links."""
        parts = []
        for reply in self.replies.get(user, []):
            parts.append(reply.plain_text())
            parts.extend(f"{b.label} {b.command} {b.url or ''}" for row in reply.buttons for b in row)
            parts.extend(filter(None, (reply.url, reply.image_url, reply.thumbnail_url)))
        return "\n".join(parts)


def _stored_tokens(services: Any) -> list[str]:
    with services.db.session() as session:
        return [services.box.decrypt(row.token_encrypted) for row in session.exec(select(AuctionitySession))]


def _every_stored_value(services: Any) -> str:
    """Every column of every row of every table, as text: the database check that works on any backend."""
    values = []
    with services.db.session() as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in session.execute(sa_select(table)):
                values.extend(str(value) for value in row)
    return "\n".join(values)


async def test_end_to_end_flows_at_debug_leak_no_secret_to_logs_other_users_or_the_database(
    debug_log, settings, services, make_chat, auctionity_sandbox, capsys
):
    convo = Conversation()
    alice = make_chat(platform="telegram", user_id="2001")
    bob = make_chat(platform="telegram", user_id="2002")
    carol = make_chat(platform="discord", user_id="3003")
    dave = make_chat(platform="console", user_id="dave")
    admin = make_chat(platform="telegram", user_id="1000")

    # Purchase codes: each verifies their own; bob tries alice's; dave types codes that do not exist.
    assert (await convo.say(alice, f"/verify {ALICE_CODE}")).outcome is Outcome.SUCCESS
    assert (await convo.say(bob, f"/verify {BOB_CODE}")).outcome is Outcome.SUCCESS
    assert "already linked" in (await convo.say(bob, f"/verify {ALICE_CODE}")).text
    await convo.say(dave, "/verify 00000000-0000-0000-0000-000000000000")
    await convo.say(dave, "/verify")
    await convo.say(dave, SAMPLE_PURCHASE_CODES["regular licence, no support"])  # answered as a conversation

    # Credentials: two logins, a signup, a wrong password.
    assert (await convo.login(alice, SANDBOX_ALICE_EMAIL, SANDBOX_ALICE_PASSWORD)).outcome is Outcome.SUCCESS
    assert (await convo.login(bob, SANDBOX_BOB_EMAIL, SANDBOX_BOB_PASSWORD)).outcome is Outcome.SUCCESS
    await convo.say(carol, "/signup")
    await convo.say(carol, CAROL_EMAIL)
    assert (await convo.say(carol, CAROL_PASSWORD)).outcome is Outcome.SUCCESS
    assert (await convo.login(dave, SANDBOX_ALICE_EMAIL, WRONG_PASSWORD)).outcome is Outcome.ERROR
    tokens = _stored_tokens(services)
    assert len(tokens) == 3 and all(JWT.fullmatch(token) for token in tokens)

    # Auctions: watch, bid, be outbid (and polled), create, ask a winner, fail once upstream.
    assert (await convo.say(alice, f"/watch {LIVE}")).outcome is Outcome.SUCCESS
    poller = Poller(services)
    await poller.poll_once()
    assert (await convo.say(alice, f"/bid {LIVE} 500")).outcome is Outcome.SUCCESS
    assert (await convo.say(bob, f"/bid {LIVE} 600")).outcome is Outcome.SUCCESS
    start = services.now()
    services.clock = lambda: start + timedelta(seconds=services.settings.poll_interval_seconds)  # the next round
    assert (await poller.poll_once()).events == 1  # alice's outbid alert, in the outbox
    created = await convo.say(bob, '/newauction "Brass gavel" 40 now +2h')
    assert created.outcome is Outcome.SUCCESS
    assert "@" in (await convo.say(alice, f"/winner {ENDED}")).text  # alice created it: she sees the winner
    assert "Only the creator" in (await convo.say(bob, f"/winner {ENDED}")).text
    for command in ("/watches", "/myauctions", f"/auctions {LIVE}"):
        await convo.say(alice, command)
        await convo.say(bob, command)
    auctionity_sandbox.faults.set(status=500, remaining=3)
    assert "not answering" in (await convo.say(carol, f"/auctions {LIVE}")).text

    # The seller account, as an admin, then everybody logs out.
    assert (await convo.say(admin, "/account")).outcome is not Outcome.ERROR
    for chat in (alice, bob, carol):
        await convo.say(chat, "/logout")

    log_text = debug_log.getvalue()
    assert "HTTP Request: POST" in log_text and "SELECT" in log_text, "DEBUG logging did not capture the flows"
    secrets = {
        "the CryptoGig API key": SANDBOX_API_KEY,
        "GAVEL_SECRET_KEY": settings.gavel_secret_key.get_secret_value(),
        "alice's password": SANDBOX_ALICE_PASSWORD,
        "bob's password": SANDBOX_BOB_PASSWORD,
        "carol's password": CAROL_PASSWORD,
        "a wrong password": WRONG_PASSWORD,
        **{f"purchase code ({name})": code for name, code in SAMPLE_PURCHASE_CODES.items()},
        **{f"stored JWT #{n}": token for n, token in enumerate(tokens)},
    }
    found: list[str] = []
    lines = log_text.splitlines()
    found += [f"log: {what}" for what, value in secrets.items() if value in log_text]
    found += [f"log: a JWT in {line[:80]!r}" for line in lines if JWT.search(line)]

    everyone = {"2001": "alice", "2002": "bob", "3003": "carol", "dave": "dave", "1000": "admin"}
    own = {
        "2001": {ALICE_CODE, SANDBOX_ALICE_EMAIL, tokens[0]},
        "2002": {BOB_CODE, SANDBOX_BOB_EMAIL, tokens[1]},
        "3003": {CAROL_EMAIL, tokens[2]},
    }
    for user in everyone:
        shown = convo.shown_to(user)
        found += [f"reply to {everyone[user]}: {what}" for what, value in secrets.items() if value in shown]
        found += [f"reply to {everyone[user]}: a JWT" for _ in JWT.finditer(shown)]
        for owner, values in own.items():
            if owner != user:
                found += [f"reply to {everyone[user]}: {everyone[owner]}'s {v[:6]}…" for v in values if v in shown]

    stored = _every_stored_value(services)
    found += [f"database row: {what}" for what, value in secrets.items() if value in stored]
    found += ["database row: a JWT" for _ in JWT.finditer(stored)]
    files: list[Path] = []
    if settings.database_url.startswith("sqlite"):
        base = Path(settings.database_url.removeprefix("sqlite:///"))
        files = [p for p in (base, Path(f"{base}-wal"), Path(f"{base}-shm")) if p.exists()]
        assert base in files
        for path in files:
            data = path.read_bytes()
            found += [f"{path.name}: {what}" for what, value in secrets.items() if value.encode() in data]
            found += [f"{path.name}: a JWT" for _ in JWT_BYTES.finditer(data)]

    report(
        capsys,
        "secrets: flows at DEBUG",
        database=backend(settings.database_url),
        log_lines=len(lines),
        replies=sum(len(r) for r in convo.replies.values()),
        secrets_checked=len(secrets),
        files_scanned=[p.name for p in files],
        secrets_found=len(found),
    )
    assert found == []


async def test_no_email_is_stored_after_login(make_chat, services, settings):
    """The Auctionity login email was kept in plaintext and never read back: what is not stored cannot leak."""
    alice = make_chat(user_id="alice")
    await alice.say("/login")
    await alice.say(SANDBOX_ALICE_EMAIL)
    assert "Logged in" in (await alice.say(SANDBOX_ALICE_PASSWORD)).title
    assert (await alice.say("/myauctions")).outcome is not Outcome.ERROR, "the session works without it"
    assert SANDBOX_ALICE_EMAIL not in _every_stored_value(services)
    if settings.database_url.startswith("sqlite"):
        base = Path(settings.database_url.removeprefix("sqlite:///"))
        for path in (base, Path(f"{base}-wal")):
            assert not path.exists() or SANDBOX_ALICE_EMAIL.encode() not in path.read_bytes(), path.name
