"""QR codes: content choice, and the PNG decoded back by zxing-cpp (an independent reader)."""

from __future__ import annotations

import io

import pytest

from identifiers.digital_link import DigitalLink
from identifiers.errors import InvalidIdentifier
from identifiers.handle import Handle
from identifiers.qr import qr_code, qr_content

LINK = DigitalLink.parse("/01/09506000134352/10/LOT%2F1/21/S1?17=260101")
HANDLE = Handle.parse("20.500.1/part 7")


def test_content_choice() -> None:
    assert qr_content(LINK, proxy_base="https://node.example") == (
        "https://id.gs1.org/01/09506000134352/10/LOT%2F1/21/S1?17=260101"
    )
    assert qr_content(LINK, proxy_base="x", gs1_base="https://brand.example/") == (
        "https://brand.example/01/09506000134352/10/LOT%2F1/21/S1?17=260101"
    )
    assert qr_content(HANDLE, proxy_base="https://node.example/") == (
        "https://node.example/20.500.1/part%207"
    )
    with pytest.raises(InvalidIdentifier):
        qr_content("20.500.1/x", proxy_base="https://node.example")  # type: ignore[arg-type]


def test_svg_output() -> None:
    svg = qr_code("https://node.example/20.500.1/part%207", "svg")
    assert svg.startswith(b"<?xml") and b"<svg" in svg
    with pytest.raises(InvalidIdentifier, match="'svg' or 'png'"):
        qr_code("x", "gif")  # type: ignore[arg-type]


@pytest.mark.parametrize("target", [LINK, HANDLE])
def test_png_decodes_to_the_content(target: DigitalLink | Handle) -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    image_module = pytest.importorskip("PIL.Image")
    content = qr_content(target, proxy_base="https://node.example")
    png = qr_code(content, "png", scale=4)
    assert png.startswith(b"\x89PNG")
    image = image_module.open(io.BytesIO(png)).convert("L")
    results = zxingcpp.read_barcodes(image)
    assert [r.text for r in results] == [content]
    assert results[0].format == zxingcpp.BarcodeFormat.QRCode
