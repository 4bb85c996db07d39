"""Capture writes a document's index in batches: containment windows must come out as if every
event were applied on its own, in document order, whatever the document boundaries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from connector.events import example as ex
from connector.events.capture import capture_document
from connector.events.tables import OPEN_END, OPEN_START, containment_table, micros
from connector.node import Node, init_node
from schemas.epcis import canonical_object_id

CARTONS = ["urn:epc:id:sscc:4012345.0000000001", "urn:epc:id:sscc:4012345.0000000002"]
ITEMS = ["urn:epc:id:sgtin:4012345.011111.1", "urn:epc:id:sgtin:4012345.011111.2"]

Step = tuple[str, int, int, int]  # action, carton index, item index, hour
Window = tuple[str, str, int, int, int | None, int | None]


def _event(step: Step) -> dict:
    action, carton, item, hour = step
    return ex.event(
        "AggregationEvent", hour, action=action, parentID=CARTONS[carton], childEPCs=[ITEMS[item]]
    )


def expected_windows(steps: list[Step], first_seq: int) -> list[Window]:
    """The containment rules of `connector.events.capture`, applied one event at a time."""
    rows: list[list] = []  # [parent, child, start, end, start_seq, end_seq], in creation order
    for seq, (action, carton, item, hour) in enumerate(steps, first_seq):
        parent = canonical_object_id(CARTONS[carton])
        child = canonical_object_id(ITEMS[item])
        at = micros(ex.T0) + hour * 3_600_000_000
        pair = [r for r in rows if r[0] == parent and r[1] == child]
        if action == "ADD":
            early = next((r for r in pair if r[2] == OPEN_START and r[3] >= at), None)
            if early is not None:
                early[2], early[4] = at, seq
            elif not any(r[3] == OPEN_END for r in pair):
                rows.append([parent, child, at, OPEN_END, seq, None])
        elif action == "DELETE":
            open_rows = [r for r in pair if r[2] <= at and r[3] == OPEN_END]
            if open_rows:
                last = max(open_rows, key=lambda r: r[2])
                last[3], last[5] = at, seq
            else:
                rows.append([parent, child, OPEN_START, at, None, seq])
        elif not any(r[2] <= at < r[3] for r in pair):
            rows.append([parent, child, at, at + 1, seq, seq])
    return sorted(tuple(r) for r in rows)


def stored_windows(node: Node) -> list[Window]:
    c = containment_table.c
    with node.engine.connect() as conn:
        rows = conn.execute(select(c.parent, c.child, c.start, c.end, c.start_seq, c.end_seq))
        return sorted(tuple(r) for r in rows)


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Node]]:
    made: list[Node] = []

    def make() -> Node:
        node = init_node(tmp_path_factory.mktemp("n") / "n", f"n{len(made)}", [], port=9)
        made.append(node)
        return node

    yield make  # type: ignore[misc]
    for node in made:
        node.close()


_STEPS = st.lists(
    st.tuples(
        st.sampled_from(["ADD", "DELETE", "OBSERVE"]),
        st.integers(0, 1),
        st.integers(0, 1),
        st.integers(0, 6),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=_STEPS, split=st.integers(1, 12))
def test_containment_windows_do_not_depend_on_document_boundaries(nodes, steps, split) -> None:
    # Distinct hours per step keep the events (and so their hash ids) distinct.
    steps = [(a, c, i, h * 13 + n) for n, (a, c, i, h) in enumerate(steps)]
    whole, pieces = nodes(), nodes()
    first = whole.ledger.size
    capture_document(whole, ex.document([_event(s) for s in steps]))
    for start in range(0, len(steps), split):
        capture_document(pieces, ex.document([_event(s) for s in steps[start : start + split]]))
    expected = expected_windows(steps, first)
    assert stored_windows(whole) == expected
    assert stored_windows(pieces) == expected


def test_a_delete_seen_first_is_completed_by_the_later_add(tmp_path: Path) -> None:
    node = init_node(tmp_path / "n", "n", [], port=9)
    try:
        capture_document(node, ex.document([_event(("DELETE", 0, 0, 5))]))
        capture_document(node, ex.document([_event(("ADD", 0, 0, 2)), _event(("ADD", 0, 0, 7))]))
        windows = stored_windows(node)
    finally:
        node.close()
    hour, t0 = 3_600_000_000, micros(ex.T0)
    assert [(w[2] - t0, w[3]) for w in windows] == [(2 * hour, t0 + 5 * hour), (7 * hour, OPEN_END)]
