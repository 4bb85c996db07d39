"""Who takes part in the green fibre chain: the resolution hierarchy and the enterprises."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Party:
    """One node of the demo network: its name, what it does, and where it sits."""

    name: str
    title: str
    role: str = "enterprise"
    prefix: str = ""
    gs1_company_prefix: str = ""
    parent: str = ""
    neighbours: tuple[str, ...] = ()


ROOT = Party("root", "resolution root", role="root")
NATIONAL = Party(
    "national", "national resolution node", role="national", prefix="88", parent="root"
)
SECONDARY = Party(
    "secondary", "textile sector node", role="secondary", prefix="88.500", parent="national"
)
FLAKE = Party(
    "flake-plant", "bottle-flake plant", prefix="88.500.1", gs1_company_prefix="4012345",
    parent="secondary", neighbours=("yarn-mill",),
)  # fmt: skip
MILL = Party(
    "yarn-mill", "fibre and yarn mill", prefix="88.500.2", gs1_company_prefix="4098765",
    parent="secondary", neighbours=("flake-plant", "garment-maker"),
)  # fmt: skip
MAKER = Party(
    "garment-maker", "fabric and garment maker", prefix="88.500.3",
    gs1_company_prefix="4055555", parent="secondary", neighbours=("yarn-mill", "brand"),
)  # fmt: skip
BRAND = Party(
    "brand", "brand and retailer", prefix="88.500.4", gs1_company_prefix="4066666",
    parent="secondary", neighbours=("garment-maker",),
)  # fmt: skip
REGULATOR = Party(
    "regulator", "market surveillance authority", prefix="88.500.9", parent="secondary"
)

HIERARCHY = (ROOT, NATIONAL, SECONDARY)
ENTERPRISES = (FLAKE, MILL, MAKER, BRAND)
PARTIES = (*HIERARCHY, *ENTERPRISES, REGULATOR)
BY_NAME = {p.name: p for p in PARTIES}


def trusted_by(party: Party) -> tuple[str, ...]:
    """The partners `party` trusts: its chain neighbours, and the regulator both ways."""
    if party is REGULATOR:
        return tuple(p.name for p in ENTERPRISES)
    if party in ENTERPRISES:
        return (*party.neighbours, REGULATOR.name)
    return ()
