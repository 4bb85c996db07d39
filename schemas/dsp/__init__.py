"""Dataspace Protocol 2025-1 message validation: bundled JSON Schemas plus offline JSON-LD.

`validate_message(msg, kind)` returns every problem as `(json_path, message)`; an empty
list means the message is valid. `kind` is a DSP type name (`ContractRequestMessage`,
`Catalog`, ...) or a schema file stem (`contract-request-message`).
"""

from schemas.dsp.validation import (
    KINDS,
    SCHEMA_FILES,
    DspMessageError,
    check_message,
    schema_for,
    validate_message,
)

__all__ = [
    "KINDS",
    "SCHEMA_FILES",
    "DspMessageError",
    "check_message",
    "schema_for",
    "validate_message",
]
