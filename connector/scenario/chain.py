"""The green fibre chain's data: object names, EPCIS documents, footprints, BOMs and a CoA.

Recycled PET bottle flake is split into two lots; one lot is merged with a colour
masterbatch into yarn; the yarn becomes fabric and T-shirts; the brand sells them. Object
names are EPC URNs; `link` gives the GS1 Digital Link the resolvers and trace index use.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from identifiers.canonical import DigitalLink, canonical_object_id, gs1_to_handle
from schemas.epcis.contexts import EPCIS_CONTEXT_URL
from schemas.quality import CertificateOfAnalysis, InspectionResult

FLAKE = "urn:epc:class:lgtin:4012345.011111.FLAKE-1"
FLAKE_A = "urn:epc:class:lgtin:4012345.011111.FLAKE-1A"
FLAKE_B = "urn:epc:class:lgtin:4012345.011111.FLAKE-1B"
FLAKE_PALLET = "urn:epc:id:sscc:4012345.0000000001"
MASTERBATCH = "urn:epc:class:lgtin:4098765.033333.MB-7"
YARN = "urn:epc:class:lgtin:4098765.022222.YARN-5"
YARN_CARTON = "urn:epc:id:sscc:4098765.0000000001"
FABRIC = "urn:epc:class:lgtin:4055555.044444.FABRIC-3"
GARMENT_COUNT = 24
GARMENTS = [f"urn:epc:id:sgtin:4066666.055555.{n:04d}" for n in range(1, GARMENT_COUNT + 1)]
GARMENT_CARTONS = ["urn:epc:id:sscc:4055555.0000000001", "urn:epc:id:sscc:4055555.0000000002"]
SITES = {
    "flake-plant": "urn:epc:id:sgln:4012345.00001.0",
    "yarn-mill": "urn:epc:id:sgln:4098765.00001.0",
    "garment-maker": "urn:epc:id:sgln:4055555.00001.0",
    "brand": "urn:epc:id:sgln:4066666.00001.0",
    "store": "urn:epc:id:sgln:4066666.00002.0",
}
OBJECT, AGGREGATION = "ObjectEvent", "AggregationEvent"
TRANSFORMATION = "TransformationEvent"
T0 = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


def link(name: str) -> str:
    """The canonical GS1 Digital Link URI of an EPC URN."""
    return canonical_object_id(name)


def gtin_of(name: str) -> str:
    return DigitalLink.parse(link(name).removeprefix("https://id.gs1.org")).key


def dl_path(name: str) -> str:
    """`/01/…/10/…` style path of an EPC URN (as served by a node's GS1 resolver)."""
    return link(name).removeprefix("https://id.gs1.org")


def handle_of(name: str, prefix: str) -> str:
    """The handle under `prefix` that stands for the GS1 key of `name`."""
    return str(gs1_to_handle(DigitalLink.parse(dl_path(name)), prefix))


GARMENT_GTIN = gtin_of(GARMENTS[0])
GARMENT_BATCH = f"/01/{GARMENT_GTIN}"


# -- EPCIS -------------------------------------------------------------------------------------


def document(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "@context": [EPCIS_CONTEXT_URL],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-03-20T00:00:00Z",
        "epcisBody": {"eventList": events},
    }


def _at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


def _event(kind: str, hours: float, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "eventTime": _at(hours), "eventTimeZoneOffset": "+00:00", **fields}


def _qty(epc_class: str, kg: float) -> dict[str, Any]:
    return {"epcClass": epc_class, "quantity": kg, "uom": "KGM"}


def _site(party: str) -> dict[str, str]:
    return {"id": SITES[party]}


def _to(did: str) -> list[dict[str, str]]:
    return [{"type": "owning_party", "destination": did}]


def _from(did: str) -> list[dict[str, str]]:
    return [{"type": "owning_party", "source": did}]


def production(party: str, dids: dict[str, str]) -> list[dict[str, Any]]:
    """What `party` makes: commissioning, the flake split, the yarn merge, fabric, garments."""
    site = _site(party)
    if party == "flake-plant":
        return [
            _event(
                OBJECT,
                0,
                action="ADD",
                bizStep="commissioning",
                quantityList=[_qty(FLAKE, 1000)],
                bizLocation=site,
            ),
            _event(
                TRANSFORMATION,
                1,
                bizStep="creating_class_instance",
                inputQuantityList=[_qty(FLAKE, 1000)],
                outputQuantityList=[_qty(FLAKE_A, 600), _qty(FLAKE_B, 400)],
                bizLocation=site,
            ),
        ]
    if party == "yarn-mill":
        return [
            _event(
                OBJECT,
                9,
                action="ADD",
                bizStep="commissioning",
                quantityList=[_qty(MASTERBATCH, 30)],
                bizLocation=site,
            ),
            _event(
                TRANSFORMATION,
                10,
                bizStep="creating_class_instance",
                inputQuantityList=[_qty(FLAKE_A, 600), _qty(MASTERBATCH, 30)],
                outputQuantityList=[_qty(YARN, 610)],
                bizLocation=site,
            ),
        ]
    if party == "garment-maker":
        return [
            _event(
                TRANSFORMATION,
                20,
                bizStep="creating_class_instance",
                inputQuantityList=[_qty(YARN, 610)],
                outputQuantityList=[_qty(FABRIC, 580)],
                bizLocation=site,
            ),
            _event(
                TRANSFORMATION,
                22,
                bizStep="creating_class_instance",
                inputQuantityList=[_qty(FABRIC, 580)],
                outputEPCList=GARMENTS,
                bizLocation=site,
            ),
        ]
    return []


def packing_and_shipping(party: str, dids: dict[str, str]) -> list[dict[str, Any]]:
    """Pack cartons (AggregationEvent) and ship them to the next party, named by its DID."""
    site = _site(party)
    if party == "flake-plant":
        return [
            _event(
                AGGREGATION,
                2,
                action="ADD",
                bizStep="packing",
                parentID=FLAKE_PALLET,
                childQuantityList=[_qty(FLAKE_A, 600)],
                bizLocation=site,
            ),
            _event(
                OBJECT,
                3,
                action="OBSERVE",
                bizStep="shipping",
                disposition="in_transit",
                epcList=[FLAKE_PALLET],
                readPoint=site,
                bizLocation=site,
                sourceList=_from(dids["flake-plant"]),
                destinationList=_to(dids["yarn-mill"]),
            ),
        ]
    if party == "yarn-mill":
        return [
            _event(
                AGGREGATION,
                11,
                action="ADD",
                bizStep="packing",
                parentID=YARN_CARTON,
                childQuantityList=[_qty(YARN, 610)],
                bizLocation=site,
            ),
            _event(
                OBJECT,
                12,
                action="OBSERVE",
                bizStep="shipping",
                disposition="in_transit",
                epcList=[YARN_CARTON],
                readPoint=site,
                bizLocation=site,
                sourceList=_from(dids["yarn-mill"]),
                destinationList=_to(dids["garment-maker"]),
            ),
        ]
    if party == "garment-maker":
        half = GARMENT_COUNT // 2
        return [
            _event(
                AGGREGATION,
                23,
                action="ADD",
                bizStep="packing",
                parentID=GARMENT_CARTONS[0],
                childEPCs=GARMENTS[:half],
                bizLocation=site,
            ),
            _event(
                AGGREGATION,
                23,
                action="ADD",
                bizStep="packing",
                parentID=GARMENT_CARTONS[1],
                childEPCs=GARMENTS[half:],
                bizLocation=site,
            ),
            _event(
                OBJECT,
                24,
                action="OBSERVE",
                bizStep="shipping",
                disposition="in_transit",
                epcList=GARMENT_CARTONS,
                readPoint=site,
                bizLocation=site,
                sourceList=_from(dids["garment-maker"]),
                destinationList=_to(dids["brand"]),
            ),
        ]
    return []


def receiving(party: str, dids: dict[str, str]) -> list[dict[str, Any]]:
    """Receive the partner's cartons (source = its DID) and unpack them; the brand sells one."""
    site = _site(party)
    if party == "yarn-mill":
        return [
            _event(
                OBJECT,
                8,
                action="OBSERVE",
                bizStep="receiving",
                disposition="in_progress",
                epcList=[FLAKE_PALLET],
                bizLocation=site,
                sourceList=_from(dids["flake-plant"]),
            ),
            _event(
                AGGREGATION,
                8.5,
                action="DELETE",
                bizStep="unpacking",
                parentID=FLAKE_PALLET,
                childQuantityList=[_qty(FLAKE_A, 600)],
                bizLocation=site,
            ),
        ]
    if party == "garment-maker":
        return [
            _event(
                OBJECT,
                18,
                action="OBSERVE",
                bizStep="receiving",
                disposition="in_progress",
                epcList=[YARN_CARTON],
                bizLocation=site,
                sourceList=_from(dids["yarn-mill"]),
            ),
            _event(
                AGGREGATION,
                18.5,
                action="DELETE",
                bizStep="unpacking",
                parentID=YARN_CARTON,
                childQuantityList=[_qty(YARN, 610)],
                bizLocation=site,
            ),
        ]
    if party == "brand":
        store = _site("store")
        return [
            _event(
                OBJECT,
                40,
                action="OBSERVE",
                bizStep="receiving",
                disposition="in_progress",
                epcList=GARMENT_CARTONS,
                bizLocation=site,
                sourceList=_from(dids["garment-maker"]),
            ),
            _event(
                AGGREGATION,
                41,
                action="DELETE",
                bizStep="unpacking",
                parentID=GARMENT_CARTONS[0],
                childEPCs=GARMENTS[: GARMENT_COUNT // 2],
                bizLocation=store,
            ),
            _event(
                OBJECT,
                50,
                action="OBSERVE",
                bizStep="retail_selling",
                disposition="retail_sold",
                epcList=[GARMENTS[0]],
                bizLocation=store,
            ),
        ]
    return []


# -- carbon footprints -------------------------------------------------------------------------

PRODUCTS = {
    "flake-plant": ("urn:gtin:" + gtin_of(FLAKE), "rPET bottle flake", "kilogram", "1"),
    "yarn-mill": ("urn:gtin:" + gtin_of(YARN), "Recycled polyester yarn 150 den", "kilogram", "1"),
    "garment-maker": ("urn:gtin:" + gtin_of(FABRIC), "T-shirt, ex works", "piece", "0.2"),
    "brand": ("urn:gtin:" + GARMENT_GTIN, "Green Fibre T-shirt", "piece", "0.2"),
}
COMPANY_IDS = {
    "flake-plant": "urn:uuid:1b2c3d4e-0001-4a5b-8c6d-7e8f9a0b1c2d",
    "yarn-mill": "urn:uuid:1b2c3d4e-0002-4a5b-8c6d-7e8f9a0b1c2d",
    "garment-maker": "urn:uuid:1b2c3d4e-0003-4a5b-8c6d-7e8f9a0b1c2d",
    "brand": "urn:uuid:1b2c3d4e-0004-4a5b-8c6d-7e8f9a0b1c2d",
}
PERIOD = {"start": "2025-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}


def flake_footprint() -> dict[str, Any]:
    """The flake plant's own PACT v3 footprint: 0.45 kg CO2e per kg of washed flake."""
    product, name, unit, mass = PRODUCTS["flake-plant"]
    value = "0.45"
    return {
        "id": "5d1b7a52-7c1e-4f3a-9e62-0a1f2b3c4d01",
        "specVersion": "3.0.0",
        "created": "2026-03-02T12:00:00Z",
        "status": "Active",
        "companyName": "Flake Plant Co.",
        "companyIds": [COMPANY_IDS["flake-plant"]],
        "productDescription": "Washed, sorted recycled PET flake from post-consumer bottles",
        "productIds": [product],
        "productNameCompany": name,
        "pcf": {
            "declaredUnitOfMeasurement": unit,
            "declaredUnitAmount": "1",
            "productMassPerDeclaredUnit": mass,
            "referencePeriodStart": PERIOD["start"],
            "referencePeriodEnd": PERIOD["end"],
            "geographyCountry": "CN",
            "pcfExcludingBiogenicUptake": value,
            "pcfIncludingBiogenicUptake": value,
            "fossilGhgEmissions": value,
            "fossilCarbonContent": "0",
            "ipccCharacterizationFactors": ["AR6"],
            "crossSectoralStandards": ["ISO14067"],
            "exemptedEmissionsPercent": "0",
            "primaryDataShare": "80",
        },
    }


def bom(party: str, supplier: str, quantity: str, process: dict[str, str]) -> dict[str, Any]:
    """The BOM (format v1) `party` rolls its footprint up over: one supplier line."""
    product, name, unit, mass = PRODUCTS[party]
    subjects = {
        "yarn-mill": [link(YARN)],
        "garment-maker": [link(FABRIC)],
        "brand": [link(g) for g in GARMENTS],
    }[party]
    return {
        "v": 1,
        "product": {
            "companyName": party.replace("-", " ").title(),
            "companyIds": [COMPANY_IDS[party]],
            "productIds": [product],
            "productNameCompany": name,
            "productDescription": name,
        },
        "declaredUnit": unit,
        "productMassPerDeclaredUnit": mass,
        "referencePeriod": PERIOD,
        "process": process,
        "subjects": subjects,
        "lines": [{"productId": PRODUCTS[supplier][0], "quantity": quantity}],
    }


BOMS = {  # party: (supplier, quantity of supplier's unit per unit, own process emissions)
    "yarn-mill": ("flake-plant", "1.05", {"scope1": "0.30", "scope2": "1.10"}),
    "garment-maker": ("yarn-mill", "0.24", {"scope2": "0.90", "waste": "0.05"}),
    "brand": ("garment-maker", "1", {"inboundTransport": "0.12"}),
}


# -- quality -----------------------------------------------------------------------------------


def yarn_certificate(supplier: str, customer: str) -> dict[str, Any]:
    """The mill's certificate of analysis for the yarn lot: tenacity and elongation pass."""
    when = T0 + timedelta(hours=11)
    subject = (link(YARN),)

    def result(characteristic: str, nominal: str, tol: str, measured: str, unit: str):
        from decimal import Decimal

        return InspectionResult(
            subject=subject, characteristic=characteristic, nominal=Decimal(nominal),
            tolerance_minus=Decimal(tol), tolerance_plus=Decimal(tol),
            measured=Decimal(measured), unit=unit, measured_at=when, method="ISO 2062",
        )  # fmt: skip

    coa = CertificateOfAnalysis(
        subject=subject,
        issued=when,
        supplier=supplier,
        customer=customer,
        manufacturer_part_id="YARN-150D-rPET",
        product_name="Recycled polyester yarn 150 den",
        results=(
            result("tenacity", "3.8", "0.4", "3.9", "cN/dtex"),
            result("elongation at break", "28", "4", "26.5", "%"),
        ),
    )
    return coa.to_document()
