"""`tracespace demo`: a real node on loopback, driven through its public HTTP API.

It creates a node, starts `tracespace serve` as a separate process, appends signed
events over HTTP with the operator token, fetches the signed checkpoint, proves an
entry's inclusion, exports an audit bundle and verifies it offline with only the key.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from rich.console import Console

from connector.node import init_node
from ledger import merkle
from ledger.bundle import export_bundle, verify_bundle
from ledger.checkpoint import open_checkpoint

console = Console(soft_wrap=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_node(folder: Path, port: int) -> subprocess.Popen[bytes]:
    """Start `tracespace serve` for `folder` and wait until it answers."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "connector", "serve", "--dir", str(folder), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"node exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("node did not start within 20 s")


def run_demo(out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    port = free_port()
    folder = out / "resin-plant"
    node = init_node(folder, "resin-plant", ["88.100.1"], port=port)
    node.close()
    console.print(f"[bold]1. created node[/] resin-plant in {folder}")
    proc = start_node(folder, port)
    try:
        _session(out, folder, f"http://127.0.0.1:{port}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _session(out: Path, folder: Path, base: str) -> None:
    token = (folder / "operator.token").read_text().strip()
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=10) as http:
        console.print(f"[bold]2. node serving[/] at {base}")
        events = [
            {"batch": "88.100.1/batch-42", "step": "polymerisation", "kg": 1200},
            {"batch": "88.100.1/batch-42", "step": "pelletising", "kg": 1185},
            {"batch": "88.100.1/batch-42", "step": "shipping", "to": "yarn-mill"},
        ]
        seqs = []
        for ev in events:
            r = http.post("/ledger/entries", params={"type": "demo.event"}, json=ev, headers=auth)
            r.raise_for_status()
            seqs.append(r.json()["seq"])
        console.print(f"[bold]3. appended {len(seqs)} signed events[/] at seq {seqs}")
        unauth = http.post("/ledger/entries", params={"type": "demo.event"}, json={})
        console.print(
            f"   without the operator token: HTTP {unauth.status_code} "
            f"{unauth.headers['content-type']}"
        )

        vkey = http.get("/ledger/key").text.strip()
        note = http.get("/ledger/checkpoint").text
        cp, _ = open_checkpoint(note, vkey)
        console.print("[bold]4. signed checkpoint[/] (C2SP tlog-checkpoint), verified with the key")
        console.print("   " + note.replace("\n", "\n   ").rstrip())

        seq = seqs[1]
        leaf = http.get(f"/ledger/entries/{seq}").content
        proof = http.get("/ledger/proof/inclusion", params={"seq": seq, "size": cp.size}).json()
        path = [base64.b64decode(h) for h in proof["proof"]]
        merkle.verify_inclusion(merkle.leaf_hash(leaf), seq, cp.size, path, cp.root)
        console.print(
            f"[bold]5. proved inclusion[/] of entry {seq} in the tree of size "
            f"{cp.size} ({len(path)} hashes): {leaf.decode()[:90]}..."
        )

    # The bundle is written by the operator from the node folder, then verified with the
    # key alone, as a regulator would do offline.
    from connector.node import Node

    node = Node.open(folder)
    bundle = export_bundle(node.ledger, 0)
    node.close()
    bundle_path = out / "audit-bundle.json"
    bundle_path.write_text(json.dumps(bundle, ensure_ascii=False, indent=1), encoding="utf-8")
    report = verify_bundle(json.loads(bundle_path.read_text(encoding="utf-8")), vkey)
    console.print(
        f"[bold]6. exported[/] {bundle_path} and [bold]verified it offline[/]: entries "
        f"{report.start}..{report.end} against checkpoint size {report.size}"
    )
    console.print("\nTry it yourself:")
    console.print(f"  .venv/bin/tracespace ledger verify --dir {folder}")
    console.print(f"  .venv/bin/tracespace ledger verify {bundle_path} --key '{vkey}'")
