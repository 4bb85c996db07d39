"""Bench EPCIS capture (HTTP, documents of 100 events) against raw ledger appends, and trace
latency (p50/p99, depth 10) on a large event graph built through the capture service.

Run: .venv/bin/python bench/events.py [--graph-events N] [--quick] [--capture-only] [--no-write]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
# bench/ holds ledger.py: keep this folder off sys.path so `ledger` is the package.
sys.path[:] = [p for p in sys.path if Path(p or os.getcwd()).resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402

from bench import _report  # noqa: E402
from bench._report import Figure, Report  # noqa: E402
from connector.demo import free_port, start_node  # noqa: E402
from connector.events import example as ex  # noqa: E402
from connector.events.access import SELF  # noqa: E402
from connector.events.capture import capture_document, event_payload  # noqa: E402
from connector.events.objects import object_key  # noqa: E402
from connector.events.trace import TraceRequest, trace  # noqa: E402
from connector.node import Node, init_node  # noqa: E402
from ledger import keys  # noqa: E402
from ledger.log import Ledger  # noqa: E402
from schemas.epcis import parse_document  # noqa: E402

FAMILY = 12
"""Events per family: commission, 9 transformations, pack, ship (a depth-10 chain)."""


def lot(family: int, step: int) -> str:
    return f"urn:epc:class:lgtin:4012345.012345.F{family}-{step}"


def family_events(family: int) -> list[dict[str, Any]]:
    """One lot through nine processing steps, packed into a carton and shipped."""
    base = family * 0.001
    sscc = f"urn:epc:id:sscc:4012345.{family:010d}"
    events = [
        ex.event("ObjectEvent", base, action="ADD", bizStep="commissioning",
                 quantityList=[ex.qty(lot(family, 0), 100)], bizLocation=ex.place(ex.PLANT)),
    ]  # fmt: skip
    for step in range(1, 10):
        events.append(
            ex.event(
                "TransformationEvent", base + step, bizStep="creating_class_instance",
                inputQuantityList=[ex.qty(lot(family, step - 1), 100)],
                outputQuantityList=[ex.qty(lot(family, step), 100)],
            )
        )  # fmt: skip
    events.append(
        ex.event("AggregationEvent", base + 10, action="ADD", bizStep="packing", parentID=sscc,
                 childQuantityList=[ex.qty(lot(family, 9), 100)])
    )  # fmt: skip
    events.append(
        ex.event("ObjectEvent", base + 11, action="OBSERVE", bizStep="shipping",
                 epcList=[sscc], readPoint=ex.place(ex.PLANT))
    )  # fmt: skip
    return events


def documents(first_family: int, events: int, per_document: int) -> list[dict[str, Any]]:
    return list(iter_documents(first_family, events, per_document))


def iter_documents(first_family: int, events: int, per_document: int) -> Iterator[dict[str, Any]]:
    """EPCISDocuments of `per_document` events (the last may be short), made as they are needed
    so that a graph of a million events never sits in memory as JSON."""
    pending: list[dict[str, Any]] = []
    family, made = first_family, 0
    while made < events:
        pending += family_events(family)[: events - made]
        made = min(events, made + FAMILY)
        family += 1
        while len(pending) >= per_document:
            yield ex.document(pending[:per_document])
            pending = pending[per_document:]
    if pending:
        yield ex.document(pending)


CAPTURE_TURNS = 10  # HTTP capture and raw appends take turns, so drift hits both alike


def bench_capture(report: Report, workdir: Path, total: int) -> None:
    docs = documents(10_000_000, total, 100)
    # The same payloads the capture writes, for the raw appends (built untimed).
    payloads = []
    for doc in docs:
        model = parse_document(doc)
        payloads.append([("epcis.event", event_payload(e, doc["@context"])) for e in model.events])
    # Encoded beforehand, as a load generator sends prepared bodies: the client's JSON
    # encoding is not the node's work, and this client shares the node's cores.
    bodies = [json.dumps(doc).encode() for doc in docs]
    warm_doc = documents(20_000_000, 100, 100)[0]
    port = free_port()
    node = init_node(workdir / "http", "bench-http", [], port=port)
    token = node.operator_token
    node.close()
    ledger = Ledger.open(f"sqlite:///{workdir / 'raw.db'}", keys.generate(), "bench/raw")
    proc = start_node(workdir / "http", port)
    http_seconds = raw_seconds = 0.0
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/ld+json"}
            http.post("/epcis/capture", json=warm_doc, headers=headers).raise_for_status()
            ledger.append_many(
                [("epcis.event", event_payload(e, warm_doc["@context"]))
                 for e in parse_document(warm_doc).events]
            )  # fmt: skip
            step = max(1, len(docs) // CAPTURE_TURNS)
            for first in range(0, len(docs), step):
                start = time.perf_counter()
                for body in bodies[first : first + step]:
                    http.post("/epcis/capture", content=body, headers=headers).raise_for_status()
                http_seconds += time.perf_counter() - start
                start = time.perf_counter()
                for batch in payloads[first : first + step]:
                    ledger.append_many(batch)
                raw_seconds += time.perf_counter() - start
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        ledger.engine.dispose()
    report.add(
        Figure(
            "capture over HTTP, documents of 100 events",
            total / http_seconds, "events/s", total / raw_seconds,
            "Ledger.append_many of the same payloads", goal=0.5,
        )
    )  # fmt: skip


def bench_trace(report: Report, workdir: Path, total: int, samples: int) -> None:
    node = init_node(workdir / "graph", "bench-graph", [], port=9)
    try:
        start = time.perf_counter()
        done = 0
        for doc in iter_documents(0, total, 5000):
            done += len(capture_document(node, doc))
        build = time.perf_counter() - start
        report.note(
            f"trace graph: {done:,} events ({done // FAMILY:,} families of {FAMILY}) captured "
            f"in process in documents of 5,000 in {build:.0f} s ({done / build:,.0f} events/s)"
        )
        families = done // FAMILY
        rng = random.Random(7)
        picks = [rng.randrange(families) for _ in range(samples)]
        times = measure(node, picks)
        times.sort()
        p50 = times[len(times) // 2]
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        report.add(Figure(f"trace p50, depth 10, {done:,}-event graph", p50, "s"))
        report.add(
            Figure(f"trace p99, depth 10, {done:,}-event graph", p99, "s", 0.050,
                   "goal 50 ms", goal=1.0, at_most=True)
        )  # fmt: skip
    finally:
        node.close()


def measure(node: Node, picks: list[int]) -> list[float]:
    times = []
    for family in picks:
        key = object_key(f"urn:epc:id:sscc:4012345.{family:010d}")
        start = time.perf_counter()
        graph = trace(node, TraceRequest(key, "upstream", 10), SELF)
        times.append(time.perf_counter() - start)
        assert len(graph["nodes"]) == 11, len(graph["nodes"])  # carton + 10 lots
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--graph-events", type=int, default=1_000_000)
    parser.add_argument("--capture-events", type=int, default=3_000)
    parser.add_argument("--samples", type=int, default=500)
    parser.add_argument("--no-write", action="store_true", help="do not append to the docs")
    parser.add_argument(
        "--capture-only", action="store_true", help="skip the trace section (not written)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.graph_events, args.capture_events, args.samples = 2_400, 500, 50
    report = Report("bench/events.py", "quick" if args.quick else "full")
    load_before = _report.load_average()
    workdir = Path(tempfile.mkdtemp(prefix="tracespace-bench-events-"))
    try:
        report.section("1. Capture over HTTP vs raw ledger append")
        bench_capture(report, workdir, args.capture_events)
        if not args.capture_only:
            report.section("2. Trace latency")
            bench_trace(report, workdir, args.graph_events, args.samples)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report.facts = {
        **_report.machine_facts(),
        "load average before / after": f"{load_before} / {_report.load_average()}",
    }
    report.notes[:0] = [
        "Capture: a real node process (uvicorn) on loopback, SQLite, one operator client "
        "posting EPCISDocuments (JSON-encoded before the clock starts) of 100 "
        "ObjectEvent/TransformationEvent/AggregationEvent "
        "events; every event is schema- and CBV-validated, hashed (Event Hash ID), signed, "
        "ledgered and indexed. The reference appends the very same payloads with "
        "Ledger.append_many in batches of 100 (no HTTP, no validation, no index). The two "
        f"take {CAPTURE_TURNS} turns each (a tenth of the documents at a time), so the "
        "machine's drift over the run hits both alike.",
        "Trace: upstream from a random carton, depth 10 (carton -> 10 lots via packing and "
        "9 transformations), in process on the node's SQLite database, no partner hops.",
    ]
    print(report.summary())
    if not (args.no_write or args.quick or args.capture_only):
        print(f"\nappended to {report.append_to()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
