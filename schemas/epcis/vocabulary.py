"""CBV 2.0 standard vocabularies and normalising their values between bare, CURIE and URI form."""

from __future__ import annotations

from dataclasses import dataclass

CBV_BASE = "https://ref.gs1.org/cbv/"
GS1_VOC_BASE = "https://gs1.org/voc/"


class UnknownTerm(ValueError):
    """A value claims to be a standard vocabulary term but the vocabulary does not define it."""


@dataclass(frozen=True)
class Vocabulary:
    """One CBV vocabulary: its term names and the three spellings a term may take.

    A term may be written bare (`shipping`), as a CURIE (`cbv:BizStep-shipping`), as the web
    URI (`https://ref.gs1.org/cbv/BizStep-shipping`) or, for CBV 1.x data, as the URN
    (`urn:epcglobal:cbv:bizstep:shipping`). Any other URI is a user-defined value.
    """

    name: str
    uri_prefix: str
    curie_prefix: str
    urn_prefix: str | None
    terms: frozenset[str]

    def short_form(self, value: str) -> str | None:
        """The bare term of a standard value, None for a custom URI; UnknownTerm otherwise."""
        if ":" not in value:
            if value in self.terms:
                return value
            raise UnknownTerm(f"{value!r} is not a CBV {self.name} term (nor a URI)")
        for prefix in (self.uri_prefix, self.curie_prefix, self.urn_prefix):
            if prefix and value.startswith(prefix):
                term = value[len(prefix) :]
                if term in self.terms:
                    return term
                raise UnknownTerm(f"{value!r}: {term!r} is not a CBV {self.name} term")
        return None

    def uri(self, value: str) -> str:
        """The web URI of a standard value; custom URIs come back unchanged."""
        term = self.short_form(value)
        return value if term is None else self.uri_prefix + term

    def normalise(self, value: str) -> str:
        """The bare term for a standard value, the value itself for a custom URI."""
        term = self.short_form(value)
        return value if term is None else term


def _cbv(name: str, urn: str | None, terms: str) -> Vocabulary:
    return Vocabulary(name, f"{CBV_BASE}{name}-", f"cbv:{name}-", urn, frozenset(terms.split()))


BIZ_STEP = _cbv(
    "BizStep",
    "urn:epcglobal:cbv:bizstep:",
    """accepting arriving assembling collecting commissioning consigning creating_class_instance
    cycle_counting decommissioning departing destroying disassembling dispensing encoding
    entering_exiting holding inspecting installing killing loading other packing picking
    receiving removing repackaging repairing replacing reserving retail_selling sampling
    sensor_reporting shipping staging_outbound stock_taking stocking storing transporting
    unloading unpacking void_shipping""",
)

DISPOSITION = _cbv(
    "Disp",
    "urn:epcglobal:cbv:disp:",
    """active available completeness_inferred completeness_verified conformant container_closed
    container_open damaged destroyed dispensed disposed encoded expired in_progress in_transit
    inactive mismatch_class mismatch_instance mismatch_quantity needs_replacement
    no_pedigree_match non_conformant non_sellable_other partially_dispensed recalled reserved
    retail_sold returned sellable_accessible sellable_not_accessible stolen unavailable unknown""",
)

BIZ_TRANSACTION_TYPE = _cbv(
    "BTT",
    "urn:epcglobal:cbv:btt:",
    "bol cert desadv inv pedigree po poc prodorder recadv rma testprd testres upevt",
)

SOURCE_DEST_TYPE = _cbv("SDT", "urn:epcglobal:cbv:sdt:", "location owning_party possessing_party")

ERROR_REASON = _cbv("ER", "urn:epcglobal:cbv:er:", "did_not_occur incorrect_data")

COMPONENT = _cbv(
    "Comp",
    None,
    """altitude axial_distance azimuth easting elevation_angle height latitude longitude northing
    polar_angle spherical_radius x y z""",
)

# Measurement types live in the GS1 Web Vocabulary, not in the CBV namespace.
_MEASUREMENT_TYPES_IN_CONTEXT = frozenset(
    [
        "AbsoluteHumidity",
        "AbsorbedDose",
        "AbsorbedDoseRate",
        "Acceleration",
        "Radioactivity",
        "Altitude",
        "AmountOfSubstance",
        "AmountOfSubstancePerUnitVolume",
        "Angle",
        "AngularAcceleration",
        "AngularMomentum",
        "AngularVelocity",
        "Area",
        "Capacitance",
        "Conductance",
        "Conductivity",
        "Count",
        "Density",
        "Dimensionless",
        "DoseEquivalent",
        "DoseEquivalentRate",
        "DynamicViscosity",
        "ElectricCharge",
        "ElectricCurrent",
        "ElectricCurrentDensity",
        "ElectricFieldStrength",
        "Energy",
        "Exposure",
        "Force",
        "Frequency",
        "Illuminance",
        "Inductance",
        "Irradiance",
        "KinematicViscosity",
        "Length",
        "LinearMomentum",
        "Luminance",
        "LuminousFlux",
        "LuminousIntensity",
        "MagneticFlux",
        "MagneticFluxDensity",
        "MagneticVectorPotential",
        "Mass",
        "MassConcentration",
        "MassFlowRate",
        "MassPerAreaTime",
        "MemoryCapacity",
        "MolalityOfSolute",
        "MolarEnergy",
        "MolarMass",
        "MolarVolume",
        "Power",
        "Pressure",
        "RadiantFlux",
        "RadiantIntensity",
        "RelativeHumidity",
        "Resistance",
        "Resistivity",
        "SolidAngle",
        "SpecificVolume",
        "Speed",
        "SurfaceDensity",
        "SurfaceTension",
        "Temperature",
        "Time",
        "Torque",
        "Voltage",
        "Volume",
        "VolumeFlowRate",
        "VolumeFraction",
        "VolumetricFlux",
        "Wavenumber",
    ]
)
# Added to the GS1 Web Vocabulary after the EPCIS 2.0.0 JSON-LD context was published, so the
# pinned context does not map them (which matters for the event hash, see event_hash.py).
MEASUREMENT_TYPES_AFTER_CONTEXT = frozenset({"Molar_concentration", "EffectiveDoseRate"})

MEASUREMENT_TYPE = Vocabulary(
    "MeasurementType",
    GS1_VOC_BASE,
    "gs1:",
    None,
    _MEASUREMENT_TYPES_IN_CONTEXT | MEASUREMENT_TYPES_AFTER_CONTEXT,
)

ACTIONS = ("ADD", "OBSERVE", "DELETE")
SENSOR_ALERT_TYPE = Vocabulary(
    "SensorAlertType", GS1_VOC_BASE, "gs1:", None, frozenset({"ALARM_CONDITION", "ERROR_CONDITION"})
)
