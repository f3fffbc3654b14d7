"""Hostile input through every command: the core never raises, never shows its internal error, and fits every platform.

Every command of the registry gets at least 2,000 examples in the thorough profile (`make test-thorough`, CI; fewer
in `make test`), each in a language drawn from those Gavel ships (and some it does not): unicode, emoji, control
characters, huge strings, numbers of every shape, hex-ish ids and quotes, mixed with real
ids, codes and credentials so that the deep paths (upstream calls, database writes) meet
them too. Each hypothesis example is sent in every shape an adapter produces (a typed line,
split arguments, Discord options by name, a modal's form), from one of many users and
places, and is followed by plain messages (a conversation's answers, or chatter). The core
is wired to in-process sandboxes through httpx's ASGI transport, so a request costs no
socket; one database serves a command's whole run.

Every reply must fit Telegram (4,096 characters a message, 1,024 a caption) and Discord
(content 2,000; embed title 256, description 4,096, 25 fields of 256 / 1,024, footer 2,048,
6,000 in all; buttons 5 x 5 with labels of 80 and custom ids of 100).

The upstream models' own fuzzing lives in test_cryptogig_models.py and test_auctionity_models.py;
what they leave out, raw bytes of any status through each client's real calls, is here.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.discord import render as discord_render
from adapters.telegram import render as telegram_render
from bot.clients.auctionity import AuctionityClient
from bot.clients.cryptogig import CryptoGigClient
from bot.core import i18n
from bot.core.adapter_port import AdapterPort
from bot.core.config import load_settings
from bot.core.errors import GavelError
from bot.core.languages import Languages
from bot.core.messages import Reply, Request, split_command
from bot.core.registry import ArgKind, Argument, Command
from bot.core.routing import Core
from bot.core.services import Services
from bot.sandbox.auctionity import create_auctionity_app
from bot.sandbox.auctionity_data import (
    SANDBOX_ALICE_EMAIL,
    SANDBOX_ALICE_PASSWORD,
    SANDBOX_BOB_EMAIL,
    SANDBOX_BOB_PASSWORD,
    SEED_IDS,
)
from bot.sandbox.cryptogig import SAMPLE_PURCHASE_CODES, SANDBOX_API_KEY, create_cryptogig_app
from bot.wiring.commands import build_registry
from storage.crypto import SecretBox
from storage.db import Database, create_db_engine
from tests.hardening import backend, report, shows_internal_error


class InlineDatabase(Database):
    """The database without its thread hop: as with the ASGI transport, the fuzz measures commands, not transports
    (the threads are exercised by every other end-to-end test)."""

    async def run(self, work: Any) -> Any:
        return self._transaction(work)

    async def read(self, work: Any) -> Any:
        return self._transaction(work, self._reader)


# Examples per command from the hypothesis profile (tests/support/profiles.py): 2,000 in `make test-thorough` and
# CI, as the issue asks of every target; fewer in `make test`. Each example of a command is sent in every shape
# adapters produce (typed line, split words, Discord options, and a form where there is one).
FUZZ_SETTINGS = settings(
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
EXAMPLES_PER_COMMAND = FUZZ_SETTINGS.max_examples
REGISTRY = build_registry()
COMMANDS = [command.name for command in REGISTRY]
TELEGRAM_TEXT, TELEGRAM_CAPTION, DISCORD_CONTENT = 4096, 1024, 2000

# -- strategies -----------------------------------------------------------------------------------------------

AUCTION_IDS = list(SEED_IDS.values())
CODES = list(SAMPLE_PURCHASE_CODES.values())
CONTROLS = ["\x00", "\n", "\t", "\r\n", "\x1b[31m", "\u202e", "\u200b", "\ufeff", "\x7f", "\u2028", "\x00\x01\x02"]
EMOJI = ["🎉", "👍🏽", "🏳️‍🌈", "💸", "🔨", "👨‍👩‍👧‍👦", "🇺🇦"]
QUOTES = ['"', "'", "`", '""', "«", "»", "\\", "'\"'", '"unterminated', "``` code ```", "<b>", "&amp;", "<@&1>"]
NUMBERS = [
    "0", "-0", "-1", "1", "2", "99", "1_000", "1,000", "１２", "²", "٣٤", "--5", "-", "+5", "1e3", "0x10", "1.5",
    "NaN", "∞", " 7 ", "99999999999999999999", str(2**31), str(2**63), "000000000000000001", "-9" * 9,
]  # fmt: skip
REAL = [
    *AUCTION_IDS, *CODES, "101", "107", "999", "now", "+2h", "+90m", "+3d", "+²h", "+0m", "2030-01-01T00:00Z",
    "2001-01-01", "9999-12-31T23:59:59", "remind", "1h,10m", "²m", "DRT", "name", "asc", "desc", "end_at",
    "verify", "login", SANDBOX_ALICE_EMAIL, "someone@example.com", "a\x00b@example.com", "<@&123456789>",
    "-100123", "0x", "0X" + "A" * 64, AUCTION_IDS[0].upper(), f"<{AUCTION_IDS[1]}>", f"`{CODES[0]}`",
]  # fmt: skip
HUGE = ["x" * 1001, "9" * 5000, "🎉" * 1500, "a " * 3000, "0x" + "f" * 4096, "\x00" * 2000, "-" * 150]

# Values of each argument's kind, some of them odd, so that a request gets past its first check and the deep paths
# (an upstream call, a database write) meet hostile values too.
GOOD_TEXT = {
    "payload": ["verify", "login", "items", "VERIFY", "nothing"],
    "command": ["bid", "/verify", "validate", "HELP", "nope", "cancel"],
    "target": ["<@&123456789>", "123456789", "-100123", "²", "--5", "<#1>"],
    "ids": [" ".join(AUCTION_IDS[:3]), ",".join(AUCTION_IDS), " ".join(AUCTION_IDS * 3), AUCTION_IDS[0] + ",,x"],
    "name": ["Old lamp", "🎉" * 50, "x" * 121, "  spaced   out  ", "<b>bold</b>"],
    "start": ["now", "NOW", "+1h", "+²h", "+0m", "2030-01-01T00:00Z", "2001-01-01", "9999-12-31T23:59:59+14:00"],
    "end": ["+2h", "+3d", "+90m", "+9999999m", "+1m", "2030-01-02T00:00:00+00:00", "now", "+٣h"],
    "currency": ["DRT", "eth", "D", "TOOLONGX", "€", "ÉTH"],
    "options": ["remind 1h,10m", "remind ²m", "remind", "remind 0m", "remind 8d", "remind 1m,2m,3m,4m,5m,6m",
                "remind 999999999m", "remind ,,,", "REMIND 1H", "later"],
    "email": [SANDBOX_ALICE_EMAIL, SANDBOX_BOB_EMAIL.upper(), "new.user@example.com", "a\x00b@example.com", "@",
              "x@y"],
    "password": [SANDBOX_ALICE_PASSWORD, SANDBOX_BOB_PASSWORD, "short", "a-long-enough-password", "p" * 129, "\0" * 9],
    "code": [*CODES, CODES[0].upper(), f"`{CODES[1]}`", "00000000-0000-0000-0000-000000000000"],
}  # fmt: skip


def _unicode_words(rng: random.Random, count: int) -> list[str]:
    """Short strings from many scripts: Latin, Cyrillic, Greek, Arabic and Hebrew (right to left), CJK, combining
    marks, emoji, zero-width and control characters."""
    ranges = [(0x20, 0x7E), (0xA0, 0x17F), (0x400, 0x4FF), (0x370, 0x3FF), (0x590, 0x6FF), (0x4E00, 0x4E80),
              (0x300, 0x36F), (0x1F300, 0x1F64F), (0x200B, 0x200F), (0x0, 0x1F), (0xFFF0, 0xFFFD)]  # fmt: skip
    words = []
    for _ in range(count):
        low, high = rng.choice(ranges)
        words.append("".join(chr(rng.randint(low, high)) for _ in range(rng.randint(1, 12))))
    return words


def _hostile_pool() -> list[str]:
    """Fixed building blocks and seeded mixtures of them: drawing from a list costs far less than composing."""
    blocks = CONTROLS + EMOJI + QUOTES + NUMBERS + REAL + [v for values in GOOD_TEXT.values() for v in values]
    rng = random.Random(8)
    mixtures = ["".join(rng.choice(blocks) for _ in range(rng.randint(2, 4))) for _ in range(300)]
    hexish = ["0x" + "".join(rng.choice("0123456789abcdefABCDEF") for _ in range(rng.choice([0, 63, 64, 65, 66])))
              for _ in range(40)]  # fmt: skip
    return blocks + HUGE + mixtures + hexish + _unicode_words(rng, 400)


POOL = _hostile_pool()


def weighted(*choices: tuple[int, st.SearchStrategy[str]]) -> st.SearchStrategy[str]:
    """One flat one_of with each strategy ``weight`` times over: one_of picks among distinct strategy objects alike,
    and counts one object listed twice once, so each repeat must be a copy."""
    return st.one_of(*(strategy.map(str) for weight, strategy in choices for _ in range(weight)))


# Mostly the pool (cheap to draw); generated text and numbers keep hypothesis free to find what the pool lacks.
word = weighted((3, st.sampled_from(POOL)), (1, st.text(max_size=8)), (1, st.integers().map(str)))


def value_for(argument: Argument) -> st.SearchStrategy[str]:
    """What to type for one argument or form field: usually a value of its kind (some of them odd), else anything."""
    if argument.asked:
        good = st.sampled_from(GOOD_TEXT[argument.name])
    elif argument.kind is ArgKind.AUCTION_ID:
        good = st.sampled_from([*AUCTION_IDS, AUCTION_IDS[0].upper().replace("0X", "0x"), f"<{AUCTION_IDS[1]}>"])
    elif argument.kind in (ArgKind.INTEGER, ArgKind.ITEM_ID, ArgKind.AMOUNT):
        low, high = argument.min_value or 0, argument.max_value or 10**6
        good = st.integers(low - 1, min(high, 200) + 1).map(str) | st.sampled_from([str(high), str(high + 1), "101"])
    elif argument.kind is ArgKind.CODE:
        good = st.sampled_from(GOOD_TEXT["code"])
    elif argument.choices:
        good = st.sampled_from([*argument.choices, *(c.upper() for c in argument.choices)])
    else:
        good = st.sampled_from(GOOD_TEXT.get(argument.name, REAL))
    # Mostly of its kind, so that a request gets past its first check and a hostile value meets the deeper ones.
    return weighted((3, good), (1, word))


def words_for(command: Command) -> st.SearchStrategy[list[str]]:
    """The command's arguments, each of its kind or not, with too few or too many of them now and then."""
    size = len(command.args)
    required = sum(a.required for a in command.args)
    counts = st.sampled_from([*range(size + 3), *[required] * 2, *[size] * 4])
    slots = [value_for(a) for a in command.args] + [word, word]

    @st.composite
    def words(draw: st.DrawFn) -> list[str]:
        return [draw(slot) for slot in slots[: draw(counts)]]  # only the values used are drawn

    return words()


def followups_for(command: Command) -> st.SearchStrategy[list[str]]:
    """Plain messages after the command: a conversation's answers (a form's fields in turn), or chatter."""
    if not command.asked:
        return st.lists(word, max_size=1)
    return st.lists(st.one_of(*(value_for(f) for f in command.asked)), max_size=len(command.asked))


WORDS = {command.name: words_for(command) for command in REGISTRY}
FOLLOWUPS = {command.name: followups_for(command) for command in REGISTRY}
PLATFORMS = ["telegram", "discord", "console"]
# Each shipped language, as platforms name them, and ones Gavel does not speak (the default answers those).
LANGUAGES = st.sampled_from([None, *i18n.LANGUAGES, "es-419", "ru-RU", "en-GB", "pt-BR", "zz", ""])
# Admins (telegram:1000, discord:2000, console:admin), users logged in to Auctionity, and strangers.
USERS = ["1000", "2000", "admin", "alice", "bob", "42", "43", "44"]
LOGGED_IN = {("telegram", "1000"): "alice", ("console", "alice"): "alice", ("discord", "2000"): "bob"}
# Who asks and where: platform, user, a private chat or a group, and whether the adapter vouches they administer it.
PLACES = [
    (platform, user, private, admin)
    for platform in PLATFORMS
    for user in USERS
    for private in (True, False)
    for admin in (False, True)
]
# A third of the requests come from users with an Auctionity session, so bids and new auctions go through too.
PLACES += [(platform, user, True, False) for platform, user in LOGGED_IN] * (len(PLACES) // 2 // len(LOGGED_IN))


@dataclass(frozen=True)
class Example:
    """One drawn input: sent in every shape an adapter gives a command, the typed line followed by the follow-ups."""

    command: Command
    place: tuple[str, str, bool, bool]
    words: list[str]
    form: dict[str, str] | None
    followups: list[str]
    language: str | None = None  # as the platform says it: every reply is checked in every language

    def requests(self) -> list[Request]:
        """A typed line (Telegram, console), split arguments, Discord options by name, and a form (a modal)."""
        platform, user, private, admin = self.place
        command, words = self.command, self.words
        typed = command.aliases[0] if command.aliases and len(words) % 2 else command.name.upper()
        line_name, line_args = split_command(f"/{typed}@GavelBot " + " ".join(words))
        base = Request(
            platform=platform,
            user_id=user,
            chat_id=user if private else "-100123",
            command=command.name,
            is_private=private,
            display_name=words[0][:200] if words else "",
            place_id=None if private else "-100123",
            is_place_admin=admin,
            language=self.language,
        )
        shapes = [
            replace(base, command=line_name or command.name, args=line_args),
            replace(base, args=tuple(words)),
            # Any option may be left out (a "-" stands for one that was).
            replace(base, options={a.name: w for a, w in zip(command.args, words, strict=False) if w != "-"}),
        ]
        if self.form is not None:
            shapes.append(replace(base, options=self.form))
        return shapes


@st.composite
def examples(draw: st.DrawFn, command: Command) -> Example:
    place = draw(st.sampled_from(PLACES))
    words = draw(WORDS[command.name])
    form = None
    if command.asked:  # what a modal would carry
        form = dict(zip((f.name for f in command.asked), draw(st.tuples(*map(value_for, command.asked))), strict=True))
    return Example(command, place, words, form, draw(FOLLOWUPS[command.name]), draw(LANGUAGES))


# -- platform limits ---------------------------------------------------------------------------------------------


def assert_fits_every_platform(reply: Reply | None, asked: Any) -> None:
    """None, or a Reply that renders within Telegram's and Discord's limits and is not the internal error."""
    if reply is None:
        return
    assert isinstance(reply, Reply), f"{asked!r} answered {type(reply).__name__}"
    text = reply.plain_text()
    assert not shows_internal_error(text), f"{asked!r} got the internal error"
    assert len(text) <= TELEGRAM_TEXT, f"{asked!r}: {len(text)} characters do not fit one Telegram message"

    for chunk in telegram_render.text_chunks(reply):
        assert len(chunk) <= TELEGRAM_TEXT
    caption, rest = telegram_render.caption_and_rest(reply)
    assert len(caption) <= TELEGRAM_CAPTION and all(len(chunk) <= TELEGRAM_TEXT for chunk in rest)

    rendered = discord_render.render(
        reply, lambda reference: "t0k3n", mention_user_id="123456789012345678", private_chat_url="https://discord.com"
    )
    assert rendered.content is None or len(rendered.content) <= DISCORD_CONTENT
    embed = rendered.embed
    assert len(embed.title or "") <= 256 and len(embed.description or "") <= 4096
    assert len(embed.fields) <= 25
    assert all(len(f.name or "") <= 256 and len(f.value or "") <= 1024 for f in embed.fields)
    assert len(embed.footer.text or "") <= 2048
    assert len(embed) <= 6000, f"{asked!r}: the embed has {len(embed)} characters"
    if rendered.view is not None:
        items = rendered.view.children
        assert len(items) <= 25 and len({item.row for item in items}) <= 5
        for item in items:
            assert isinstance(item, discord.ui.Button | discord_render.CommandButton)
            button = item.item if isinstance(item, discord_render.CommandButton) else item
            assert len(button.label or "") <= 80
            assert button.url or len(button.custom_id or "") <= 100


# -- the rig: a core on in-process sandboxes ---------------------------------------------------------------------


@dataclass
class Rig:
    loop: asyncio.AbstractEventLoop
    core: AdapterPort
    services: Services
    requests: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)  # how the replies went: the deep paths must run too

    def run(self, example: Example) -> None:
        self.loop.run_until_complete(self._exercise(example))

    async def _exercise(self, example: Example) -> None:
        for number, request in enumerate(example.requests()):
            await self._send(request)
            if number == 0:  # after the typed line: a conversation's answers, or chatter
                for text in example.followups:
                    await self._send(replace(request, command=None, args=(), options=None, text=text))

    async def _send(self, request: Request) -> None:
        reply = await self.core.handle(request)
        self.requests += 1
        self.outcomes[reply.outcome.value if reply is not None else "none"] += 1
        assert_fits_every_platform(reply, request)


@pytest.fixture
def rig(database_url: str, secret_key: str) -> Iterator[Rig]:
    """A core on in-process sandboxes and the test database, fresh for each command, with three users logged in.

    Fresh for each command: after the fuzzing of /logout, the commands that follow would have no session left, and
    so no deep paths to reach.
    """
    loop = asyncio.new_event_loop()
    cryptogig_app, auctionity_app = create_cryptogig_app(), create_auctionity_app()
    settings = load_settings(
        cryptogig_base_url="http://cryptogig.sandbox",
        cryptogig_api_key=SANDBOX_API_KEY,
        auctionity_base_url="http://auctionity.sandbox",
        database_url=database_url,
        gavel_secret_key=secret_key,
        gavel_admins="telegram:1000,discord:2000,console:admin",
        _env_file=None,
    )
    services = Services(
        settings=settings,
        # One attempt: a retry's backoff sleep would cost more than the whole example.
        cryptogig=CryptoGigClient(
            settings.cryptogig_base_url,
            SANDBOX_API_KEY,
            transport=httpx.ASGITransport(app=cryptogig_app),
            retry_attempts=1,
        ),
        auctionity=AuctionityClient(
            settings.auctionity_base_url, transport=httpx.ASGITransport(app=auctionity_app), retry_attempts=1
        ),
        db=(database := InlineDatabase(create_db_engine(database_url))),
        box=SecretBox(secret_key),
        registry=REGISTRY,
        languages=Languages(database, default_language=settings.default_language),
    )
    core = Core(services)
    credentials = {
        "alice": (SANDBOX_ALICE_EMAIL, SANDBOX_ALICE_PASSWORD),
        "bob": (SANDBOX_BOB_EMAIL, SANDBOX_BOB_PASSWORD),
    }

    async def log_in() -> None:
        for (platform, user), who in LOGGED_IN.items():
            form = dict(zip(("email", "password"), credentials[who], strict=True))
            request = Request(platform=platform, user_id=user, chat_id=user, command="login", options=form)
            reply = await core.handle(request)
            assert reply is not None and reply.title == "Logged in", reply

    loop.run_until_complete(log_in())
    try:
        yield Rig(loop, core, services)
    finally:
        loop.run_until_complete(services.cryptogig.aclose())
        loop.run_until_complete(services.auctionity.aclose())
        services.db.close()
        services.engine.dispose()
        loop.close()


# -- the tests -----------------------------------------------------------------------------------------------------


@pytest.mark.timeout(300)  # thorough: 2,000 examples in up to four shapes, a minute or two on a busy CI machine
@pytest.mark.parametrize("name", COMMANDS)
@pytest.mark.examples
def test_any_input_to_any_command_gets_a_reply_within_platform_limits_and_never_the_internal_error(
    rig: Rig, name: str, capsys: Any
) -> None:
    command = REGISTRY.find(name)
    assert command is not None
    shapes = 4 if command.asked else 3
    drawn = 0

    @FUZZ_SETTINGS
    @given(example=examples(command))
    def fuzz(example: Example) -> None:
        nonlocal drawn
        drawn += 1
        rig.run(example)

    started = time.perf_counter()
    fuzz()
    report(
        capsys,
        f"fuzz: /{name}",
        database=backend(rig.services.settings.database_url),
        hypothesis_examples=drawn,
        requests=rig.requests,
        outcomes=dict(rig.outcomes),
        seconds=round(time.perf_counter() - started, 1),
    )
    assert drawn >= EXAMPLES_PER_COMMAND, "hypothesis ran out of examples: widen the strategy"
    assert rig.requests >= drawn * shapes


@FUZZ_SETTINGS
@given(
    head=st.sampled_from(["", "/", "/bid ", " /", "/@", "/bid@GavelBot ", '/newauction "', "\n/"]),
    tail=st.one_of(st.text(max_size=40), st.lists(word, max_size=6).map(" ".join)),
)
def test_split_command_never_raises_and_gives_a_name_and_words(head: str, tail: str) -> None:
    name, args = split_command(head + tail)
    if name is None:
        assert args == ()
        return
    assert isinstance(name, str) and name == name.lower() and "@" not in name
    assert all(isinstance(a, str) for a in args)


# Raw answers of any status: what a proxy, a crash or a half-written body can put on the wire.
RAW_BODIES = st.one_of(
    st.binary(max_size=40),
    st.text(max_size=40).map(str.encode),
    st.sampled_from(
        [
            b"",
            b"null",
            b"[]",
            b"{}",
            b'{"status": "success"}',
            b'{"status": "success", "data": null}',
            b'{"status": "error"}',
            b'{"auctions": null}',
            b'{"access_token": ""}',
            b"<html><body>502 Bad Gateway</body></html>",
            b"\xff\xfe\x00{",
            b'{"status": "success", "items": {"1": {"id": 1}}}',
            b'{"message": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"}',
        ]
    ),
)
STATUSES = st.sampled_from([200, 200, 200, 201, 204, 301, 400, 401, 403, 404, 409, 418, 422, 429, 500, 502, 503])
CONTENT_TYPES = st.sampled_from(["application/json", "text/html", "text/plain", ""])
CALLS = [
    ("cryptogig", "account"),
    ("cryptogig", "items"),
    ("cryptogig", "item"),
    ("cryptogig", "validate"),
    ("auctionity", "login"),
    ("auctionity", "signup"),
    ("auctionity", "auctions"),
    ("auctionity", "mine"),
    ("auctionity", "create"),
    ("auctionity", "bid"),
    ("auctionity", "winner"),
]
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


async def _call(client: Any, call: str) -> Any:
    now = datetime.now(UTC)
    calls = {
        "account": lambda: client.account(),
        "items": lambda: client.items(),
        "item": lambda: client.item(101),
        "validate": lambda: client.validate_purchase(CODES[0]),
        "login": lambda: client.login("a@example.org", "secret-password"),
        "signup": lambda: client.signup("a@example.org", "secret-password"),
        "auctions": lambda: client.auctions(AUCTION_IDS[:2]),
        "mine": lambda: client.user_auctions(TOKEN),
        "create": lambda: client.create_auction(
            TOKEN, name="x", base_amount=1, start_at=now, end_at=now + timedelta(hours=1)
        ),
        "bid": lambda: client.bid(TOKEN, AUCTION_IDS[0], 10),
        "winner": lambda: client.winner(TOKEN, AUCTION_IDS[0]),
    }
    return await calls[call]()


@pytest.mark.examples
def test_raw_answers_of_any_status_through_both_clients_give_a_result_or_our_own_error(capsys: Any) -> None:
    loop = asyncio.new_event_loop()
    answer: dict[str, httpx.Response] = {}
    transport = httpx.MockTransport(lambda request: answer["next"])
    clients = {
        "cryptogig": CryptoGigClient(
            "http://cryptogig.test", "k3y-that-must-not-leak", transport=transport, retry_attempts=1
        ),
        "auctionity": AuctionityClient("http://auctionity.test", transport=transport, retry_attempts=1),
    }
    outcomes = {"result": 0, "our error": 0}

    @FUZZ_SETTINGS
    @given(call=st.sampled_from(CALLS), status=STATUSES, body=RAW_BODIES, content_type=CONTENT_TYPES)
    def fuzz(call: tuple[str, str], status: int, body: bytes, content_type: str) -> None:
        headers = {"content-type": content_type} if content_type else {}
        answer["next"] = httpx.Response(status, content=body, headers=headers)
        upstream, operation = call
        try:
            loop.run_until_complete(_call(clients[upstream], operation))
        except GavelError as error:  # only ours; anything else fails the test
            outcomes["our error"] += 1
            assert "k3y-that-must-not-leak" not in str(error) and TOKEN not in str(error)
        else:
            outcomes["result"] += 1

    started = time.perf_counter()
    try:
        fuzz()
    finally:
        for client in clients.values():
            loop.run_until_complete(client.aclose())
        loop.close()
    report(
        capsys, "fuzz: raw answers through both clients", **outcomes, seconds=round(time.perf_counter() - started, 1)
    )
    assert sum(outcomes.values()) >= EXAMPLES_PER_COMMAND


# -- what the fuzzing found, kept as plain examples -------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/items ²", "must be a whole number"),  # str.isdigit() says yes, int() says no
        ("/items --5", "must be a whole number"),
        ("/item ٣", "no item with that id"),  # Arabic-Indic 3: a decimal digit int() reads
        ('/newauction "Old lamp" 10 +²h +2h', "ISO 8601"),
        (f"/watch {AUCTION_IDS[0]} remind ²m", "is not a reminder time"),
    ],
)
async def test_digits_that_int_cannot_read_are_refused_politely(chat: Any, line: str, expected: str) -> None:
    reply = await chat.say(line)
    assert not shows_internal_error(reply.text) and expected in reply.text


# Refusals the thorough profile's 2,000 examples reach and the dev profile's may miss: kept here, so that `make test`
# checks them every time (and covers every line `make test-thorough` covers).
@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/auctions 1 2 3 4 5 6 7 8 9 10 11", "Ask for at most 10 auctions at once."),
        (f"/watch {AUCTION_IDS[0]} remind 1m,2m,3m,4m,5m,6m", "At most 5 reminders per auction."),
        ('/newauction "Old lamp" 10 2001-01-01 +2h', "The start cannot be in the past; use now."),
    ],
)
async def test_rare_refusals_are_worded_for_the_user(chat: Any, line: str, expected: str) -> None:
    reply = await chat.say(line)
    assert not shows_internal_error(reply.text) and expected in reply.text


async def test_an_empty_password_in_a_form_is_refused_before_reaching_auctionity(
    chat: Any, auctionity_sandbox: Any
) -> None:
    reply = await chat.say("/login", options={"email": SANDBOX_ALICE_EMAIL, "password": ""})  # as a modal sends it
    assert "That password cannot be right" in reply.text
    assert auctionity_sandbox.data.requests["/login"] == 0


def test_a_bare_web_address_stays_clickable_on_discord_and_markdown_around_one_is_escaped() -> None:
    assert discord_render.escape("https://example.com/item?id=1&x=*y*") == "https://example.com/item?id=1&x=*y*"
    assert discord_render.escape("**bold** https://x.example") == "\\*\\*bold\\*\\* https://x.example"


def test_the_card_of_an_auction_not_yet_started_says_when_it_starts() -> None:
    from bot.auctions.cards import card_reply
    from bot.clients.auctionity_models import Auction

    upcoming = Auction.model_validate(
        {"id": "0x01", "name": "Lamp", "amount": 100, "start_date": "2030-01-01T02:00:00Z",
         "end_date": "2030-01-02T00:00:00Z", "history": []}
    )  # fmt: skip
    assert card_reply(upcoming, datetime(2030, 1, 1, tzinfo=UTC)).text == "Starts in 2h."


async def test_an_email_with_a_control_character_is_refused_before_reaching_auctionity(
    chat: Any, auctionity_sandbox: Any
) -> None:
    await chat.say("/signup")
    await chat.say("a\x00b@example.com")
    reply = await chat.say("a-long-enough-password")
    assert "does not look like an email address" in reply.text
    assert auctionity_sandbox.data.requests["/signup"] == 0


async def test_a_display_name_with_control_characters_is_stored_without_them(chat: Any, services: Any) -> None:
    from storage import users

    name = "Al\x00ice\x1b[31m 🎉"  # PostgreSQL refuses NUL in any text column
    await chat.say("/verify 00000000-0000-0000-0000-000000000000", display_name=name)
    with services.db.session() as session:
        user = users.find_chat_user(session, platform="console", platform_user_id="alice")
    assert user is not None and user.display_name == "Alice[31m 🎉"
