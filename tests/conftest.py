"""Shared fixtures: a guard against any connection beyond loopback, and the sandbox servers over real HTTP."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support import profiles

pytest_plugins = ["tests.support.telegram", "tests.support.discord"]

profiles.register()


def _is_loopback(address: Any) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if not _is_loopback(address):
        raise ConnectionRefusedError(f"tests may only reach loopback, not {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if not _is_loopback(address):
        raise ConnectionRefusedError(f"tests may only reach loopback, not {address!r}")
    return _real_connect_ex(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


@dataclass
class Sandbox:
    """A sandbox server running on loopback for the whole test session."""

    url: str
    app: Any

    @property
    def faults(self) -> Any:
        return self.app.state.faults

    @property
    def data(self) -> Any:
        return self.app.state.data


@pytest.fixture(scope="session")
def _cryptogig_server() -> Iterator[Sandbox]:
    from bot.sandbox.cryptogig import create_cryptogig_app
    from bot.sandbox.server import serve_in_thread

    app = create_cryptogig_app()
    with serve_in_thread(app) as running:
        yield Sandbox(running.url, app)


@pytest.fixture
def cryptogig_sandbox(_cryptogig_server: Sandbox) -> Iterator[Sandbox]:
    """The CryptoGig sandbox, healthy and freshly seeded for each test."""
    _cryptogig_server.faults.start_over()
    _cryptogig_server.data.reset()
    yield _cryptogig_server
    _cryptogig_server.faults.clear()


@pytest.fixture(scope="session")
def _auctionity_server() -> Iterator[Sandbox]:
    from bot.sandbox.auctionity import create_auctionity_app
    from bot.sandbox.server import serve_in_thread

    app = create_auctionity_app()
    with serve_in_thread(app) as running:
        yield Sandbox(running.url, app)


@pytest.fixture
def auctionity_sandbox(_auctionity_server: Sandbox) -> Iterator[Sandbox]:
    """The Auctionity sandbox, healthy and freshly seeded for each test."""
    _auctionity_server.faults.start_over()
    _auctionity_server.data.reset()
    yield _auctionity_server
    _auctionity_server.faults.clear()


@pytest.fixture
def secret_key() -> str:
    from storage.crypto import generate_key

    return generate_key()


@pytest.fixture(scope="session")
def migrated_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Migrated databases for this session (this xdist worker), copied for each test: see tests/support/databases.py."""
    from tests.support.databases import MigratedDatabases

    databases = MigratedDatabases(tmp_path_factory.mktemp("migrated"))
    yield databases
    databases.close()


@pytest.fixture
def database_url(migrated_databases: Any, tmp_path: Any) -> str:
    """A database of this test's own, migrated with Alembic (as `gavel run` does): a copy of a migrated template.

    SQLite, or the PostgreSQL server GAVEL_TEST_DATABASE_URL names. Tests that use this fixture (even through
    another, such as ``core``) are marked ``database``: the PostgreSQL pass runs them again there.
    """
    import os

    url = os.environ.get("GAVEL_TEST_DATABASE_URL", "")
    if url.startswith("postgresql"):
        return migrated_databases.postgres(url)
    return migrated_databases.sqlite(tmp_path / "gavel-test.db")


@pytest.fixture
def settings_factory(cryptogig_sandbox: Sandbox, auctionity_sandbox: Sandbox, database_url: str, secret_key: str):
    """Settings pointing at the sandboxes and the test database; keyword overrides win."""
    from bot.core.config import load_settings
    from bot.sandbox.cryptogig import SANDBOX_API_KEY

    def make(**overrides: Any) -> Any:
        values = {
            "cryptogig_base_url": cryptogig_sandbox.url,
            "cryptogig_api_key": SANDBOX_API_KEY,
            "auctionity_base_url": auctionity_sandbox.url,
            "database_url": database_url,
            "gavel_secret_key": secret_key,
            "gavel_admins": "console:admin,telegram:1000,discord:2000",
            "http_timeout_seconds": 2.0,
            "_env_file": None,
        }
        values.update(overrides)
        return load_settings(**values)

    return make


@pytest.fixture
def settings(settings_factory: Any) -> Any:
    return settings_factory()


@pytest.fixture
async def services(settings: Any):
    from bot.wiring.dependencies import open_services

    async with open_services(settings) as built:
        yield built


@pytest.fixture
def core(services: Any) -> Any:
    from bot.core.adapter_port import AdapterPort
    from bot.core.routing import Core

    return AdapterPort(Core(services))


class Chat:
    """Talk to the real core as one user would: ``await chat.say('/verify CODE')`` returns the Reply."""

    def __init__(
        self,
        core: Any,
        *,
        platform: str = "console",
        user_id: str = "alice",
        chat_id: str | None = None,
        private: bool = True,
        place_id: str | None = None,
        language: str | None = None,
    ) -> None:
        self.core = core
        self.language = language  # what the platform would say the user reads
        self.platform = platform
        self.user_id = user_id
        self.chat_id = chat_id or user_id
        self.private = private
        self.place_id = place_id

    async def say(self, text: str, **overrides: Any) -> Any:
        from bot.core.messages import Request, split_command

        command, args = split_command(text)
        values = dict(
            platform=self.platform,
            user_id=self.user_id,
            chat_id=self.chat_id,
            command=command,
            args=args,
            text="" if command else text,
            is_private=self.private,
            place_id=self.place_id,
            language=self.language,
        )
        values.update(overrides)
        return await self.core.handle(Request(**values))

    async def press(self, reply: Any, label: str) -> Any:
        """Press the button whose label contains ``label``."""
        for row in reply.buttons:
            for button in row:
                if label in button.label:
                    return await self.say("/" + button.command)
        raise AssertionError(f"no button {label!r} in {[b.label for r in reply.buttons for b in r]}")


@pytest.fixture
def chat(core: Any) -> Chat:
    return Chat(core)


@pytest.fixture
def make_chat(core: Any):
    def make(**options: Any) -> Chat:
        return Chat(core, **options)

    return make


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Mark every test that reaches the test database through the ``database_url`` fixture, however indirectly,
    and every test that draws examples (hypothesis); put the slow ones first.

    Found from the fixtures a test asks for, so a new database test is in the PostgreSQL pass (`-m database`)
    without anyone listing it. The storage and migration tests are not marked: they take both databases in every
    run (PostgreSQL from GAVEL_TEST_POSTGRES_URL), so a second pass would only repeat them.
    """
    from hypothesis import is_hypothesis_test

    for item in items:
        if "database_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.database)
        if is_hypothesis_test(getattr(item, "obj", None)):
            item.add_marker(pytest.mark.examples)
    # The longest tests first: started last, one of them would keep a core busy long after the other ran out.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_configure(config: Any) -> None:
    """In CI, PostgreSQL must be there: .ci/run starts it, so a missing URL is a broken CI, not a skip.

    Under pytest-xdist each worker gets a database of its own on that server (``gavel_test_gw0``...),
    since tests drop and recreate every table in theirs.
    """
    import os

    if os.environ.get("CI") and not os.environ.get("GAVEL_TEST_POSTGRES_URL"):
        raise pytest.UsageError("CI=true but GAVEL_TEST_POSTGRES_URL is unset: .ci/run should have started PostgreSQL")
    worker = getattr(config, "workerinput", {}).get("workerid")
    if worker:
        for name in ("GAVEL_TEST_POSTGRES_URL", "GAVEL_TEST_DATABASE_URL"):
            url = os.environ.get(name)
            if url and url.startswith("postgresql"):
                os.environ[name] = _worker_database(url, worker)


def _worker_database(url: str, worker: str) -> str:
    """The URL of this worker's own database on the same server, created the first time."""
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = f"{parsed.database}_{worker}"
    with psycopg.connect(url, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')
    return parsed.set(database=name).render_as_string(hide_password=False)
