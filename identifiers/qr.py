"""QR codes for objects: a GS1 Digital Link for GS1-keyed objects, else the handle proxy URL."""

from __future__ import annotations

import io
from typing import Literal

import segno

from identifiers.digital_link import DEFAULT_BASE, DigitalLink
from identifiers.errors import InvalidIdentifier
from identifiers.handle import Handle

QrKind = Literal["svg", "png"]


def qr_content(
    target: DigitalLink | Handle, *, proxy_base: str, gs1_base: str = DEFAULT_BASE
) -> str:
    """The text to encode: the Digital Link URI (key, qualifiers and data attributes) under
    `gs1_base`, or the handle's proxy URL under `proxy_base`."""
    if isinstance(target, DigitalLink):
        return target.uri(gs1_base)
    if isinstance(target, Handle):
        return target.proxy_url(proxy_base)
    raise InvalidIdentifier(f"cannot make a QR code for {type(target).__name__}")


def qr_code(content: str, kind: QrKind = "svg", *, scale: int = 4, border: int = 4) -> bytes:
    """Encode `content` as a QR code (error correction M, or higher if it fits for free)."""
    if kind not in ("svg", "png"):
        raise InvalidIdentifier(f"QR output must be 'svg' or 'png', got {kind!r}")
    code = segno.make_qr(content, error="m", boost_error=True)
    buffer = io.BytesIO()
    code.save(buffer, kind=kind, scale=scale, border=border)
    return buffer.getvalue()
