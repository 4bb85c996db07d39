"""Prepare captured events in helper processes, a run ahead of the appends.

A capture spends its CPU time in two kinds of work: preparation (validation, Event Hash IDs,
index rows: `connector.events.prepare`), which needs only the JSON, and the database work
(signing, appending, indexing), which one process does under the ledger's append lock. A
`Preparer` with workers sends all the runs of a document to a helper process as soon as the
document is read, so that while the node appends one run the helper prepares the next, on
the other core. Without workers, while the helpers start, or if one dies, runs are prepared
in the calling thread: the results are the same, only slower.

The pipe is driven by the capturing thread itself, not by executor threads: a thread that
needs the GIL while the capture computes waits up to the interpreter's switch interval
(5 ms) for it, which is longer than preparing a run takes. For the same reason the first
run of a document is prepared by the capturing thread, while the helper starts on the
second: every hand-over costs a wake-up, and the first one could only be waited for.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from typing import Any

from connector.events.prepare import (
    PreparedEvent,
    PreparedRun,
    Run,
    merge_problems,
    prepare_run,
    runs,
)
from schemas.epcis import iter_events
from schemas.errors import InvalidRecord, Problem

log = logging.getLogger("tracespace.capture")

PreparedPart = list[tuple[dict[str, Any], PreparedEvent]]
"""Consecutive events of a document: each as sent, with what preparing it gave."""

_READY = "ready"
_POLL_SECONDS = 1.0


def default_workers() -> int:
    """One helper process when the machine has a core to spare for it, else none."""
    return 1 if (os.cpu_count() or 1) >= 2 else 0


class HelperDied(Exception):
    """The helper process exited or its pipe broke."""


class Preparer:
    """Prepares the runs of captured documents, in `workers` helper processes (0: inline).

    The helpers start at the first capture, in the background: until one is ready,
    documents are prepared inline, so no capture waits for a process to start. A helper
    serves one capture at a time. Thread-safe.
    """

    def __init__(self, workers: int = 0) -> None:
        if workers < 0:
            raise ValueError("workers must be 0 or more")
        self.workers = workers
        self._lock = threading.Lock()
        self._helpers: list[_Helper] = []
        self._idle: queue.SimpleQueue[_Helper] = queue.SimpleQueue()
        self._closed = False

    def parts(self, document: Any) -> Iterator[PreparedPart]:
        """The events of `document`, prepared, a run at a time in document order.

        When any run has problems, the remaining runs are still checked and then
        InvalidRecord lists every problem of the document (after the valid runs before it
        were yielded: the caller discards what it did with them).
        """
        all_runs = list(runs(document))
        helper = self._take() if len(all_runs) > 1 else None
        problems: list[Problem] = []
        try:
            if helper is not None:
                # The helper takes every run but the first, which this thread prepares
                # meanwhile: it would only wait for it otherwise.
                try:
                    helper.send(all_runs[1:])
                except HelperDied:
                    log.warning("a capture helper process died; preparing inline")
                    helper.stop()
            for index, run in enumerate(all_runs):
                prepared = self._prepared(helper if index else None, run)
                if prepared.problems or problems:
                    problems += prepared.problems
                    continue
                raw = [event for _, event in iter_events(run.document)]
                yield list(zip(raw, prepared.events, strict=True))
        finally:
            if helper is not None:
                self._give_back(helper)
        if problems:
            raise InvalidRecord(merge_problems(problems))

    def start(self, timeout: float = 0.0) -> bool:
        """Start the helpers now, and wait up to `timeout` seconds until all are ready;
        whether they are (always True without workers)."""
        self._spawn()
        with self._lock:
            helpers = list(self._helpers)
        deadline = time.monotonic() + timeout
        while True:
            if all(helper.ready() for helper in helpers):
                return True
            if time.monotonic() >= deadline or not all(h.alive for h in helpers):
                return False
            time.sleep(0.02)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            helpers, self._helpers = self._helpers, []
        for helper in helpers:
            helper.stop()

    def __enter__(self) -> Preparer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _prepared(self, helper: _Helper | None, run: Run) -> PreparedRun:
        if helper is not None and helper.alive:
            try:
                return helper.receive()
            except HelperDied:
                log.warning("a capture helper process died; preparing inline")
                helper.stop()
        return prepare_run(run)

    def _take(self) -> _Helper | None:
        """An idle, ready helper; None to prepare inline (starting the helpers if needed)."""
        if not self.workers or not self._spawn():
            return None
        while True:
            try:
                helper = self._idle.get_nowait()
            except queue.Empty:
                return None
            if not helper.alive:
                continue  # a dead one is dropped; the next capture starts another
            if helper.ready():
                return helper
            self._idle.put(helper)
            return None

    def _spawn(self) -> bool:
        """Start helpers until there are `workers` alive; False once closed."""
        with self._lock:
            if self._closed:
                return False
            self._helpers = [h for h in self._helpers if h.alive]
            while len(self._helpers) < self.workers:
                helper = _Helper()
                self._helpers.append(helper)
                self._idle.put(helper)
            return True

    def _give_back(self, helper: _Helper) -> None:
        if helper.alive:
            try:
                helper.drain()
            except HelperDied:
                helper.stop()
        if helper.alive:
            self._idle.put(helper)


class _Helper:
    """One helper process and its pipe; the caller keeps it to one capture at a time."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")  # the node runs threads: never fork
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=serve_helper, args=(child,), name="tracespace-capture-helper", daemon=True
        )
        self.process.start()
        child.close()
        self.alive = True
        self._ready = False
        self._ready_lock = threading.Lock()
        self._expected = 0

    def ready(self) -> bool:
        """Whether the helper has started and warmed up (never waits)."""
        with self._ready_lock:
            if not self._ready and self.alive:
                try:
                    if self.conn.poll(0):
                        self._ready = self.conn.recv() == _READY
                except (EOFError, OSError):
                    self.stop()
            return self._ready

    def send(self, work: list[Run]) -> None:
        try:
            self.conn.send(work)
        except (OSError, ValueError) as exc:
            raise HelperDied(str(exc)) from None
        self._expected += len(work)

    def receive(self) -> PreparedRun:
        try:
            while not self.conn.poll(_POLL_SECONDS):
                if not self.process.is_alive():
                    raise HelperDied("the helper exited")
            answer = self.conn.recv()
        except (EOFError, OSError) as exc:
            raise HelperDied(str(exc)) from None
        self._expected -= 1
        return answer

    def drain(self) -> None:
        """Read the answers for runs the capture no longer wants (it stopped early)."""
        while self._expected:
            self.receive()

    def stop(self) -> None:
        self.alive = False
        self.conn.close()
        if self.process.is_alive():
            self.process.terminate()


def serve_helper(conn: Connection) -> None:
    """The helper process: warm up, then prepare the runs of each document it is sent,
    answering run by run, in order.

    It reads a whole document before it writes, and the node reads every answer before it
    sends the next document, so the two never both wait to write.
    """
    warm_up()
    gc.freeze()  # the loaded schemas and modules stay: spare them the collector's passes
    conn.send(_READY)
    while True:
        try:
            work = conn.recv()
        except (EOFError, OSError):
            return  # the node closed the pipe or exited
        for run in work:
            try:
                conn.send(prepare_run(run))
            except OSError:
                return


def warm_up() -> int:
    """Load the schema checks and caches with one example document."""
    from connector.events.example import document, event

    sample = document([event("ObjectEvent", 0.0, action="OBSERVE", epcList=[_SAMPLE_EPC])])
    return len(prepare_run(Run(sample, 0)).events)


_SAMPLE_EPC = "urn:epc:id:sgtin:4012345.011111.1"
