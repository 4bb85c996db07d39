"""Resolution across a hierarchy of five real node processes on loopback:
root → national (88) → secondary (88.100) → enterprise (88.100.1) and its sibling (88.100.2).

Delegation records (`0.na/<prefix>` with a URL value) are written by each level's operator
with the CLI (`tracespace id delegate`). Checked: resolution from the root and from the
sibling, the proxy, caching by TTL, serve-stale when the enterprise node is killed, and a
clear error naming the unreachable node when nothing is cached."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from connector.cli import app as cli
from connector.demo import free_port
from connector.node import init_node

TTL = 1
LEVELS = [  # name, role, prefix, parent
    ("root", "root", None, None),
    ("national", "national", "88", "root"),
    ("secondary", "secondary", "88.100", "national"),
    ("enterprise", "enterprise", "88.100.1", "secondary"),
    ("sibling", "enterprise", "88.100.2", "secondary"),
]


def _delegate(folder: Path, prefix: str, url: str) -> None:
    result = CliRunner().invoke(
        cli, ["id", "delegate", prefix, url, "--ttl", "60", "--dir", str(folder)]
    )
    assert result.exit_code == 0, result.output


def _create(folder: Path, handle: str, url: str) -> None:
    result = CliRunner().invoke(
        cli, ["id", "create", handle, "--value", f"1:URL={url}", "--dir", str(folder)]
    )
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("hierarchy")
    ports = {name: free_port() for name, *_ in LEVELS}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    folders = {}
    for name, role, prefix, parent in LEVELS:
        node = init_node(
            base / name,
            name,
            [prefix] if prefix else [],
            role=role,
            port=ports[name],
            parent_url=urls[parent] if parent else "",
        )
        folders[name] = node.config.folder
        node.close()
    _delegate(folders["root"], "88", urls["national"])
    _delegate(folders["national"], "88.100", urls["secondary"])
    _delegate(folders["secondary"], "88.100.1", urls["enterprise"])
    _delegate(folders["secondary"], "88.100.2", urls["sibling"])
    _create(folders["enterprise"], "88.100.1/part-1", "https://enterprise.example/part-1")
    _create(folders["enterprise"], "88.100.1/part-2", "https://enterprise.example/part-2")
    _create(folders["sibling"], "88.100.2/bolt-9", "https://sibling.example/bolt-9")
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name in ports:  # all at once, then wait: quicker than one by one
            procs[name] = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "connector",
                    "serve",
                    "--dir",
                    str(folders[name]),
                    "--port",
                    str(ports[name]),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        for name, url in urls.items():
            _wait_until_up(url, procs[name])
        yield urls, folders, procs
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"node at {url} exited with {proc.returncode}")
        try:
            httpx.get(f"{url}/healthz", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"node at {url} did not start within {seconds} s")


def _token(folder: Path) -> dict[str, str]:
    return {"Authorization": f"Bearer {(folder / 'operator.token').read_text().strip()}"}


def test_resolution_through_the_hierarchy(tree) -> None:
    urls, folders, _ = tree
    root, sibling = urls["root"], urls["sibling"]
    enterprise = urls["enterprise"]
    with httpx.Client(timeout=10) as http:
        # From the root: root → national → secondary → enterprise.
        r = http.get(f"{root}/api/handles/88.100.1/part-1")
        assert r.status_code == 200, r.text
        assert r.json()["values"][0]["data"]["value"] == "https://enterprise.example/part-1"
        assert r.headers["x-handle-node"] == enterprise
        # From the sibling: it asks its parent (secondary), which refers to the enterprise.
        r = http.get(f"{sibling}/api/handles/88.100.1/part-1?type=URL")
        assert r.status_code == 200 and r.json()["handle"] == "88.100.1/part-1"
        # ...and the enterprise resolves the sibling's handle the same way.
        r = http.get(f"{enterprise}/api/handles/88.100.2/bolt-9")
        assert r.json()["values"][0]["data"]["value"] == "https://sibling.example/bolt-9"
        # The proxy on the root redirects to the enterprise's URL value.
        r = http.get(f"{root}/88.100.1/part-1")
        assert (r.status_code, r.headers["location"]) == (302, "https://enterprise.example/part-1")
        # A prefix under the national prefix that nobody homes: the national node says 100.
        r = http.get(f"{root}/api/handles/88.200.1/x")
        assert (r.status_code, r.json()["responseCode"]) == (404, 100)
        r = http.get(f"{root}/api/handles/88.100.1/nothing-here")
        assert (r.status_code, r.json()["responseCode"]) == (404, 100)

        # Caching by TTL: change the record on the enterprise node (TTL 1 s).
        new = {
            "index": 1,
            "type": "URL",
            "ttl": TTL,
            "data": {"format": "string", "value": "https://enterprise.example/v2"},
        }
        r = http.put(
            f"{enterprise}/api/handles/88.100.1/part-1?index=1",
            json={"values": [new]},
            headers=_token(folders["enterprise"]),
        )
        assert r.status_code == 200, r.text
        r = http.get(f"{root}/api/handles/88.100.1/part-1?type=URL")
        assert r.json()["values"][0]["data"]["value"] == "https://enterprise.example/part-1"
        time.sleep(0.2)  # the old answer carried TTL 86400: still served from the cache
        r = http.get(f"{root}/api/handles/88.100.1/part-1?type=URL")
        assert r.json()["values"][0]["data"]["value"] == "https://enterprise.example/part-1"


def test_ttl_expiry_serve_stale_and_unreachable_error(tree) -> None:
    urls, folders, procs = tree
    root, enterprise = urls["root"], urls["enterprise"]
    with httpx.Client(timeout=10) as http:
        # A record with TTL 1 s, resolved once through the root.
        value = {
            "index": 1,
            "type": "URL",
            "ttl": TTL,
            "data": {"format": "string", "value": "https://enterprise.example/s1"},
        }
        r = http.put(
            f"{enterprise}/api/handles/88.100.1/short",
            json={"values": [value]},
            headers=_token(folders["enterprise"]),
        )
        assert r.status_code == 201, r.text
        assert (
            http.get(f"{root}/api/handles/88.100.1/short").json()["values"][0]["data"]["value"]
            == "https://enterprise.example/s1"
        )
        value["data"]["value"] = "https://enterprise.example/s2"
        http.put(
            f"{enterprise}/api/handles/88.100.1/short?index=1",
            json={"values": [value]},
            headers=_token(folders["enterprise"]),
        )
        time.sleep(TTL + 0.5)
        r = http.get(f"{root}/api/handles/88.100.1/short")
        assert r.json()["values"][0]["data"]["value"] == "https://enterprise.example/s2"
        assert "cache-status" not in r.headers

        procs["enterprise"].terminate()
        procs["enterprise"].wait(timeout=10)
        time.sleep(TTL + 0.5)
        # Expired, enterprise down: the stale answer is served and marked.
        r = http.get(f"{root}/api/handles/88.100.1/short")
        assert r.status_code == 200
        assert r.json()["values"][0]["data"]["value"] == "https://enterprise.example/s2"
        assert "stale" in r.headers["cache-status"]
        # Nothing cached: a clear error naming the unreachable node.
        r = http.get(f"{root}/api/handles/88.100.1/part-2")
        assert r.status_code == 502
        assert r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert problem["node"] == enterprise and enterprise in problem["detail"]
        assert problem["responseCode"] == 301
        # The sibling's branch still resolves.
        r = http.get(f"{root}/api/handles/88.100.2/bolt-9")
        assert r.status_code == 200
