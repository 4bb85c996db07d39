"""A worked textile supply chain in EPCIS 2.0 (resin plant -> yarn mill -> garment maker),
used by the trace tests, the benchmark and docs/trace.md.

It splits a resin batch, merges two batches into yarn, packs cartons, ships across nodes,
unpacks and sells, and names one object by both an EPC URN and a GS1 Digital Link.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.epcis.contexts import EPCIS_CONTEXT_URL

RESIN = "urn:epc:class:lgtin:4012345.012345.RESIN-1"
RESIN_A = "urn:epc:class:lgtin:4012345.012345.RESIN-1A"
RESIN_A_LINK = "https://id.gs1.org/01/04012345123456/10/RESIN-1A"
RESIN_B = "urn:epc:class:lgtin:4012345.012345.RESIN-1B"
DYE = "urn:epc:class:lgtin:4098765.011111.DYE-9"
YARN = "urn:epc:class:lgtin:4098765.022222.YARN-5"
YARN_CARTON = "urn:epc:id:sscc:4098765.0000000001"
GARMENTS = [f"urn:epc:id:sgtin:4055555.033333.{n}" for n in (1001, 1002, 1003)]
CARTONS = ["urn:epc:id:sscc:4055555.0000000007", "urn:epc:id:sscc:4055555.0000000008"]
LATER_ITEM = "urn:epc:id:sgtin:4055555.033333.2001"
PLANT = "urn:epc:id:sgln:4012345.00001.0"
MILL = "urn:epc:id:sgln:4098765.00001.0"
FACTORY = "urn:epc:id:sgln:4055555.00001.0"
STORE = "urn:epc:id:sgln:4055555.00002.0"
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def document(events: list[dict[str, Any]]) -> dict[str, Any]:
    """An EPCISDocument around `events`."""
    return {
        "@context": [EPCIS_CONTEXT_URL],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-03-10T00:00:00Z",
        "epcisBody": {"eventList": events},
    }


def at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


def event(kind: str, hours: float, **fields: Any) -> dict[str, Any]:
    """One event of `kind` at T0 + `hours`; keyword fields are EPCIS members."""
    return {"type": kind, "eventTime": at(hours), "eventTimeZoneOffset": "+00:00", **fields}


def qty(epc_class: str, amount: float, uom: str = "KGM") -> dict[str, Any]:
    return {"epcClass": epc_class, "quantity": amount, "uom": uom}


def place(sgln: str) -> dict[str, str]:
    return {"id": sgln}


def party(kind: str, value: str) -> list[dict[str, str]]:
    return [{"type": "owning_party", kind: value}]


def shipped_items(tag: str, count: int) -> list[dict[str, Any]]:
    """`count` shipping observations of one serialised item each, one an hour, told apart by
    `tag` (distinct events, so none is a duplicate of another)."""
    return [
        event("ObjectEvent", n, action="OBSERVE", bizStep="shipping",
              epcList=[f"urn:epc:id:sgtin:4012345.011111.{tag}{n}"])
        for n in range(count)
    ]  # fmt: skip


def resin_plant(mill: str) -> list[dict[str, Any]]:
    """Make a resin batch, split it, ship one half to the mill (`mill` = its DID)."""
    return [
        event(
            "ObjectEvent", 0, action="ADD", bizStep="commissioning",
            quantityList=[qty(RESIN, 1000)], bizLocation=place(PLANT),
        ),
        event(
            "TransformationEvent", 1, bizStep="creating_class_instance",
            inputQuantityList=[qty(RESIN, 1000)],
            outputQuantityList=[qty(RESIN_A, 600), qty(RESIN_B, 400)],
            bizLocation=place(PLANT),
        ),
        event(
            "ObjectEvent", 2, action="OBSERVE", bizStep="shipping", disposition="in_transit",
            quantityList=[qty(RESIN_A, 600)], readPoint=place(PLANT),
            destinationList=party("destination", mill),
        ),
    ]  # fmt: skip


def yarn_mill(resin: str, maker: str) -> list[dict[str, Any]]:
    """Receive resin (named by Digital Link), merge it with dye into yarn, pack, ship."""
    return [
        event(
            "ObjectEvent", 5, action="OBSERVE", bizStep="receiving",
            disposition="in_progress", quantityList=[qty(RESIN_A_LINK, 600)],
            bizLocation=place(MILL), sourceList=party("source", resin),
        ),
        event(
            "ObjectEvent", 5.5, action="ADD", bizStep="commissioning",
            quantityList=[qty(DYE, 50)], bizLocation=place(MILL),
        ),
        event(
            "TransformationEvent", 6, bizStep="creating_class_instance",
            inputQuantityList=[qty(RESIN_A, 600), qty(DYE, 50)],
            outputQuantityList=[qty(YARN, 640)], bizLocation=place(MILL),
        ),
        event(
            "AggregationEvent", 7, action="ADD", bizStep="packing", parentID=YARN_CARTON,
            childQuantityList=[qty(YARN, 640)], bizLocation=place(MILL),
        ),
        event(
            "ObjectEvent", 8, action="OBSERVE", bizStep="shipping", disposition="in_transit",
            epcList=[YARN_CARTON], readPoint=place(MILL),
            destinationList=party("destination", maker),
        ),
    ]  # fmt: skip


def garment_maker(mill: str) -> list[dict[str, Any]]:
    """Receive and unpack yarn, make garments, pack cartons, ship to the store, unpack, sell;
    later reuse carton 7 for another item (outside the window of the first garments)."""
    g1, g2, g3 = GARMENTS
    c7, c8 = CARTONS
    return [
        event(
            "ObjectEvent", 12, action="OBSERVE", bizStep="receiving", disposition="in_progress",
            epcList=[YARN_CARTON], bizLocation=place(FACTORY), sourceList=party("source", mill),
        ),
        event(
            "AggregationEvent", 13, action="DELETE", bizStep="unpacking", parentID=YARN_CARTON,
            childQuantityList=[qty(YARN, 640)], bizLocation=place(FACTORY),
        ),
        event(
            "TransformationEvent", 14, bizStep="creating_class_instance",
            inputQuantityList=[qty(YARN, 640)], outputEPCList=GARMENTS,
            bizLocation=place(FACTORY),
        ),
        event(
            "AggregationEvent", 15, action="ADD", bizStep="packing", parentID=c7,
            childEPCs=[g1, g2], bizLocation=place(FACTORY),
        ),
        event(
            "AggregationEvent", 15, action="ADD", bizStep="packing", parentID=c8,
            childEPCs=[g3], bizLocation=place(FACTORY),
        ),
        event(
            "ObjectEvent", 16, action="OBSERVE", bizStep="shipping", disposition="in_transit",
            epcList=[c7, c8], readPoint=place(FACTORY),
        ),
        event(
            "ObjectEvent", 20, action="OBSERVE", bizStep="receiving", disposition="in_progress",
            epcList=[c7, c8], bizLocation=place(STORE),
        ),
        event(
            "AggregationEvent", 21, action="DELETE", bizStep="unpacking", parentID=c7,
            childEPCs=[g1, g2], bizLocation=place(STORE),
        ),
        event(
            "ObjectEvent", 22, action="OBSERVE", bizStep="retail_selling",
            disposition="retail_sold", epcList=[g1], bizLocation=place(STORE),
        ),
        event(
            "AggregationEvent", 30, action="ADD", bizStep="packing", parentID=c7,
            childEPCs=[LATER_ITEM], bizLocation=place(FACTORY),
        ),
        event(
            "ObjectEvent", 31, action="OBSERVE", bizStep="shipping", disposition="in_transit",
            epcList=[c7], readPoint=place(FACTORY),
        ),
    ]  # fmt: skip
