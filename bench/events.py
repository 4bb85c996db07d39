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
import http.client  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from typing import Any  # noqa: E402

from bench import _report  # noqa: E402
from bench._report import Figure, Report  # noqa: E402
from connector.demo import free_port, start_node  # noqa: E402
from connector.events import example as ex  # noqa: E402
from connector.events.access import SELF  # noqa: E402
from connector.events.capture import capture_document, event_payload  # noqa: E402
from connector.events.objects import object_key  # noqa: E402
from connector.events.pipeline import Preparer, default_workers  # noqa: E402
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


class CaptureClient:
    """A keep-alive HTTP/1.1 client posting prepared bodies, as a load generator does.

    Plain `http.client`: the client shares the node's two cores, and a lighter client takes
    less of them (httpx costs about 3 ms of CPU per request here).
    """

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/ld+json"}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def post(self, body: bytes) -> None:
        try:
            response = self._send(body)
        except (http.client.RemoteDisconnected, ConnectionError):
            self.conn.close()  # the node closed an idle keep-alive connection: reconnect
            response = self._send(body)
        answer = response.read()
        if response.status != 200:
            raise RuntimeError(f"capture answered {response.status}: {answer[:300]!r}")

    def _send(self, body: bytes) -> http.client.HTTPResponse:
        self.conn.request("POST", "/epcis/capture", body=body, headers=self.headers)
        return self.conn.getresponse()

    def close(self) -> None:
        self.conn.close()


def bench_capture(report: Report, workdir: Path, total: int) -> None:
    docs = documents(10_000_000, total, 100)
    # The same payloads the capture writes, for the raw appends (built untimed).
    payloads = []
    for doc in docs:
        model = parse_document(doc)
        payloads.append([("epcis.event", event_payload(e, doc["@context"])) for e in model.events])
    # Encoded beforehand, as a load generator sends prepared bodies: the client's JSON
    # encoding is not the node's work, and this client shares the node's cores. Each node
    # gets the same events under other ids (a node refuses nothing twice, but a duplicate
    # would cost it less).
    sent = [
        [json.dumps(doc).encode() for doc in docs],
        [json.dumps(doc).encode() for doc in documents(30_000_000, total, 100)],
        [json.dumps(doc).encode() for doc in documents(40_000_000, total, 100)],
    ]
    clients = [1, 1, CONCURRENT_CLIENTS]
    ledger = Ledger.open(f"sqlite:///{workdir / 'raw.db'}", keys.generate(), "bench/raw")
    nodes = [
        _start_capture_node(workdir / "helped", [], 1),
        _start_capture_node(workdir / "inline", ["--capture-workers", "0"], 1),
        _start_capture_node(workdir / "concurrent", [], CONCURRENT_CLIENTS),
    ]
    seconds = [0.0] * len(nodes)
    raw_seconds = 0.0
    try:
        for n, (_proc, load) in enumerate(nodes):
            load.post_all(
                [json.dumps(d).encode() for d in documents(20_000_000 + n * 1_000_000, 500, 100)]
            )
        ledger.append_many(
            [("epcis.event", event_payload(e, docs[0]["@context"]))
             for e in parse_document(documents(25_000_000, 100, 100)[0]).events]
        )  # fmt: skip
        step = max(1, len(docs) // CAPTURE_TURNS)
        for first in range(0, len(docs), step):
            for n, (_proc, load) in enumerate(nodes):
                start = time.perf_counter()
                load.post_all(sent[n][first : first + step])
                seconds[n] += time.perf_counter() - start
            start = time.perf_counter()
            for batch in payloads[first : first + step]:
                ledger.append_many(batch)
            raw_seconds += time.perf_counter() - start
    finally:
        for proc, load in nodes:
            load.close()
            proc.terminate()
            proc.wait(timeout=10)
        ledger.engine.dispose()
    raw_rate = total / raw_seconds
    labels = [
        "capture over HTTP, documents of 100 events",
        "same, preparation inline (serve --capture-workers 0)",
        f"same, {clients[2]} clients posting at once",
    ]
    for n, label in enumerate(labels):
        report.add(
            Figure(
                label, total / seconds[n], "events/s", raw_rate,
                "Ledger.append_many of the same payloads", goal=0.5 if n == 0 else None,
            )
        )  # fmt: skip


CONCURRENT_CLIENTS = 4


class CaptureLoad:
    """`clients` keep-alive clients posting a list of bodies between them, each its share
    in order (one client: the bodies one after the other)."""

    def __init__(self, port: int, token: str, clients: int) -> None:
        self.clients = [CaptureClient(port, token) for _ in range(clients)]

    def post_all(self, bodies: list[bytes]) -> None:
        if len(self.clients) == 1:
            for body in bodies:
                self.clients[0].post(body)
            return
        with ThreadPoolExecutor(len(self.clients)) as pool:
            count = len(self.clients)
            posting = [
                pool.submit(self._post, client, bodies[n::count])
                for n, client in enumerate(self.clients)
            ]
            for done in posting:
                done.result()  # a refused capture fails the benchmark

    @staticmethod
    def _post(client: CaptureClient, bodies: list[bytes]) -> None:
        for body in bodies:
            client.post(body)

    def close(self) -> None:
        for client in self.clients:
            client.close()


def _start_capture_node(folder: Path, options: list[str], clients: int) -> tuple[Any, CaptureLoad]:
    port = free_port()
    node = init_node(folder, f"bench-{folder.name}", [], port=port)
    token = node.operator_token
    node.close()
    proc = start_node(folder, port, options)
    return proc, CaptureLoad(port, token, clients)


def bench_trace(report: Report, workdir: Path, total: int, samples: int) -> None:
    node = init_node(workdir / "graph", "bench-graph", [], port=9)
    try:
        start = time.perf_counter()
        done = 0
        with Preparer(default_workers()) as preparer:
            preparer.start(timeout=60)
            for doc in iter_documents(0, total, 5000):
                done += len(capture_document(node, doc, preparer=preparer))
        build = time.perf_counter() - start
        report.note(
            f"trace graph: {done:,} events ({done // FAMILY:,} families of {FAMILY}) captured "
            f"in process in documents of 5,000, with {default_workers()} capture helper(s), in "
            f"{build:.0f} s ({done / build:,.0f} events/s)"
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
        "Capture: real node processes (`tracespace serve`, uvicorn) on loopback, SQLite, one "
        "operator client (keep-alive http.client) posting EPCISDocuments (JSON-encoded "
        "before the clock starts) of 100 ObjectEvent/TransformationEvent/AggregationEvent "
        "events; every event is schema- and CBV-validated, hashed (Event Hash ID), signed, "
        "ledgered and indexed. The first node runs with serve's defaults (on 2 cores: one "
        "helper process prepares events while the node appends), the second prepares "
        f"inline, the third (serve's defaults) takes the documents from {CONCURRENT_CLIENTS} "
        "clients posting at once. The reference appends the very same payloads with "
        "Ledger.append_many in batches of 100 (no HTTP, no validation, no index). The four "
        f"take {CAPTURE_TURNS} turns each (a tenth of the documents at a time), so the "
        "machine's drift over the run hits all alike.",
        "Trace: upstream from a random carton, depth 10 (carton -> 10 lots via packing and "
        "9 transformations), in process on the node's SQLite database, no partner hops.",
    ]
    print(report.summary())
    if not (args.no_write or args.quick or args.capture_only):
        print(f"\nappended to {report.append_to()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
