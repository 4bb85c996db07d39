"""Prepare captured events in helper processes, a run ahead of the appends.

A capture spends its CPU time in two kinds of work: preparation (validation, Event Hash IDs,
index rows: `connector.events.prepare`), which needs only the JSON, and the database work
(signing, appending, indexing), which one process does under the ledger's append lock. A
`Preparer` with workers hands a document to a helper process as soon as it is read (its JSON
text when the caller has it, which the helper reads again more cheaply than it would
unpickle the parsed events), so that while the node appends one run the helper prepares
the next, on the other core. Without workers, while the helpers start, or if one dies,
runs are prepared in the calling thread: the results are the same, only slower.

The pipe is driven by the capturing thread itself, not by executor threads: a thread that
needs the GIL while the capture computes waits up to the interpreter's switch interval
(5 ms) for it, which is longer than preparing a run takes. For the same reason, when the
helper is idle, the first run of a document is prepared by the capturing thread while the
helper starts on the second: every hand-over costs a wake-up, and the first one could only
be waited for.

Concurrent captures share a helper in turn (`_Ticket`). A capture that finds documents
queued ahead of its own sends the helper every run: it will wait for the append lock
anyway, and meanwhile the helper prepares its document instead of this process.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, NamedTuple

from connector import heap
from connector.events.prepare import (
    PreparedEvent,
    PreparedRun,
    Run,
    prepare_run,
    read_json,
    runs,
)
from schemas.epcis.validation import ordered_problems
from schemas.errors import InvalidRecord, Problem

log = logging.getLogger("tracespace.capture")

PreparedPart = tuple[PreparedEvent, ...]
"""Consecutive events of a document, prepared."""

_READY = "ready"
_POLL_SECONDS = 1.0
_ANSWER_SECONDS = 300.0  # a run of 25 events takes milliseconds; this is a stuck helper
_MAX_FAILED_STARTS = 3


def default_workers() -> int:
    """One helper process when this process may use a core to spare for it, else none."""
    try:
        cores = len(os.sched_getaffinity(0))  # the cores this process may run on
    except AttributeError:  # not on every platform (macOS)
        cores = os.cpu_count() or 1
    return 1 if cores >= 2 else 0


class HelperDied(Exception):
    """The helper process exited, its pipe broke, or it stopped answering."""


class HelperFailed(NamedTuple):
    """The helper's answer for a run whose preparation raised (not InvalidRecord)."""

    error: str


class TextWork(NamedTuple):
    """A document sent to the helper as JSON text: it prepares its runs from `skip` on,
    expecting `count` of them."""

    text: bytes
    skip: int
    count: int


class Preparer:
    """Prepares the runs of captured documents, in `workers` helper processes (0: inline).

    The helpers start at the first capture, in the background: until one is ready,
    documents are prepared inline, so no capture waits for a process to start. A helper
    takes documents in turn (`_Ticket`): while one capture appends what the helper
    prepared for it, the helper already prepares the next capture's document, which waits
    for the append lock anyway. Thread-safe.
    """

    def __init__(self, workers: int = 0) -> None:
        if workers < 0:
            raise ValueError("workers must be 0 or more")
        self.workers = workers
        self._lock = threading.Lock()
        self._helpers: list[_Helper] = []
        self._closed = False
        self._failed_starts = 0

    def parts(self, document: Any, text: bytes | None = None) -> Iterator[PreparedPart]:
        """The events of `document`, prepared, a run at a time in document order.

        InvalidRecord lists every problem of the document when any run has one. Without a
        helper, every run is checked before the first is handed out. With one, runs are
        handed out as they come and the error is raised after the last: the caller, which
        appends in one transaction, rolls back what it did with the valid runs before.
        `text`, when given, is the JSON `document` was read from (`prepare.read_json`).
        """
        all_runs = list(runs(document))
        helper = self._take() if len(all_runs) > 1 else None
        if helper is None:
            # Nothing to overlap with: prepare it all now, before the caller takes the
            # append lock, so a bad document never holds the lock.
            prepared_runs = [prepare_run(run) for run in all_runs]
            yield from self._checked(prepared_runs)
            return
        ticket = helper.submit(all_runs, text)
        problems: list[Problem] = []
        try:
            for index, run in enumerate(all_runs):
                if index < ticket.skip:
                    prepared = prepare_run(run)
                else:
                    prepared = self._prepared(helper, ticket, run)
                if prepared.problems or problems:
                    problems += prepared.problems
                    continue
                yield prepared.events
        finally:
            helper.release(ticket)
        if problems:
            raise InvalidRecord(ordered_problems(problems))

    @staticmethod
    def _checked(prepared_runs: list[PreparedRun]) -> Iterator[PreparedPart]:
        problems = [problem for prepared in prepared_runs for problem in prepared.problems]
        if problems:
            raise InvalidRecord(ordered_problems(problems))
        for prepared in prepared_runs:
            yield prepared.events

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

    @staticmethod
    def _prepared(helper: _Helper, ticket: _Ticket, run: Run) -> PreparedRun:
        answer = helper.answer(ticket)
        if isinstance(answer, PreparedRun):
            return answer
        # No answer (the helper died), or the helper failed on this run (and stays up):
        # preparing it here gives the same result, or raises the same error with its
        # traceback in this process's log.
        return prepare_run(run)

    def _take(self) -> _Helper | None:
        """The ready helper with the fewest documents queued; None to prepare inline
        (starting the helpers if needed)."""
        if not self.workers or not self._spawn():
            return None
        with self._lock:
            helpers = list(self._helpers)
        ready = [helper for helper in helpers if helper.alive and helper.ready()]
        return min(ready, key=lambda helper: helper.queued, default=None)

    def _spawn(self) -> bool:
        """Start helpers until there are `workers` alive; False once closed, or once
        helpers keep failing to start (then captures prepare inline from then on)."""
        with self._lock:
            if self._closed or self._failed_starts >= _MAX_FAILED_STARTS:
                return False
            for helper in self._helpers:
                if not helper.alive and not helper.was_ready:
                    self._failed_starts += 1
            self._helpers = [h for h in self._helpers if h.alive]
            if self._failed_starts >= _MAX_FAILED_STARTS:
                log.error("capture helpers keep failing to start; preparing inline from now on")
                return False
            while len(self._helpers) < self.workers:
                try:
                    helper = _Helper()
                except OSError as exc:  # no process or pipe to be had now
                    log.warning("cannot start a capture helper (%s); preparing inline", exc)
                    self._failed_starts += 1
                    return bool(self._helpers)
                self._helpers.append(helper)
            return True


@dataclass
class _Ticket:
    """One capture's place in a helper's queue: the helper answers for its runs from
    `skip` on, after the answers for every earlier ticket."""

    number: int
    skip: int
    owed: int  # answers sent for this ticket and not yet read


class _Helper:
    """One helper process and its pipe, shared by captures in the order of their tickets.

    Documents are sent in ticket order, and the helper answers in the order it was sent
    them, so only the capture whose turn it is reads from the pipe; the others wait
    (without the append lock: a capture takes it only once it holds its first run).
    """

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")  # the node runs threads: never fork
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=serve_helper, args=(child,), name="tracespace-capture-helper", daemon=True
        )
        try:
            self.process.start()
        except BaseException:
            self.conn.close()
            raise
        finally:
            child.close()
        self.alive = True
        self.was_ready = False
        self._ready = False
        self._ready_lock = threading.Lock()
        self._sending = threading.Lock()  # tickets are numbered in the order they are sent
        self._turns = threading.Condition()
        self._issued = 0  # tickets given out
        self._serving = 0  # the ticket whose answers are read now

    @property
    def queued(self) -> int:
        """Documents sent to the helper whose answers are not all read yet."""
        return self._issued - self._serving

    def ready(self) -> bool:
        """Whether the helper has started and warmed up (never waits)."""
        with self._ready_lock:
            if not self._ready and self.alive:
                try:
                    if self.conn.poll(0):
                        self._ready = self.was_ready = self.conn.recv() == _READY
                except (EOFError, OSError):
                    self.stop()
            return self._ready

    def submit(self, all_runs: list[Run], text: bytes | None) -> _Ticket:
        """Send the helper the runs of one document: every run when documents are queued
        ahead of it (the capture would only wait for its turn), else all but the first,
        which the capture prepares itself meanwhile."""
        # Not under `_turns`: a send may wait for the helper, which may wait for the
        # capture whose turn it is to read, which needs `_turns` to do so.
        with self._sending:
            skip = 0 if self.queued else 1
            ticket = _Ticket(self._issued, skip, len(all_runs) - skip)
            self._issued += 1
            try:
                if text is None:
                    self.conn.send(all_runs[skip:])
                else:
                    self.conn.send(TextWork(text, skip, ticket.owed))
            except (OSError, ValueError) as exc:
                log.warning("a capture helper process died (%s); preparing inline", exc)
                ticket.owed = 0
                self.stop()
            return ticket

    def answer(self, ticket: _Ticket) -> PreparedRun | HelperFailed | None:
        """The next answer for `ticket`, once it is its turn; None if the helper is gone."""
        if not self.alive or not ticket.owed:
            return None
        try:
            self._wait_turn(ticket)
            if not self.alive:
                return None
            answer = self._receive()
        except HelperDied as exc:
            log.warning("capture helper lost (%s); preparing inline", exc)
            self.stop()
            return None
        except BaseException:
            self.stop()  # the count of answers owed is lost with it
            raise
        ticket.owed -= 1
        return answer

    def release(self, ticket: _Ticket) -> None:
        """End `ticket`: read the answers it no longer wants (its capture stopped early),
        then pass the turn on."""
        try:
            while self.alive and ticket.owed:
                self.answer(ticket)
        finally:
            with self._turns:
                self._serving = max(self._serving, ticket.number + 1)
                self._turns.notify_all()

    def _wait_turn(self, ticket: _Ticket) -> None:
        deadline = time.monotonic() + _ANSWER_SECONDS
        with self._turns:
            while self.alive and self._serving < ticket.number:
                if not self._turns.wait(timeout=max(0.0, deadline - time.monotonic())):
                    raise HelperDied(f"no turn in {_ANSWER_SECONDS} s")

    def _receive(self) -> PreparedRun | HelperFailed:
        deadline = time.monotonic() + _ANSWER_SECONDS
        try:
            while not self.conn.poll(_POLL_SECONDS):
                if not self.process.is_alive():
                    raise HelperDied("the helper exited")
                if time.monotonic() > deadline:
                    raise HelperDied(f"no answer in {_ANSWER_SECONDS} s")
            return self.conn.recv()
        except (EOFError, OSError) as exc:
            raise HelperDied(str(exc)) from None

    def stop(self) -> None:
        """Stop the helper process (any thread, any number of times).

        The pipe is not closed here: another capture may be reading or writing it right
        now, and a closed descriptor's number is handed to the next file this process
        opens. The helper's exit ends the pipe for them (end of file, broken pipe); the
        descriptor is closed with the last reference to this object.
        """
        with self._turns:
            self.alive = False
            self._turns.notify_all()  # whoever waits for a turn prepares inline now
        for end in (self.process.terminate, self.process.kill):
            if not self.process.is_alive():
                break
            end()
            self.process.join(timeout=5)  # reap it: no zombie left behind


def serve_helper(conn: Connection) -> None:
    """The helper process: warm up, then prepare the runs of each document it is sent,
    answering run by run, in order.

    Both ends may wait to write at once: the helper when the answers for one capture fill
    the pipe before that capture reads them (it waits for the append lock), the node when
    a later capture's document fills the other direction. The capture whose turn it is
    never waits for a later one, so it reads in the end and both writes go through.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the node, which stops us
    warm_up()
    heap.settle()  # the loaded schemas and modules stay (see connector.heap)
    conn.send(_READY)
    while True:
        try:
            work = conn.recv()
        except (EOFError, OSError):
            return  # the node closed the pipe or exited
        for answer in _answers(work):
            try:
                conn.send(answer)
            except OSError:
                return
        work = []  # hold no document while idle


def _answers(work: list[Run] | TextWork) -> Iterator[PreparedRun | HelperFailed]:
    """An answer for each run the node asked for, in order. Runs sent as text are cut the
    way the node cut them; if that does not give as many, each answer is a failure, and the
    node prepares those runs itself. A run whose preparation raises (not InvalidRecord) is a
    bug: the answer says so, and the node redoes the run, which reports it."""
    if isinstance(work, TextWork):
        try:
            cut = list(runs(read_json(work.text)))[work.skip :]
        except Exception as exc:  # the node read this text: this would be a bug
            cut, reason = [], f"{type(exc).__name__}: {exc}"
        else:
            reason = f"the text has {len(cut)} runs to prepare, not {work.count}"
        if len(cut) != work.count:
            yield from [HelperFailed(reason)] * work.count
            return
        work = cut
    for run in work:
        try:
            answer: PreparedRun | HelperFailed = prepare_run(run)
        except Exception as exc:
            answer = HelperFailed(f"{type(exc).__name__}: {exc}")
        yield answer


def warm_up() -> int:
    """Load the schema checks and caches with one example document."""
    from connector.events.example import document, event

    sample = document([event("ObjectEvent", 0.0, action="OBSERVE", epcList=[_SAMPLE_EPC])])
    return len(prepare_run(Run(sample, 0)).events)


_SAMPLE_EPC = "urn:epc:id:sgtin:4012345.011111.1"
