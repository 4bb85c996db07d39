"""No secret in logs or error bodies: operator token, key seed, peer tokens, PACT secrets.

A session of ordinary, failing and hostile requests runs twice: in-process with every
logger captured at DEBUG, and against a real `serve` subprocess whose stderr is read. The
secrets (and their hex/base64 forms) must appear in no log line and no error body.
"""

from __future__ import annotations

import base64
import logging
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from connector.demo import free_port, start_node
from connector.node import Node, init_node
from connector.peers import Peer, issue_token, node_did, trust_peer
from tests.hardening.harness import Harness


def secret_forms(node: Node, extra: list[str]) -> dict[str, str]:
    seed = bytes(node.signing_key)
    forms = {
        "operator token": node.operator_token,
        "key seed (hex)": seed.hex(),
        "key seed (base64)": base64.b64encode(seed).decode(),
        "key seed (base64url)": base64.urlsafe_b64encode(seed).decode().rstrip("="),
    }
    for i, value in enumerate(extra):
        forms[f"secret #{i}"] = value
    return forms


def session(send: Any, node: Node, peer_node: Node) -> tuple[list[str], list[Any]]:
    """Ordinary and failing calls; returns the secrets issued and the error responses."""
    op = {"Authorization": f"Bearer {node.operator_token}"}
    issued: list[str] = []
    errors: list[Any] = []

    def keep(response: Any) -> Any:
        if response.status_code >= 400:
            errors.append(response)
        return response

    registered = send(
        "POST",
        "/management/pact/clients",
        headers=op,
        json={
            "name": "lca-tool",
            "sources": ["https://lca.example"],
        },
    )
    assert registered.status_code in (200, 201), registered.text
    secret = registered.json()["clientSecret"]
    client_id = registered.json()["clientId"]
    issued.append(secret)
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    token = send(
        "POST",
        "/auth/token",
        headers={"Authorization": f"Basic {basic}"},
        data={"grant_type": "client_credentials"},
    )
    assert token.status_code == 200, token.text
    issued.append(token.json()["access_token"])
    wrong = base64.b64encode(f"{client_id}:{secret}x".encode()).decode()
    keep(
        send(
            "POST",
            "/auth/token",
            headers={"Authorization": f"Basic {wrong}"},
            data={"grant_type": "client_credentials"},
        )
    )
    peer_token = issue_token(peer_node, node_did(node))
    issued.append(peer_token)
    assert send("GET", "/peer/whoami", headers={"Authorization": f"Bearer {peer_token}"}).is_success
    # The same peer token again (replay), the operator token where a peer token belongs,
    # a peer token where the operator token belongs, and tokens in odd places.
    keep(send("GET", "/peer/whoami", headers={"Authorization": f"Bearer {peer_token}"}))
    keep(send("GET", "/peer/whoami", headers=op))
    keep(
        send(
            "POST",
            "/ledger/entries",
            params={"type": "t"},
            json={},
            headers={"Authorization": f"Bearer {peer_token}"},
        )
    )
    keep(
        send(
            "POST",
            "/ledger/entries",
            params={"type": "t"},
            json={},
            headers={"Authorization": f"Bearer {node.operator_token}x"},
        )
    )
    keep(send("GET", f"/ledger/entries/{node.operator_token}"))
    keep(send("GET", "/3/footprints", headers={"Authorization": f"Bearer {secret}"}))
    keep(
        send(
            "POST",
            "/epcis/capture",
            headers={**op, "Content-Type": "application/json"},
            content=b'{"broken',
        )
    )
    send("POST", "/ledger/entries", params={"type": "t"}, json={"ok": 1}, headers=op)
    send("GET", "/ledger/checkpoint")
    return issued, errors


def assert_clean(text: str, forms: dict[str, str], where: str) -> None:
    for name, value in forms.items():
        assert value not in text, f"{name} appears in {where}"


def test_in_process_logs_and_error_bodies_hold_no_secret(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    def send(method: str, path: str, **kwargs: Any) -> Any:
        return harness.client.request(method, path, **kwargs)

    issued, errors = session(send, harness.node, harness.peer_node)
    forms = secret_forms(harness.node, issued)
    assert errors, "the session produced no error to inspect"
    # The test's own client logs its request lines (to testserver): not the node's log.
    logged = "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.args!r}"
        for r in caplog.records
        if "testserver" not in r.getMessage()
    )
    assert caplog.records, "nothing was logged: the capture is not working"
    assert_clean(logged, forms, "the node's log")
    for response in errors:
        assert_clean(response.text, forms, f"the error body of {response.request.url.path}")
        assert_clean(str(response.headers), forms, "error headers")


def test_serve_subprocess_stderr_holds_no_secret(tmp_path: Path) -> None:
    port = free_port()
    node = init_node(tmp_path / "plant", "plant", ["88.100.1"], port=port)
    partner = init_node(tmp_path / "partner", "partner", [], port=free_port())
    trust_peer(
        node.engine,
        Peer(node_did(partner), "partner", partner.config.public_url, partner.public_key),
    )
    node.close()
    proc = start_node(tmp_path / "plant", port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            reopened = Node.open(tmp_path / "plant")
            issued, errors = session(http.request, reopened, partner)
            forms = secret_forms(reopened, issued)
            reopened.close()
    finally:
        proc.terminate()
        try:
            _, stderr = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, stderr = proc.communicate()
        partner.close()
    assert errors
    # start_node sends the process's stderr to DIR/serve.log (or a pipe, in older versions).
    log_file = tmp_path / "plant" / "serve.log"
    output = (stderr or b"").decode("utf-8", "replace")
    output += log_file.read_text("utf-8", "replace") if log_file.exists() else ""
    assert_clean(output, forms, "the serve process's stderr")
    for response in errors:
        assert_clean(response.text, forms, f"the error body of {response.request.url.path}")
