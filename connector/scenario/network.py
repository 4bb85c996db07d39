"""Start the demo's node processes side by side and stop every one of them, whatever happens."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from connector.node import init_node
from connector.scenario.parties import Party

START_TIMEOUT = 120.0


class NodeFailed(RuntimeError):
    """A node process exited or did not answer in time."""


class CallFailed(RuntimeError):
    """A node answered an API call with an unexpected status."""


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM when the demo process dies, even by SIGKILL."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def spawn(folder: Path, port: int, options: Sequence[str] = ()) -> subprocess.Popen[bytes]:
    """Start `python -m connector serve` for `folder` (with more `options`) without waiting."""
    log = open(folder / "serve.log", "wb")  # noqa: SIM115 - the child keeps it open
    command = [sys.executable, "-m", "connector", "serve", "--dir", str(folder)]
    try:
        return subprocess.Popen(
            [*command, "--port", str(port), *options],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
    finally:
        log.close()


def wait_until_up(url: str, proc: subprocess.Popen[bytes], timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise NodeFailed(f"node at {url} exited with status {proc.returncode}")
            try:
                http.get(f"{url}/healthz")
                return
            except httpx.HTTPError:
                time.sleep(0.1)
    raise NodeFailed(f"node at {url} did not answer within {timeout:.0f} s")


def stop(procs: list[subprocess.Popen[bytes]], grace: float = 5.0) -> None:
    """SIGTERM every process, then SIGKILL those still alive after `grace` seconds."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class RunningNode:
    """A party's node: folder, URL, DID and an HTTP client holding its operator token."""

    party: Party
    folder: Path
    port: int
    token: str
    process: subprocess.Popen[bytes] | None = None
    did: str = ""
    http: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(
            base_url=self.url, timeout=30, headers={"Authorization": f"Bearer {self.token}"}
        )

    @property
    def name(self) -> str:
        return self.party.name

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def call(self, method: str, path: str, *expect: int, **kwargs: Any) -> httpx.Response:
        """One API call as this node's operator; a status outside `expect` raises CallFailed."""
        response = self.http.request(method, path, **kwargs)
        if response.status_code not in (expect or (200, 201)):
            raise CallFailed(
                f"{self.name}: {method} {path} -> HTTP {response.status_code}: "
                f"{response.text[:400]}"
            )
        return response

    def json(self, method: str, path: str, *expect: int, **kwargs: Any) -> Any:
        return self.call(method, path, *expect, **kwargs).json()


class Network:
    """The demo's nodes: created in `root`, started together, stopped in `close`."""

    def __init__(self, root: Path, parties: tuple[Party, ...], ports: dict[str, int]) -> None:
        self.root = root
        self.nodes: dict[str, RunningNode] = {}
        urls = {p.name: f"http://127.0.0.1:{ports[p.name]}" for p in parties}
        for party in parties:
            folder = root / party.name
            node = init_node(
                folder,
                party.name,
                [party.prefix] if party.prefix else [],
                gs1_company_prefixes=[party.gs1_company_prefix] if party.gs1_company_prefix else [],
                role=party.role,
                port=ports[party.name],
                parent_url=urls[party.parent] if party.parent else "",
            )
            token = node.operator_token
            node.close()
            self.nodes[party.name] = RunningNode(party, folder, ports[party.name], token)

    def __getitem__(self, name: str) -> RunningNode:
        return self.nodes[name]

    def start(self) -> None:
        """Spawn every node at once (start-up is mostly imports), then wait for each."""
        for node in self.nodes.values():
            node.process = spawn(node.folder, node.port)
        for node in self.nodes.values():
            assert node.process is not None
            wait_until_up(node.url, node.process)
            node.did = node.json("GET", "/.well-known/did.json")["id"]

    def pids(self) -> list[int]:
        return [n.process.pid for n in self.nodes.values() if n.process is not None]

    def close(self) -> None:
        for node in self.nodes.values():
            node.http.close()
        stop([n.process for n in self.nodes.values() if n.process is not None])


def signals_as_interrupts() -> dict[Any, Any]:
    """Make SIGTERM and SIGHUP behave like Ctrl-C, so `finally` blocks run on any of them."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        previous[sig] = signal.signal(sig, interrupt)
    return previous


def restore_signals(previous: dict[Any, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
