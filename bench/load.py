"""Load test: resolution, capture and trace at once against one real node, on loopback only.

A `tracespace serve` process is started on 127.0.0.1; asyncio workers drive handle
resolution, EPCIS capture and trace concurrently for `--seconds` (60 by default), each
bounded also by `--max-requests`. It reports throughput and p99 per operation and in total,
fails if any request got a 5xx or the ledger does not verify afterwards, and appends the
run to docs/benchmarks.md (`--no-write` to skip).

Example: .venv/bin/python bench/load.py --seconds 60
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
import asyncio  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402

from bench import _report  # noqa: E402
from bench._report import Figure, Report  # noqa: E402
from connector.demo import free_port, start_node  # noqa: E402
from connector.events import example as ex  # noqa: E402
from connector.node import init_node  # noqa: E402
from ledger.verify import verify_database  # noqa: E402

PREFIX = "88.100.1"
HANDLES = 200
WORKERS = {"resolve": 4, "capture": 2, "trace": 2}


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else 0.0


def capture_doc(worker: int, i: int) -> dict[str, Any]:
    lot = f"urn:epc:class:lgtin:4012345.012345.L{worker}-{i}"
    return ex.document(
        [
            ex.event(
                "ObjectEvent", i / 60, action="ADD", bizStep="commissioning",
                quantityList=[ex.qty(lot, 10)], bizLocation=ex.place(ex.PLANT),
            ),
            ex.event(
                "TransformationEvent", i / 60 + 0.01, bizStep="creating_class_instance",
                inputQuantityList=[ex.qty(lot, 10)],
                outputQuantityList=[ex.qty(lot + "X", 10)], bizLocation=ex.place(ex.PLANT),
            ),
        ]
    )  # fmt: skip


async def seed(http: httpx.AsyncClient) -> None:
    for i in range(HANDLES):
        r = await http.put(
            f"/api/handles/{PREFIX}/item-{i}",
            json={
                "values": [
                    {
                        "index": 1,
                        "type": "URL",
                        "data": {"format": "string", "value": f"https://example.org/{i}"},
                    }
                ]
            },
        )
        r.raise_for_status()
    r = await http.post("/epcis/capture", json=ex.document(ex.resin_plant("did:web:mill")))
    r.raise_for_status()


async def worker(
    kind: str,
    n: int,
    http: httpx.AsyncClient,
    stop_at: float,
    budget: list[int],
    times: dict[str, list[float]],
    codes: dict[str, dict[int, int]],
) -> None:
    i = 0
    while time.monotonic() < stop_at and budget[0] > 0:
        budget[0] -= 1
        i += 1
        started = time.perf_counter()
        if kind == "resolve":
            r = await http.get(f"/api/handles/{PREFIX}/item-{(n * 7919 + i) % HANDLES}")
        elif kind == "capture":
            r = await http.post("/epcis/capture", json=capture_doc(n, i))
        else:
            r = await http.get(f"/trace/{ex.RESIN_A}", params={"direction": "upstream"})
        times[kind].append(time.perf_counter() - started)
        codes[kind][r.status_code] += 1


async def drive(base: str, token: str, seconds: float, max_requests: int) -> tuple[Any, Any]:
    times: dict[str, list[float]] = defaultdict(list)
    codes: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    limits = httpx.Limits(max_connections=16)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30, limits=limits) as http:
        await seed(http)
        stop_at = time.monotonic() + seconds
        budget = [max_requests]
        await asyncio.gather(
            *(
                worker(kind, n, http, stop_at, budget, times, codes)
                for kind, count in WORKERS.items()
                for n in range(count)
            )
        )
    return times, codes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--no-write", action="store_true", help="do not append to the docs")
    args = parser.parse_args(argv)
    report = Report("bench/load.py", "full" if args.seconds >= 60 else "quick")
    load_before = _report.load_average()
    workdir = Path(tempfile.mkdtemp(prefix="tracespace-bench-load-"))
    port = free_port()
    node = init_node(workdir / "n", "loadtest", [PREFIX], port=port)
    token, url = node.operator_token, node.config.database
    node.close()
    proc = start_node(workdir / "n", port)
    try:
        started = time.monotonic()
        times, codes = asyncio.run(
            drive(f"http://127.0.0.1:{port}", token, args.seconds, args.max_requests)
        )
        elapsed = time.monotonic() - started
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    verified = verify_database(url)
    shutil.rmtree(workdir, ignore_errors=True)
    report.section(f"Mixed load for {args.seconds:.0f} s ({elapsed:.1f} s with seeding)")
    total = 0
    server_errors = 0
    all_times: list[float] = []
    for kind in WORKERS:
        n = len(times[kind])
        total += n
        all_times += times[kind]
        server_errors += sum(c for code, c in codes[kind].items() if code >= 500)
        report.add(Figure(f"{kind}: throughput", n / args.seconds, "req/s"))
        report.add(Figure(f"{kind}: p99 latency", p99(times[kind]), "s"))
    report.add(Figure("total: throughput", total / args.seconds, "req/s"))
    report.add(Figure("total: p99 latency", p99(all_times), "s"))
    statuses = {k: dict(v) for k, v in codes.items()}
    report.note(
        f"One node process (uvicorn, SQLite) on 127.0.0.1; asyncio+httpx client in another "
        f"process; workers {WORKERS} (resolve = GET /api/handles of {HANDLES} seeded handles, "
        "capture = POST /epcis/capture of 2-event documents, trace = GET /trace upstream "
        f"of a seeded lot). Status codes: {statuses}. 5xx: {server_errors}. Ledger verified "
        f"after the run: {'yes' if verified.ok else 'NO: ' + str(verified.error)}."
    )
    report.facts = {
        **_report.machine_facts(),
        "load average before / after": f"{load_before} / {_report.load_average()}",
    }
    if not args.no_write:
        print(f"\nappended to {report.append_to()}")
    if server_errors or not verified.ok:
        print("FAILED: 5xx answers or an unverifiable ledger", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
