"""What differs between the Catena-X PCF aspect versions the PACT mapping reads and writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.errors import InvalidRecord

SPEC_VERSION_PATH = "$.scopeOfPcfForm[0].specVersion"

# The cross-sectoral standard names Catena-X 10.0.0 accepts (its schema's enum); 9.0.0 takes
# any text.
STANDARDS_10 = frozenset(
    {
        "ISO 14067",
        "Pathfinder v1",
        "PACT-1.0",
        "Pathfinder v2",
        "PACT-2.0",
        "Pathfinder v3",
        "PACT-3.0",
        "GHG Protocol Product",
        "PAS 2050",
        "ISO 14040-44",
        "PEF",
        "Other",
    }
)


@dataclass(frozen=True)
class PcfVersion:
    """One Catena-X PCF model version and the shapes the mapping has to follow for it."""

    number: str
    single_standard: bool  # crossSectoralStandards: one name (True) or an array of names
    standards: frozenset[str] | None  # the names allowed, None when any text is
    preceding_ids: bool  # precedingPfIds holds id strings (True) or property-less entities
    # massBalancingInformation properties that are required, with the value written when
    # PACT (which has no mass balancing) gives none.
    mass_balancing_defaults: tuple[tuple[str, Any], ...]

    @property
    def spec_version(self) -> str:
        """The value of `scopeOfPcfForm[].specVersion` in an aspect of this version."""
        return f"urn:io.catenax.pcf:datamodel:version:{self.number}"

    @property
    def model(self) -> str:
        """The key of the bundled schema (`schemas.catenax.schema.BUNDLED`)."""
        return f"io.catenax.pcf:{self.number}"


VERSIONS = {
    v.number: v
    for v in (
        PcfVersion(
            "9.0.0",
            single_standard=False,
            standards=None,
            preceding_ids=False,
            mass_balancing_defaults=(
                ("massBalancingUsed", False),
                ("freeAttributionInMassBalancing", "not applicable"),
                ("massBalancingCertificateScheme", "not applicable"),
            ),
        ),
        PcfVersion(
            "10.0.0",
            single_standard=True,
            standards=STANDARDS_10,
            preceding_ids=True,
            mass_balancing_defaults=(("massBalancingUsed", False),),
        ),
    )
}
DEFAULT_VERSION = "9.0.0"


def pcf_version(number: str) -> PcfVersion:
    """The version to write, by number (`"9.0.0"`, `"10.0.0"`); ValueError when unknown."""
    try:
        return VERSIONS[number]
    except KeyError:
        raise ValueError(
            f"no Catena-X PCF mapping for version {number!r}; known: {', '.join(VERSIONS)}"
        ) from None


def version_of(doc: dict[str, Any]) -> PcfVersion:
    """The version an aspect declares in `scopeOfPcfForm[0].specVersion`.

    Raise InvalidRecord when the field is missing or names a version we do not map."""
    scope = doc.get("scopeOfPcfForm")
    first = scope[0] if isinstance(scope, list) and scope else None
    declared = first.get("specVersion") if isinstance(first, dict) else None
    for version in VERSIONS.values():
        if declared == version.spec_version:
            return version
    known = ", ".join(v.spec_version for v in VERSIONS.values())
    what = "missing" if declared is None else f"{declared!r} is not a version we map"
    raise InvalidRecord([(SPEC_VERSION_PATH, f"Catena-X PCF spec version {what}; known: {known}")])
