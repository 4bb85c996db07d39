"""Benchmark the identifier registry and resolver (issue 3, section 8).

1. HTTP resolves per second on loopback (`GET /api/handles/{prefix}/{suffix}` of random
   registered handles, one keep-alive client per server, sequential requests) with p50 and
   p99, against a bare FastAPI endpoint returning a constant, served the same way (uvicorn in
   a subprocess, same client, same requests). The two servers take turns in blocks of
   requests, so both see the same load on a shared machine. Goal: ≥ 0.6 × the bare
   endpoint, p99 ≤ 20 ms.
2. In-process resolves per second (`Registry.resolve`, HS_ALIAS check included) with 1M
   handles registered under one GTIN: cold (record cache off, uniformly random handles,
   every lookup reads SQLite), and with the record cache (coherent on SQLite: every lookup
   checks `PRAGMA data_version`) on a Zipf-distributed stream over all 1M handles and on a
   hot set of 1,000. Goal ≥ 50,000/s; both the cold and the cached figure are judged. Also
   GS1 lookups (`gs1_record`) of random serials.
3. Bulk registration rate: serials per second of `register_serials`, 100,000 per call.

Run from the repo root: `.venv/bin/python bench/identifiers.py [--quick] [--no-write]`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
# This file is named identifiers.py: keep its folder off sys.path so `identifiers` is the package.
sys.path[:] = [p for p in sys.path if Path(p or os.getcwd()).resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import textwrap  # noqa: E402
import time  # noqa: E402

import httpx  # noqa: E402

from bench._report import Figure, Report, machine_facts  # noqa: E402
from connector.demo import free_port  # noqa: E402
from connector.node import init_node  # noqa: E402
from identifiers.canonical import gs1_to_handle  # noqa: E402
from identifiers.digital_link import DigitalLink  # noqa: E402
from identifiers.handle import Handle  # noqa: E402
from identifiers.registry import Registry  # noqa: E402

PREFIX = "88.100.1"
GTIN = "09506000134376"
HTTP_GOAL = 0.6
P99_GOAL = 0.020
INPROCESS_GOAL = 50_000
SEED = 3650
ZIPF_S = 1.0

BARE_APP = textwrap.dedent(
    """
    import sys, uvicorn
    from fastapi import FastAPI
    from fastapi.responses import Response
    app = FastAPI()
    BODY = b'{"responseCode":1,"handle":"x","values":[]}'

    @app.get("/api/handles/{handle:path}")
    async def constant(handle: str) -> Response:
        return Response(BODY, media_type="application/json")

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
                access_log=False)
    """
)


def serials(lot: int, count: int) -> list[str]:
    return [f"{lot:02d}{n:06d}" for n in range(count)]


def batch(lot: int) -> DigitalLink:
    return DigitalLink.parse(f"/01/{GTIN}/10/L{lot:02d}")


def handle_of(lot: int, serial: str) -> Handle:
    link = DigitalLink.parse(f"/01/{GTIN}/10/L{lot:02d}/21/{serial}")
    return gs1_to_handle(link, PREFIX)


def wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def http_run(
    bases: list[str], paths: list[str], block: int = 250
) -> list[tuple[float, float, float]]:
    """(requests/s, p50 s, p99 s) per server of sequential GETs on one keep-alive client
    each; the servers take turns in blocks of `block` requests (first server first in even
    blocks, last first in odd ones), so a load spike on the machine hits all of them."""
    clients = [httpx.Client(base_url=base, timeout=10) for base in bases]
    latencies: list[list[float]] = [[] for _ in bases]
    elapsed = [0.0 for _ in bases]
    try:
        for client in clients:
            for path in paths[:200]:  # warm-up
                client.get(path)
        for number, start in enumerate(range(0, len(paths), block)):
            order = list(range(len(bases)))
            if number % 2:
                order.reverse()
            for which in order:
                client, spent = clients[which], latencies[which]
                began = time.perf_counter()
                for path in paths[start : start + block]:
                    t0 = time.perf_counter()
                    r = client.get(path)
                    spent.append(time.perf_counter() - t0)
                    if r.status_code != 200:
                        raise RuntimeError(f"{path}: HTTP {r.status_code}")
                elapsed[which] += time.perf_counter() - began
    finally:
        for client in clients:
            client.close()
    results = []
    for spent, seconds in zip(latencies, elapsed, strict=True):
        spent.sort()
        p99 = spent[int(len(spent) * 0.99) - 1]
        results.append((len(spent) / seconds, statistics.median(spent), p99))
    return results


def bench_http(report: Report, folder: Path, lots: int, per_lot: int, requests: int) -> None:
    report.section("HTTP resolves on loopback (sequential, one keep-alive client)")
    rng = random.Random(SEED)
    paths = []
    for _ in range(requests):
        lot = rng.randrange(lots)
        paths.append(f"/api/handles/{handle_of(lot, f'{lot:02d}{rng.randrange(per_lot):06d}')}")
    bare_port, node_port = free_port(), free_port()
    bare = subprocess.Popen([sys.executable, "-c", BARE_APP, str(bare_port)])
    node = subprocess.Popen(
        [sys.executable, "-m", "connector", "serve", "--dir", str(folder), "--port", str(node_port)]
    )
    try:
        wait_up(f"http://127.0.0.1:{bare_port}/api/handles/x/y", bare)
        wait_up(f"http://127.0.0.1:{node_port}/healthz", node)
        best_floor, best_ours = http_run(
            [f"http://127.0.0.1:{bare_port}", f"http://127.0.0.1:{node_port}"], paths
        )
    finally:
        for proc in (bare, node):
            proc.terminate()
            proc.wait(timeout=10)
    report.add(
        Figure(
            "handle resolves/s over HTTP",
            best_ours[0],
            "req/s",
            best_floor[0],
            "bare FastAPI constant",
            HTTP_GOAL,
        )
    )
    report.add(
        Figure(
            "p50 latency, handle resolve", best_ours[1], "s", best_floor[1], "bare FastAPI constant"
        )
    )
    report.add(
        Figure(
            "p99 latency, handle resolve",
            best_ours[2],
            "s",
            P99_GOAL,
            "goal 20 ms",
            1.0,
            at_most=True,
        )
    )
    report.add(Figure("p99 latency, bare FastAPI constant", best_floor[2], "s"))


def zipf_stream(rng: random.Random, lots: int, per_lot: int, count: int) -> list[Handle]:
    """`count` handles drawn with Zipf(`ZIPF_S`) popularity over all `lots * per_lot`
    registered handles; ranks map to handles through a fixed pseudo-random permutation."""
    total = lots * per_lot
    cumulative, running = [], 0.0
    for rank in range(1, total + 1):
        running += rank**-ZIPF_S
        cumulative.append(running)
    ranks = rng.choices(range(total), cum_weights=cumulative, k=count)
    stride = 7_919_993  # prime, coprime with any total here: rank -> a scattered handle
    picks = [(r * stride) % total for r in ranks]
    return [handle_of(p // per_lot, f"{p // per_lot:02d}{p % per_lot:06d}") for p in picks]


def bench_inprocess(
    report: Report, registry: Registry, lots: int, per_lot: int, lookups: int
) -> None:
    total = lots * per_lot
    report.section(f"In-process resolves with {total:,} handles under one GTIN")
    rng = random.Random(SEED + 1)
    picks = [(lot, rng.randrange(per_lot)) for lot in (rng.randrange(lots) for _ in range(lookups))]
    names = [handle_of(lot, f"{lot:02d}{n:06d}") for lot, n in picks]
    registry._cache.seconds = 0  # no record cache: every lookup reads SQLite
    start, cpu = time.perf_counter(), time.process_time()
    for name in names:
        if registry.resolve(name) is None:
            raise RuntimeError(f"{name} not found")
    uncached = lookups / (time.perf_counter() - start)
    uncached_cpu = lookups / (time.process_time() - cpu)
    report.add(
        Figure(
            "Registry.resolve/s, random handle, cold (no cache)",
            uncached,
            "ops/s",
            INPROCESS_GOAL,
            "goal 50,000/s",
            1.0,
        )
    )
    report.add(
        Figure(
            "Registry.resolve per CPU second, random handle, cold (no cache)",
            uncached_cpu,
            "ops/s",
            uncached,
            "wall-clock rate",
        )
    )
    registry._cache.seconds = 1.0
    registry.invalidate()
    stream = zipf_stream(rng, lots, per_lot, lookups)
    for name in stream[: lookups // 2]:  # warm-up: the cache fills as a running node's would
        registry.resolve(name)
    start = time.perf_counter()
    for name in stream[lookups // 2 :]:
        registry.resolve(name)
    zipf = (lookups - lookups // 2) / (time.perf_counter() - start)
    report.add(
        Figure(
            f"Registry.resolve/s, Zipf(s={ZIPF_S}) over all handles, coherent record cache",
            zipf,
            "ops/s",
            INPROCESS_GOAL,
            "goal 50,000/s",
            1.0,
        )
    )
    hot = names[:1000]
    for name in hot:
        registry.resolve(name)
    start = time.perf_counter()
    for _ in range(lookups // len(hot)):
        for name in hot:
            registry.resolve(name)
    cached = (lookups // len(hot)) * len(hot) / (time.perf_counter() - start)
    report.add(
        Figure(
            "Registry.resolve/s, hot set of 1,000, coherent record cache",
            cached,
            "ops/s",
            uncached,
            "cold",
        )
    )
    links = [
        DigitalLink.parse(f"/01/{GTIN}/10/L{lot:02d}/21/{lot:02d}{n:06d}")
        for lot, n in picks[: lookups // 4]
    ]
    start = time.perf_counter()
    for link in links:
        if registry.gs1_record(link) is None:
            raise RuntimeError(f"{link.path()} not found")
    gs1 = len(links) / (time.perf_counter() - start)
    report.add(Figure("Registry.gs1_record/s, random serial", gs1, "ops/s"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k handles, fewer requests")
    parser.add_argument("--no-write", action="store_true", help="do not append to the docs")
    parser.add_argument("--docs", type=Path, default=None, help="benchmarks file to append to")
    args = parser.parse_args()
    lots, per_lot = (1, 100_000) if args.quick else (10, 100_000)
    requests = 1000 if args.quick else 5000
    report = Report("bench/identifiers.py", "quick" if args.quick else "full")
    report.facts.update(machine_facts())
    report.facts["load average before"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    with tempfile.TemporaryDirectory(prefix="tracespace-bench-id-") as tmp:
        folder = Path(tmp) / "node"
        node = init_node(folder, "bench", [PREFIX])
        registry = Registry(node.ledger, [PREFIX], public_url=node.config.public_url)
        report.section("Bulk registration (one call per 100,000 serials, SQLite, synchronous=FULL)")
        rates = []
        for lot in range(lots):
            start = time.perf_counter()
            result = registry.register_serials(batch(lot), serials(lot, per_lot))
            rates.append(result.count / (time.perf_counter() - start))
            print(f"  lot {lot}: {result.count:,} serials, {rates[-1]:,.0f}/s", flush=True)
        report.add(
            Figure(
                "bulk registration, serials/s (median over calls)",
                statistics.median(rates),
                "serials/s",
            )
        )
        report.note(
            f"registry holds {registry.count():,} handles, ledger {node.ledger.size:,} entries "
            "(one per chunk of 1,000 handles)"
        )
        bench_inprocess(report, registry, lots, per_lot, 100_000 if not args.quick else 20_000)
        node.close()
        bench_http(report, folder, lots, per_lot, requests)
    report.facts["load average after"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    report.note(
        "record cache: in-process LRU (200,000 entries) of decoded records by handle, misses "
        "too; coherent on SQLite: each lookup reads PRAGMA data_version, and when another "
        "connection has committed, drops the handles id_handle_change lists since the last "
        "check (all entries after a bulk run); own writes drop their handles. The Zipf figure "
        "is measured after a warm-up of the same length. The HTTP figures run with it "
        "(uniformly random handles, so mostly misses)"
    )
    print(report.summary())
    if not args.no_write:
        path = report.append_to(args.docs) if args.docs else report.append_to()
        print(f"\nappended to {path}")


if __name__ == "__main__":
    main()
