"""The bundled JSON-LD context of the tracespace ODRL profile (our left operands and levels)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

PROFILE_CONTEXT_URL = "https://w3id.org/tracespace/policy/v1/context.jsonld"
"""Where the profile context is published; documents may list it after the DSP context."""


@cache
def _text() -> str:
    return Path(__file__).with_name("profile.jsonld").read_text(encoding="utf-8")


def profile_context() -> dict[str, Any]:
    """A fresh copy of the profile context document (`{"@context": {...}}`)."""
    return json.loads(_text())
