"""Benchmark contracts (issue 6, section 7): DSP negotiation + transfer, and policy evaluation.

1. Negotiation plus transfer between two real node processes over loopback: the consumer's
   operator starts a negotiation (auto-approved offer), waits for FINALIZED (long poll),
   starts a pull transfer and waits for STARTED. Median and p99 latency (goal: median
   ≤ 100 ms, compared with 100 ms as the reference), sequential negotiations per second,
   and with 4 concurrent operators.
2. Policy evaluations per second of a realistic agreement (count, purpose, partner role,
   time window, a prohibition) against the floor: raw `evaluate` of a one-constraint policy.

Run from the repo root: `.venv/bin/python bench/contracts.py [--quick] [--no-write]`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from bench._report import Figure, Report, machine_facts
from connector.dsp.loopback import LoopbackNode, running
from policies import Request, evaluate, parse_policy

LATENCY_GOAL_S = 0.100
AGREEMENT = {
    "@id": "urn:bench:agreement",
    "@type": "Agreement",
    "target": "pcf",
    "assigner": "did:web:provider",
    "assignee": "did:web:consumer",
    "permission": [
        {
            "action": "use",
            "constraint": [
                {"leftOperand": "count", "operator": "lteq", "rightOperand": "1000"},
                {
                    "leftOperand": "purpose",
                    "operator": "isAnyOf",
                    "rightOperand": ["ts:qualityControl", "ts:carbonReporting"],
                },
                {"leftOperand": "ts:partnerRole", "operator": "eq", "rightOperand": "ts:supplier"},
                {"leftOperand": "elapsedTime", "operator": "lteq", "rightOperand": "P90D"},
            ],
        }
    ],
    "prohibition": [{"action": "distribute"}],
}
FLOOR = {
    "@id": "urn:bench:floor",
    "@type": "Set",
    "permission": [
        {
            "action": "use",
            "constraint": [{"leftOperand": "count", "operator": "lteq", "rightOperand": "1000"}],
        }
    ],
}


def setup(provider: LoopbackNode) -> None:
    document = {"pcf": {"value": 2.5, "unit": "kgCO2e/kg"}}
    provider.call(
        "POST",
        "/management/assets",
        201,
        json={"id": "pcf", "kind": "json-document", "source": {"document": document}},
    )
    provider.call(
        "POST",
        "/management/policies",
        201,
        json={"id": "open", "policy": {"permission": [{"action": "use"}]}},
    )
    provider.call(
        "POST",
        "/management/contract-definitions",
        201,
        json={"id": "d", "policy": "open", "assets": ["pcf"]},
    )


def one_round(consumer: LoopbackNode, provider_did: str, offer: dict) -> float:
    start = time.perf_counter()
    n = consumer.call(
        "POST", "/management/negotiations", 201, json={"peer": provider_did, "offer": offer}
    ).json()
    n = consumer.call(
        "GET",
        f"/management/negotiations/{n['id']}",
        200,
        params={"wait": "FINALIZED", "timeout": "30"},
    ).json()
    if n["state"] != "FINALIZED":
        raise RuntimeError(f"negotiation ended {n['state']}: {n['reason']}")
    t = consumer.call(
        "POST", "/management/transfers", 201, json={"agreement": n["agreement"]}
    ).json()
    t = consumer.call(
        "GET", f"/management/transfers/{t['id']}", 200, params={"wait": "STARTED", "timeout": "30"}
    ).json()
    if t["state"] != "STARTED":
        raise RuntimeError(f"transfer ended {t['state']}: {t['reason']}")
    return time.perf_counter() - start


def negotiation_figures(report: Report, rounds: int) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        running(Path(tmp), ["provider", "consumer"]) as (
            provider,
            consumer,
        ),
    ):
        setup(provider)
        catalog = consumer.call(
            "POST", "/management/catalog", 200, json={"peer": provider.did}
        ).json()["catalog"]
        offer = {**catalog["dataset"][0]["hasPolicy"][0], "target": "pcf"}
        for _ in range(3):  # warm-up: connections, caches
            one_round(consumer, provider.did, offer)
        times = sorted(one_round(consumer, provider.did, offer) for _ in range(rounds))
        median = statistics.median(times)
        p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
        report.add(
            Figure(
                "negotiation + transfer, median",
                median,
                "s",
                LATENCY_GOAL_S,
                "goal 100 ms",
                goal=1.0,
                at_most=True,
            )
        )
        report.add(Figure("negotiation + transfer, p99", p99, "s"))
        report.add(
            Figure(
                "negotiations + transfers per second, 1 operator", 1 / statistics.mean(times), "/s"
            )
        )
        parallel = 4
        began = time.perf_counter()
        with ThreadPoolExecutor(parallel) as pool:
            list(pool.map(lambda _: one_round(consumer, provider.did, offer), range(rounds)))
        rate = rounds / (time.perf_counter() - began)
        report.add(Figure(f"negotiations + transfers per second, {parallel} operators", rate, "/s"))
        report.note(
            f"{rounds} sequential rounds after 3 warm-up rounds; each round is 4 management "
            "calls (start, long-poll FINALIZED, start transfer, long-poll STARTED) and 6 signed "
            "DSP messages between the nodes, every one validated (JSON Schema + JSON-LD) and "
            "ledgered on both sides. Durable (fsync) commits: each state change and ledger "
            "entry; peer-token ids and delivered-outbox deletions commit without waiting for "
            "the disk (see connector/peers.py, connector/dsp/service.py)."
        )


def evaluation_figures(report: Report, count: int) -> None:
    policy = parse_policy(AGREEMENT)
    floor = parse_policy(FLOOR)
    now = datetime.now(UTC)
    request = Request(
        target="pcf",
        assignee="did:web:consumer",
        purpose="ts:qualityControl",
        partner_role="ts:supplier",
        access_count=5,
        now=now,
        agreement_start=now - timedelta(days=3),
    )
    assert evaluate(policy, request).permitted
    began = time.perf_counter()
    for _ in range(count):
        evaluate(floor, request)
    floor_rate = count / (time.perf_counter() - began)
    began = time.perf_counter()
    for _ in range(count):
        evaluate(policy, request)
    rate = count / (time.perf_counter() - began)
    report.add(
        Figure(
            "policy evaluations per second (4 constraints + prohibition)",
            rate,
            "/s",
            floor_rate,
            "one-constraint evaluate",
        )
    )
    report.add(Figure("policy evaluations per second (one constraint, floor)", floor_rate, "/s"))


def _load_average() -> str:
    """The 1, 5 and 15 minute load averages (the machine may be shared)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--no-write", action="store_true", help="do not append to the docs")
    args = parser.parse_args()
    report = Report("bench/contracts.py", "quick" if args.quick else "full")
    report.facts.update(machine_facts())
    report.facts["load average before"] = _load_average()
    report.section("Negotiation + transfer between two nodes on loopback")
    negotiation_figures(report, 20 if args.quick else 100)
    report.section("Policy evaluation")
    evaluation_figures(report, 20_000 if args.quick else 100_000)
    report.facts["load average after"] = _load_average()
    print(report.summary())
    if not args.no_write:
        print(f"\nappended to {report.append_to()}")


if __name__ == "__main__":
    main()
