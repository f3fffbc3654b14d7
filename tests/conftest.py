"""Shared fixtures: a guard against any connection beyond loopback, and the sandbox servers over real HTTP."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest


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
    _cryptogig_server.faults.clear()
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
    _auctionity_server.faults.clear()
    _auctionity_server.data.reset()
    yield _auctionity_server
    _auctionity_server.faults.clear()
