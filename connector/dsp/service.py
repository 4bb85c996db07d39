"""The per-node DSP runtime: peer clients, state-change signalling and the outbox worker.

Outbound messages are rows in `dsp_outbox`, written in the same transaction as the state
change that causes them, then delivered at once by a background thread (no polling
interval on the happy path). A failed delivery is retried with exponential backoff; after
the last attempt the process is terminated with a reason the operator can read.
Deliveries of one process go out one at a time, in the order they were written.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
from sqlalchemy import delete, insert, select, update

from connector.dsp.records import dump, ordered_id, utc_now
from connector.dsp.settings import Settings
from connector.dsp.tables import outbox_table
from connector.node import Node
from connector.peers import Peer, PeerClient, find_peer

log = logging.getLogger("tracespace.dsp")
T = TypeVar("T")
# Hooks run after a delivery: purpose → fn(service, outbox row, response or None, error).
DeliveryHook = Callable[["DspService", Any, "httpx.Response | None", str | None], None]
_HOOKS: dict[str, DeliveryHook] = {}


def on_delivery(purpose: str) -> Callable[[DeliveryHook], DeliveryHook]:
    def register(fn: DeliveryHook) -> DeliveryHook:
        _HOOKS[purpose] = fn
        return fn

    return register


class DspService:
    """One per open node (see `dsp_for`)."""

    def __init__(self, node: Node, settings: Settings | None = None) -> None:
        self.node = node
        self.settings = settings or Settings.from_env()
        self._changed = threading.Condition()
        self._wake = threading.Event()
        self._clients: dict[str, PeerClient] = {}
        self._inflight: set[str] = set()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="dsp-send")
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._ack_conn: Any = None
        self._ack_lock = threading.Lock()

    # -- signalling --------------------------------------------------------------------

    def changed(self) -> None:
        """Wake everyone waiting for a state change, and the outbox worker."""
        with self._changed:
            self._changed.notify_all()
        self.kick()

    def wait_for(self, probe: Callable[[], T | None], timeout: float) -> T | None:
        """Call `probe` until it returns a value or `timeout` seconds pass."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._changed:
            while True:
                found = probe()
                remaining = deadline - time.monotonic()
                if found is not None or remaining <= 0:
                    return found
                self._changed.wait(min(remaining, 1.0))

    # -- outbox ------------------------------------------------------------------------

    def enqueue(
        self,
        conn: Any,
        peer_did: str,
        url: str,
        body: dict[str, Any],
        process: str,
        process_id: str,
        purpose: str,
    ) -> None:
        """Queue `body` for POSTing to `url` at `peer_did` (inside the caller's transaction)."""
        conn.execute(
            insert(outbox_table).values(
                id=ordered_id(),
                peer_did=peer_did,
                url=url,
                body=dump(body),
                process=process,
                process_id=process_id,
                purpose=purpose,
                attempts=0,
                next_at=0.0,
                created=utc_now(),
            )
        )

    def kick(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None and not self._stopped:
                    self._thread = threading.Thread(
                        target=self._run, name="dsp-outbox", daemon=True
                    )
                    self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        self._stopped = True
        self._wake.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        for client in self._clients.values():
            client.close()
        with self._ack_lock:
            if self._ack_conn is not None:
                self._ack_conn.close()
                self._ack_conn = None

    def _run(self) -> None:
        while not self._stopped:
            self._wake.clear()  # before reading, so a kick during dispatch is not lost
            try:
                delay = self._dispatch()
            except Exception:  # keep the worker alive; the rows stay queued
                log.exception("outbox dispatch failed")
                delay = 1.0
            self._wake.wait(delay)

    def _dispatch(self) -> float:
        now = time.time()
        with self.node.engine.connect() as conn:
            rows = conn.execute(select(outbox_table).order_by(outbox_table.c.id)).all()
        seen: set[str] = set()
        next_due = 5.0
        for row in rows:
            if row.process_id in seen:
                continue  # an earlier message of this process goes first
            seen.add(row.process_id)
            with self._lock:
                if row.id in self._inflight or row.process_id in self._inflight:
                    continue
                if row.next_at > now:
                    next_due = min(next_due, row.next_at - now)
                    continue
                self._inflight.update((row.id, row.process_id))
            self._pool.submit(self._deliver, row)
        return max(0.01, next_due)

    def _acknowledge(self, row_id: str) -> None:
        """Delete a delivered message without waiting for the disk (SQLite `synchronous=NORMAL`
        on a dedicated connection, PostgreSQL `synchronous_commit=off`). Only an operating-
        system crash before the next durable commit (usually the delivery hook's, at once)
        could bring the row back and send it again; a crash between delivery and this delete
        always could, so delivery stays at least once, as before, one fsync cheaper."""
        engine = self.node.engine
        if engine.dialect.name != "sqlite":
            with engine.begin() as conn:
                if engine.dialect.name == "postgresql":
                    conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                conn.execute(delete(outbox_table).where(outbox_table.c.id == row_id))
            return
        with self._ack_lock:
            if self._ack_conn is None:
                proxied = engine.raw_connection()
                proxied.detach()  # owned by this service, not returned to the pool
                self._ack_conn = proxied.dbapi_connection
                self._ack_conn.execute("PRAGMA synchronous=NORMAL")  # this connection only
            conn = self._ack_conn
            try:
                conn.execute(f"DELETE FROM {outbox_table.name} WHERE id = ?", (row_id,))
                conn.commit()
            except BaseException:
                conn.rollback()
                raise

    def client(self, peer: Peer) -> PeerClient:
        with self._lock:
            client = self._clients.get(peer.did)
            if client is None or client.peer != peer:
                client = PeerClient(self.node, peer, timeout=self.settings.timeout)
                self._clients[peer.did] = client
            return client

    def _deliver(self, row: Any) -> None:
        try:
            self._attempt(row)
        except Exception:
            log.exception("delivery of %s failed unexpectedly", row.id)
        finally:
            with self._lock:
                self._inflight.discard(row.id)
                self._inflight.discard(row.process_id)
            self._wake.set()

    def _attempt(self, row: Any) -> None:
        peer = find_peer(self.node.engine, row.peer_did)
        response: httpx.Response | None = None
        error: str | None = None
        retry = False
        if peer is None:
            error = f"{row.peer_did} is no longer on the trust list"
        else:
            try:
                response = self.client(peer).post(
                    row.url,
                    content=row.body.encode(),
                    headers={"Content-Type": "application/json"},
                )
            except httpx.HTTPError as exc:
                error, retry = f"{type(exc).__name__}: {exc}", True
            else:
                if response.status_code >= 500 or response.status_code in (408, 429):
                    error, retry = f"HTTP {response.status_code}", True
                elif response.status_code >= 400:
                    error = f"HTTP {response.status_code}: {_detail(response)}"
        attempts = row.attempts + 1
        if retry and attempts < self.settings.retry_attempts:
            with self.node.engine.begin() as conn:
                conn.execute(
                    update(outbox_table)
                    .where(outbox_table.c.id == row.id)
                    .values(
                        attempts=attempts,
                        next_at=time.time() + self.settings.backoff(attempts),
                        last_error=error,
                    )
                )
            return
        self._acknowledge(row.id)
        if error is not None and retry:
            error = (
                f"{row.peer_did} did not answer {row.purpose} at {row.url} after "
                f"{attempts} attempts (last error: {error})"
            )
        elif error is not None:
            error = f"{row.peer_did} refused {row.purpose}: {error}"
        hook = _HOOKS.get(row.purpose) or _HOOKS.get(row.process)
        if hook is not None:
            hook(self, row, response if error is None else None, error)
        self.changed()


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except (json.JSONDecodeError, ValueError):
        return response.text[:200]
    if isinstance(body, dict):
        reason = body.get("reason") or body.get("detail") or body.get("title")
        if isinstance(reason, list):
            reason = "; ".join(str(r) for r in reason)
        return str(reason)[:300]
    return str(body)[:200]


_SERVICES: dict[int, DspService] = {}
_SERVICES_LOCK = threading.Lock()


def dsp_for(node: Node) -> DspService:
    """The DSP runtime of `node`, created on first use (its worker starts on first message)."""
    with _SERVICES_LOCK:
        service = _SERVICES.get(id(node))
        if service is None or service.node is not node:
            service = DspService(node)
            _SERVICES[id(node)] = service
            service.kick()  # deliver whatever an earlier run left queued
    return service
