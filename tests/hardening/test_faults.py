"""Faults while serving: kill -9 under capture load, a full disk, a partner that is down.

Every test is bounded (fixed request counts, short budgets, timeouts on every wait) and
cleans up the processes it started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import event, text

from connector.demo import free_port, start_node
from connector.events import example as ex
from connector.node import Node, init_node
from connector.peers import Peer, node_did, trust_peer
from ledger.verify import verify_database
from tests.hardening.harness import Harness

pytestmark = pytest.mark.slow


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _one_event_doc(i: int) -> dict[str, Any]:
    epc = f"urn:epc:id:sgtin:4012345.011111.{100000 + i}"
    return ex.document(
        [ex.event("ObjectEvent", i / 3600, action="ADD", bizStep="commissioning", epcList=[epc])]
    )


def test_kill_9_during_capture_loses_no_acknowledged_event(tmp_path: Path) -> None:
    port = free_port()
    node = init_node(tmp_path / "n", "plant", ["88.100.1"], port=port)
    token, url = node.operator_token, node.config.database
    node.close()
    proc = start_node(tmp_path / "n", port)
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(offset: int) -> None:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            timeout=5,
            headers={"Authorization": f"Bearer {token}"},
        ) as http:
            for i in range(offset, offset + 400):  # bounded; the kill ends it sooner
                if stop.is_set():
                    return
                try:
                    r = http.post("/epcis/capture", json=_one_event_doc(i))
                except httpx.HTTPError:
                    return
                if r.status_code == 200:
                    with lock:
                        acknowledged.extend(e["eventID"] for e in r.json()["events"])

    threads = [threading.Thread(target=writer, args=(k * 1000,)) for k in range(3)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < 30 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        stop.set()
        for t in threads:
            t.join(timeout=15)
    finally:
        stop.set()
        _stop(proc)
    assert acknowledged, "no capture was acknowledged before the kill"
    report = verify_database(url)
    assert report.ok, report.error
    proc = start_node(tmp_path / "n", port)
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            timeout=10,
            headers={"Authorization": f"Bearer {token}"},
        ) as http:
            missing = [
                eid
                for eid in acknowledged
                if http.get(f"/epcis/events/{quote(eid, safe=':/;')}").status_code != 200
            ]
            assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged events lost"
            # The restarted node takes writes again.
            assert http.post("/epcis/capture", json=_one_event_doc(99999)).status_code == 200
    finally:
        _stop(proc)
    assert verify_database(url).ok


def test_full_disk_refuses_writes_cleanly(harness: Harness) -> None:
    """SQLite `max_page_count` stands in for a full disk: 503/507 problem+json, nothing
    half-written, the ledger verifies, and reads still work."""
    node = harness.node
    with node.engine.connect() as conn:
        pages = int(conn.execute(text("PRAGMA page_count")).scalar_one())
    cap = pages + 40

    @event.listens_for(node.engine, "connect")
    def _cap(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {cap}")

    node.engine.dispose()  # new connections get the cap
    start = node.ledger.size
    acknowledged, refused = 0, []
    for i in range(400):  # bounded; the cap is reached after a few dozen
        r = harness.client.post(
            "/ledger/entries",
            params={"type": "fault.fill"},
            json={"i": i, "pad": "x" * 3000},
            headers=harness.operator,
        )
        if r.status_code in (200, 201):
            acknowledged += 1
        else:
            refused.append(r)
            if len(refused) >= 3:
                break
    assert refused, "the capped database never refused a write"
    for r in refused:
        assert r.status_code in (503, 507), (r.status_code, r.text[:300])
        assert r.headers["content-type"].startswith("application/problem+json")
    assert node.ledger.size == start + acknowledged
    assert verify_database(node.config.database).ok
    assert harness.client.get("/ledger/checkpoint").status_code == 200
    event.remove(node.engine, "connect", _cap)
    node.engine.dispose()
    again = harness.client.post(
        "/ledger/entries",
        params={"type": "fault.fill"},
        json={"after": 1},
        headers=harness.operator,
    )
    assert again.status_code in (200, 201), again.text
    assert verify_database(node.config.database).ok


def test_partner_down_during_trace_gives_partial_result(tmp_path: Path) -> None:
    port = free_port()
    node = init_node(tmp_path / "a", "plant", ["88.100.1"], port=port)
    partner_port = free_port()  # nothing listens there
    partner = init_node(tmp_path / "b", "mill", [], port=partner_port)
    trust_peer(
        node.engine,
        Peer(node_did(partner), "mill", partner.config.public_url, partner.public_key),
    )
    token = node.operator_token
    node.close()
    partner.close()
    proc = start_node(tmp_path / "a", port)
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            timeout=30,
            headers={"Authorization": f"Bearer {token}"},
        ) as http:
            doc = ex.document(ex.resin_plant(node_did(partner)))
            assert http.post("/epcis/capture", json=doc).status_code == 200
            r = http.get(f"/trace/{ex.RESIN_A}", params={"direction": "downstream", "budget": 3})
            assert r.status_code == 200, r.text[:400]
            graph = r.json()
            assert graph["events"], "the local part of the trace is missing"
            unreachable = graph.get("unreachable") or []
            names = str(unreachable)
            assert node_did(partner) in names, f"the down partner is not reported: {graph}"
    finally:
        _stop(proc)


def test_two_processes_refuse_nothing_silently(tmp_path: Path) -> None:
    """Two node processes on one SQLite ledger: concurrent writes either commit in one
    chain or are refused; never a fork or a gap (PostgreSQL variant: docs/reliability.md)."""
    port_a, port_b = free_port(), free_port()
    node = init_node(tmp_path / "n", "plant", ["88.100.1"], port=port_a)
    token, url = node.operator_token, node.config.database
    node.close()
    procs = [start_node(tmp_path / "n", port_a), start_node(tmp_path / "n", port_b)]
    acknowledged: list[int] = []
    lock = threading.Lock()

    def writer(port: int) -> None:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            timeout=20,
            headers={"Authorization": f"Bearer {token}"},
        ) as http:
            for i in range(60):
                r = http.post("/ledger/entries", params={"type": "two"}, json={"i": i})
                assert r.status_code < 500 or r.status_code == 503, r.text[:300]
                if r.status_code in (200, 201):
                    with lock:
                        acknowledged.append(int(r.json()["seq"]))

    try:
        threads = [threading.Thread(target=writer, args=(p,)) for p in (port_a, port_b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        for p in procs:
            _stop(p)
    assert len(acknowledged) == len(set(acknowledged)), "two writes got the same seq: a fork"
    report = verify_database(url)
    assert report.ok, report.error
    reopened = Node.open(tmp_path / "n")
    try:
        assert set(acknowledged) <= set(range(reopened.ledger.size))
    finally:
        reopened.close()


# --- PostgreSQL faults, on a PRIVATE server (never the machine's shared one) ---------------

PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))


def _as_postgres(*cmd: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else list(cmd)


@pytest.fixture
def private_pg() -> Any:
    """A throwaway PostgreSQL cluster in a temp dir on a free loopback port."""
    if not PG_BIN:
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql")
    import shutil
    import tempfile

    bindir = PG_BIN[-1].parent
    root = Path(tempfile.mkdtemp(prefix="tracespace-pg-"))
    os.chmod(root, 0o777)
    data = root / "data"
    port = free_port()
    env = {**os.environ, "LC_ALL": "C"}

    def pg_ctl(*args: str) -> None:
        subprocess.run(
            _as_postgres(str(bindir / "pg_ctl"), "-D", str(data), *args),
            check=True,
            capture_output=True,
            timeout=60,
            env=env,
        )

    try:
        subprocess.run(
            _as_postgres(
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
            ),
            check=True,
            capture_output=True,
            timeout=120,
            env=env,
        )
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"cannot initdb a private cluster: {exc}")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = ("-o", options, "-l", str(root / "pg.log"), "-w", "start")
    pg_ctl(*start)
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=port, user="postgres", autocommit=True) as c:
        c.execute('CREATE DATABASE "tracespace"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/tracespace"
    try:
        yield url, (lambda: pg_ctl("-m", "fast", "-w", "stop")), (lambda: pg_ctl(*start))
    finally:
        with contextlib.suppress(Exception):
            pg_ctl("-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def _post(http: httpx.Client, i: int) -> httpx.Response:
    return http.post("/ledger/entries", params={"type": "pg"}, json={"i": i})


def test_postgres_stopped_during_writes_gives_503_then_recovers(
    tmp_path: Path, private_pg: Any
) -> None:
    url, stop_pg, start_pg = private_pg
    port = free_port()
    node = init_node(tmp_path / "n", "plant", [], port=port, database_url=url)
    token = node.operator_token
    node.close()
    proc = start_node(tmp_path / "n", port)
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            timeout=30,
            headers={"Authorization": f"Bearer {token}"},
        ) as http:
            before = [_post(http, i) for i in range(5)]
            assert all(r.status_code in (200, 201) for r in before)
            stop_pg()
            down = [_post(http, 100 + i) for i in range(3)]
            for r in down:
                assert r.status_code == 503, (r.status_code, r.text[:300])
                assert r.headers["content-type"].startswith("application/problem+json")
                assert r.headers.get("retry-after")
            start_pg()
            recovered = None
            for i in range(40):  # bounded: the pool reconnects on the next checkout
                recovered = _post(http, 200 + i)
                if recovered.status_code in (200, 201):
                    break
                time.sleep(0.25)
            assert recovered is not None and recovered.status_code in (200, 201), recovered
    finally:
        _stop(proc)
    report = verify_database(url)
    assert report.ok, report.error


def test_two_processes_on_one_postgres_ledger(tmp_path: Path, private_pg: Any) -> None:
    url, _, _ = private_pg
    ports = [free_port(), free_port()]
    node = init_node(tmp_path / "n", "plant", [], port=ports[0], database_url=url)
    token, initial = node.operator_token, node.ledger.size
    node.close()
    procs = [start_node(tmp_path / "n", p) for p in ports]
    acknowledged: list[int] = []
    lock = threading.Lock()

    def writer(port: int) -> None:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            timeout=30,
            headers={"Authorization": f"Bearer {token}"},
        ) as http:
            for i in range(80):
                r = _post(http, i)
                assert r.status_code in (200, 201, 503), r.text[:300]
                if r.status_code != 503:
                    with lock:
                        acknowledged.append(int(r.json()["seq"]))

    try:
        threads = [threading.Thread(target=writer, args=(p,)) for p in ports for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        for p in procs:
            _stop(p)
    assert len(acknowledged) == len(set(acknowledged)), "one seq acknowledged twice: a fork"
    report = verify_database(url)
    assert report.ok, report.error
    reopened = Node.open(tmp_path / "n")
    try:
        size = reopened.ledger.size
    finally:
        reopened.close()
    # Every entry is either acknowledged or from before the load: no gap, no stray write.
    assert sorted(acknowledged) == list(range(initial, size))
