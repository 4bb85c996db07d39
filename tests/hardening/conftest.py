"""Hardening fixtures: an in-process node with a trusted peer, and a loopback-only network."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.hardening.harness import Harness, make_harness


@dataclass
class Outbound:
    """Every non-loopback connection or name lookup the node attempted (all were refused)."""

    attempts: list[str] = field(default_factory=list)


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return False
    if host in ("localhost", "testserver"):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[Outbound]:
    """Refuse (and record) any connection or DNS lookup that would leave the machine."""
    seen = Outbound()
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def guard(address: object) -> None:
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            seen.attempts.append(str(address[0]))
            raise ConnectionRefusedError(f"test network guard: no access to {address[0]}")

    def connect(self: socket.socket, address: object) -> None:
        guard(address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        guard(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and not _is_loopback(name):
            seen.attempts.append(str(name))
            raise socket.gaierror(socket.EAI_NONAME, f"test network guard: no lookup of {name}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield seen


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = make_harness(tmp_path)
    try:
        yield h
    finally:
        h.client.close()
        for n in (h.node, h.peer_node, h.stranger):
            n.close()
