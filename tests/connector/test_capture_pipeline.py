"""Capture preparation in runs and in a helper process: the same results as one pass inline,
whole-document error reports, nothing written on failure, and a helper that dies is replaced."""

from __future__ import annotations

import copy
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from connector.app import create_app
from connector.events import example as ex
from connector.events.capture import capture_document
from connector.events.pipeline import Preparer
from connector.events.prepare import prepare_run, read_json, runs
from connector.events.tables import containment_table, event_table, object_table, party_table
from connector.node import Node, init_node
from ledger.canonical import Canonical
from schemas.epcis import document_problems
from schemas.errors import InvalidRecord

CONFORMANCE = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
INVALID = CONFORMANCE / "epcis" / "openepcis" / "2.0" / "EPCIS" / "JSON" / "Capture" / "Invalid"
START_SECONDS = 60.0


def chain(count: int, tag: str = "A") -> list[dict]:
    """`count` events of every shape the index cares about: lots transformed step by step,
    packed into cartons (containment), shipped with sources and destinations."""
    events: list[dict] = []
    for n in range(count):
        lot = f"urn:epc:class:lgtin:4012345.012345.{tag}{n}"
        carton = f"urn:epc:id:sscc:4012345.{ord(tag[0]) * 1000 + n:010d}"
        kind = n % 3
        if kind == 0:
            events.append(
                ex.event("ObjectEvent", n, action="ADD", bizStep="commissioning",
                         quantityList=[ex.qty(lot, 10)], bizLocation=ex.place(ex.PLANT))
            )  # fmt: skip
        elif kind == 1:
            events.append(
                ex.event("AggregationEvent", n, action="ADD", bizStep="packing",
                         parentID=carton, childQuantityList=[ex.qty(lot, 10)])
            )  # fmt: skip
        else:
            events.append(
                ex.event("ObjectEvent", n, action="OBSERVE", bizStep="shipping", epcList=[carton],
                         sourceList=ex.party("source", "urn:epc:id:pgln:4012345.00000"),
                         destinationList=ex.party("destination", "urn:epc:id:pgln:4098765.00000"))
            )  # fmt: skip
    return events


@pytest.fixture(scope="module")
def helper() -> Iterator[Preparer]:
    preparer = Preparer(workers=1)
    if not preparer.start(timeout=START_SECONDS):
        preparer.close()
        pytest.fail("the capture helper process did not start")
    yield preparer
    preparer.close()


def _node(folder: Path, name: str) -> Node:
    return init_node(folder / name, name, [], port=9)


def _index(node: Node) -> dict[str, list[tuple]]:
    """Every index row, sorted; event rows without their key id (each node has its own)."""
    with node.engine.connect() as conn:
        found = {
            table.name: sorted(tuple(row) for row in conn.execute(select(table)))
            for table in (event_table, object_table, party_table, containment_table)
        }
    found[event_table.name] = [row[:-1] for row in found[event_table.name]]
    return found


def _inline(document: dict) -> list:
    return [p for part in Preparer(0).parts(document) for p in part]


def test_runs_cover_the_document_in_order() -> None:
    events = chain(61)
    document = ex.document(events)
    cut = list(runs(document, first=10, size=25))
    assert [run.offset for run in cut] == [0, 10, 35, 60]
    rebuilt = [e for run in cut for e in run.document["epcisBody"]["eventList"]]
    assert rebuilt == events
    assert all(run.document["@context"] == document["@context"] for run in cut)


@pytest.mark.parametrize(
    "document",
    [
        {"not": "epcis"},
        [1, 2],
        ex.document(chain(5)),
        {**ex.document([]), "epcisBody": {"event": chain(1)[0]}},
    ],
    ids=["no-body", "not-an-object", "short", "single-event"],
)
def test_other_shapes_are_one_run(document: object) -> None:
    assert [run.offset for run in runs(document)] == [0]


def _bad_document() -> dict:
    events = chain(70)
    events[3] = {**events[3], "bizStep": "juggling"}
    del events[44]["eventTimeZoneOffset"]
    events[69]["epcList"] = ["not a uri"]
    return {**ex.document(events), "creationDate": "yesterday"}


def test_problems_across_runs_are_the_whole_document_report() -> None:
    document = _bad_document()
    with pytest.raises(InvalidRecord) as caught:
        for _ in Preparer(0).parts(document):
            pass
    assert caught.value.problems == document_problems(document)
    paths = caught.value.paths
    assert "$.epcisBody.eventList[3].bizStep" in paths
    assert any(p.startswith("$.epcisBody.eventList[44]") for p in paths)
    assert any(p.startswith("$.epcisBody.eventList[69]") for p in paths)
    assert paths.count("$.creationDate") == 1  # every run saw it; reported once


@pytest.mark.parametrize("name", sorted(p.name for p in INVALID.glob("*.json")) or ["<missing>"])
def test_invalid_corpus_documents_split_into_runs_report_the_same(name: str) -> None:
    path = INVALID / name
    if not path.is_file():
        pytest.skip(f"EPCIS conformance data not found at {INVALID}")
    document = json.loads(path.read_text(encoding="utf-8"))
    body = document.get("epcisBody") if isinstance(document, dict) else None
    if isinstance(body, dict) and isinstance(body.get("eventList"), list) and body["eventList"]:
        # Repeat the events so the document splits into several runs.
        body["eventList"] = [copy.deepcopy(e) for e in body["eventList"] * 20]
    expected = document_problems(document)
    with pytest.raises(InvalidRecord) as caught:
        for _ in Preparer(0).parts(document):
            pass
    assert caught.value.problems == expected


def test_prepared_runs_equal_one_pass(helper: Preparer) -> None:
    document = ex.document(chain(80, "P"))
    whole = prepare_run(next(runs(document, first=1000)))
    inline = _inline(document)
    helped = [p for part in helper.parts(document) for p in part]
    assert inline == helped == list(whole.events)
    assert all(type(p.payload) is Canonical for p in helped)  # kept its type across the pipe
    text = json.dumps(document).encode()
    from_text = [p for part in helper.parts(read_json(text), text) for p in part]
    assert from_text == inline  # the helper read the text itself, and cut the same runs


def test_text_that_is_not_the_document_is_prepared_inline(helper: Preparer) -> None:
    """The helper cuts the text into other runs than the node did: it says so for each
    run, and the node prepares them itself (the helper serves on)."""
    document = ex.document(chain(80, "P"))
    other = json.dumps(ex.document(chain(30, "O"))).encode()
    inline = _inline(document)
    assert [p for part in helper.parts(document, other) for p in part] == inline
    assert [p for part in helper.parts(document) for p in part] == inline  # still serving


def _in_thread(work) -> tuple[threading.Thread, list]:
    """Run `work()` in a thread; its result (or exception) lands in the returned list."""
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:  # handed to the test, which asserts on it
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def _waiting_for_turn(helper, ticket_number: int) -> bool:
    """Whether a ticket numbered `ticket_number` has been given out and is not served yet."""
    return helper._issued > ticket_number and helper._serving <= ticket_number


def _wait_until(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_a_document_queued_behind_another_goes_whole_to_the_helper_and_waits_its_turn(
    helper: Preparer,
) -> None:
    first_doc, second_doc = ex.document(chain(80, "C")), ex.document(chain(70, "D"))
    (process,) = helper._helpers
    issued = process._issued
    first = helper.parts(first_doc)
    head = next(first)  # prepared here: the helper was idle, it takes the other runs
    thread, outcome = _in_thread(lambda: [p for part in helper.parts(second_doc) for p in part])
    _wait_until(lambda: _waiting_for_turn(process, issued + 1))
    assert not outcome  # the second document waits until the first has all its answers
    rest = [p for part in first for p in part]
    thread.join(30)
    assert [*head, *rest] == _inline(first_doc)
    assert outcome == [_inline(second_doc)]
    assert process._issued == issued + 2 and process.queued == 0  # both went to the helper


def test_a_capture_that_stops_early_hands_the_turn_on(helper: Preparer) -> None:
    first_doc, second_doc = ex.document(chain(80, "E")), ex.document(chain(80, "F"))
    (process,) = helper._helpers
    issued = process._issued
    first = helper.parts(first_doc)
    next(first)
    thread, outcome = _in_thread(lambda: [p for part in helper.parts(second_doc) for p in part])
    _wait_until(lambda: _waiting_for_turn(process, issued + 1))
    first.close()  # e.g. the append failed: its unread answers are read and dropped
    thread.join(30)
    assert outcome == [_inline(second_doc)]
    assert process.queued == 0
    assert [p for part in helper.parts(first_doc) for p in part] == _inline(first_doc)


def test_captures_waiting_on_a_helper_that_dies_prepare_inline(tmp_path: Path) -> None:
    preparer = Preparer(workers=1)
    try:
        assert preparer.start(timeout=START_SECONDS)
        (process,) = preparer._helpers
        first_doc, second_doc = ex.document(chain(80, "G")), ex.document(chain(80, "H"))
        first = preparer.parts(first_doc)
        head = next(first)
        thread, outcome = _in_thread(
            lambda: [p for part in preparer.parts(second_doc) for p in part]
        )
        _wait_until(lambda: _waiting_for_turn(process, 1))
        os.kill(process.process.pid, signal.SIGKILL)
        assert [*head, *(p for part in first for p in part)] == _inline(first_doc)
        thread.join(30)
        assert outcome == [_inline(second_doc)]
        assert not process.alive
    finally:
        preparer.close()


def test_a_helper_stopped_from_many_threads_at_once_leaves_its_pipe_open() -> None:
    """Captures that share a helper may all stop it when it dies. Closing its pipe then could
    close a descriptor number that another thread is reading, or that a new file reuses;
    so stopping ends the process only, and the pipe goes with the last reference."""
    preparer = Preparer(workers=1)
    try:
        assert preparer.start(timeout=START_SECONDS)
        (process,) = preparer._helpers
        threads = [_in_thread(process.stop) for _ in range(8)]
        for thread, outcome in threads:
            thread.join(30)
            assert outcome == [None]  # nobody raised
        assert not process.alive and not process.process.is_alive()
        assert not process.conn.closed
        assert process.answer(process.submit(list(runs(ex.document(chain(40, "N")))), None)) is None
    finally:
        preparer.close()


def test_concurrent_captures_through_one_helper_each_land_whole(tmp_path: Path, helper):
    node = _node(tmp_path, "n")
    try:
        documents = [ex.document(chain(60, tag)) for tag in ("J", "K", "L", "M")]
        (process,) = helper._helpers
        issued = process._issued
        threads = [
            _in_thread(lambda doc=doc: capture_document(node, doc, preparer=helper))
            for doc in documents
        ]
        for thread, _ in threads:
            thread.join(60)
        results = [outcome[0] for _, outcome in threads]
        for captured, document in zip(results, documents, strict=True):
            assert not isinstance(captured, BaseException), captured
            seqs = [c.seq for c in captured]
            assert seqs == list(range(seqs[0], seqs[0] + 60))  # one transaction each
            assert [c.event_hash for c in captured] == [p.event_hash for p in _inline(document)]
        assert node.ledger.size == 1 + 4 * 60
        assert process._issued == issued + 4  # none was prepared inline for want of a helper
    finally:
        node.close()


def test_helper_capture_writes_what_inline_capture_writes(tmp_path: Path, helper: Preparer):
    document = ex.document(chain(90, "Q"))
    inline_node, helped_node = _node(tmp_path, "inline"), _node(tmp_path, "helped")
    try:
        inline = capture_document(inline_node, copy.deepcopy(document))
        helped = capture_document(helped_node, copy.deepcopy(document), preparer=helper)
        assert [c.event_hash for c in helped] == [c.event_hash for c in inline]
        assert [c.seq for c in helped] == [c.seq for c in inline]
        written = _index(helped_node)
        assert written == _index(inline_node)
        assert all(written.values())  # events, objects, parties and containment all indexed
        assert helped_node.ledger.size == inline_node.ledger.size
    finally:
        inline_node.close()
        helped_node.close()


def test_a_bad_last_run_writes_nothing_and_the_helper_serves_on(tmp_path: Path, helper):
    node = _node(tmp_path, "n")
    try:
        before = node.ledger.size
        events = chain(60, "R")
        events[-1] = {**events[-1], "disposition": "lost_in_space"}
        with pytest.raises(InvalidRecord) as caught:
            capture_document(node, ex.document(events), preparer=helper)
        assert caught.value.paths == ["$.epcisBody.eventList[59].disposition"]
        assert node.ledger.size == before
        assert _index(node)["epcis_event"] == []
        done = capture_document(node, ex.document(chain(60, "S")), preparer=helper)
        assert len(done) == 60 and node.ledger.size == before + 60
    finally:
        node.close()


def test_a_helper_that_dies_is_replaced_and_the_capture_still_succeeds(tmp_path: Path):
    node = _node(tmp_path, "n")
    preparer = Preparer(workers=1)
    try:
        assert preparer.start(timeout=START_SECONDS)
        (first,) = preparer._helpers
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.join(10)
        done = capture_document(node, ex.document(chain(50, "T")), preparer=preparer)
        assert len(done) == 50
        assert preparer.start(timeout=START_SECONDS)  # a new helper took its place
        (second,) = preparer._helpers
        assert second is not first and second.process.is_alive()
        done = capture_document(node, ex.document(chain(50, "U")), preparer=preparer)
        assert [c.seq for c in done] == list(range(51, 101))  # after genesis and the first 50
    finally:
        preparer.close()
        node.close()


def test_the_app_stops_its_helpers_on_shutdown(tmp_path: Path) -> None:
    node = _node(tmp_path, "n")
    try:
        app = create_app(node, capture_workers=1)
        with TestClient(app) as client:
            preparer = app.state.preparer
            assert preparer.start(timeout=START_SECONDS)
            token = {"Authorization": f"Bearer {node.operator_token}"}
            response = client.post(
                "/epcis/capture", json=ex.document(chain(40, "V")), headers=token
            )
            assert response.status_code == 200, response.text
            assert len(response.json()["events"]) == 40
            processes = [h.process for h in preparer._helpers]
        for process in processes:
            process.join(10)
            assert not process.is_alive()
    finally:
        node.close()


def test_preparer_refuses_a_negative_worker_count() -> None:
    with pytest.raises(ValueError):
        Preparer(-1)


def test_inline_preparation_checks_every_run_before_the_first_is_handed_out() -> None:
    parts = Preparer(0).parts(_bad_document())
    with pytest.raises(InvalidRecord):
        next(parts)  # nothing to append yet: the caller has not taken the append lock


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-23:00"])
def test_a_time_outside_utc_years_is_a_problem_and_the_helper_lives_on(
    tmp_path: Path, helper: Preparer, moment: str
) -> None:
    node = _node(tmp_path, "n")
    try:
        pids = [h.process.pid for h in helper._helpers]
        events = chain(40, "W")
        events[30] = {**events[30], "eventTime": moment}
        with pytest.raises(InvalidRecord) as caught:
            capture_document(node, ex.document(events), preparer=helper)
        assert caught.value.paths == ["$.epcisBody.eventList[30].eventTime"]
        assert node.ledger.size == 1
        assert [h.process.pid for h in helper._helpers if h.alive] == pids
    finally:
        node.close()


class _FakePipe:
    """The node's end of a helper pipe, in this process: what it sends, what it got."""

    def __init__(self, work: list) -> None:
        self.inbox = [work]
        self.sent: list = []

    def recv(self) -> list:
        if not self.inbox:
            raise EOFError
        return self.inbox.pop(0)

    def send(self, answer: object) -> None:
        self.sent.append(answer)


def test_a_run_the_helper_cannot_prepare_is_answered_and_the_helper_goes_on(monkeypatch):
    import gc

    from connector.events import pipeline

    good, bad = list(runs(ex.document(chain(40, "X"))))[:2]

    def prepare(run):
        if run is bad:
            raise RuntimeError("a bug in preparation")
        return prepare_run(run)

    monkeypatch.setattr(pipeline, "prepare_run", prepare)
    pipe = _FakePipe([bad, good])
    thresholds = gc.get_threshold()
    try:
        pipeline.serve_helper(pipe)  # returns at the end of the work (EOF)
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    ready, failed, prepared = pipe.sent
    assert ready == "ready"
    assert isinstance(failed, pipeline.HelperFailed) and "a bug in preparation" in failed.error
    assert prepared == prepare_run(good)


def test_a_large_run_of_index_rows_is_written_in_bulk_on_each_backend(
    tmp_path: Path, database_url: str
) -> None:
    """A run whose rows pass the bulk threshold (COPY on PostgreSQL) indexes every row."""
    node = init_node(tmp_path / "n", "n", [], port=9, database_url=database_url)
    try:
        children = [f"urn:epc:id:sgtin:4012345.011111.{n}" for n in range(150)]
        packing = ex.event(
            "AggregationEvent", 1, action="ADD", bizStep="packing",
            parentID="urn:epc:id:sscc:4012345.0000000099", childEPCs=children,
        )  # fmt: skip
        captured = capture_document(node, ex.document([packing, *chain(30, "Y")]))
        index = _index(node)
        assert len(captured) == 31
        assert len([r for r in index["epcis_object"] if r[1] == captured[0].seq]) == 151
        assert len(index["epcis_containment"]) == 150 + 10  # the packing, and chain's cartons
    finally:
        node.close()
