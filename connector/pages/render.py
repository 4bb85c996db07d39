"""Render the consumer page: the provenance model through an autoescaping Jinja template,
with inline CSS and an inline SVG QR code (no external assets)."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from connector.pages.i18n import STRINGS, step_label


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("connector.pages", "templates"),
        autoescape=select_autoescape(["html"], default=True),
    )


@cache
def _css() -> str:
    return resources.files("connector.pages").joinpath("templates/page.css").read_text("utf-8")


def _when(text: str | None, lang: str) -> str:
    if not text:
        return ""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if lang == "zh":
        return moment.strftime("%Y年%m月%d日 %H:%M UTC")
    return moment.strftime("%d %b %Y, %H:%M UTC")


def _svg(qr: bytes) -> Markup:
    """The QR SVG without its XML declaration, trusted because segno drew it."""
    text = qr.decode("utf-8")
    start = text.find("<svg")
    return Markup(text[start:] if start >= 0 else "")


def render_page(model: dict[str, Any], lang: str, qr: bytes, switch_url: str) -> str:
    """The HTML page for a provenance `model` in `lang` (zh or en)."""
    steps = [
        {**s, "label": step_label(s.get("bizStep"), lang), "when": _when(s.get("time"), lang)}
        for s in model["steps"]
    ]
    return (
        _environment()
        .get_template("page.html")
        .render(
            lang=lang,
            other="en" if lang == "zh" else "zh",
            t=STRINGS[lang],
            css=Markup(_css()),
            product=model["product"],
            verified=model["verified"],
            complete=model["complete"],
            steps=steps,
            hidden=model["hiddenSteps"],
            footprint=model["footprint"],
            certificate=model["certificate"],
            qr_svg=_svg(qr),
            evidence=model["evidence"],
            switch_url=switch_url,
        )
    )
