"""The docs stay true to the code: the generated API reference is current, and links resolve."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.M)


def _generator():
    spec = importlib.util.spec_from_file_location("generate_api", DOCS / "generate_api.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated() -> dict[Path, str]:
    return _generator().generate()


def broken_links(markdown: Path, root: Path = REPO) -> list[str]:
    """Relative links in `markdown` (outside code) whose target file or folder is missing."""
    text = _CODE.sub("", _FENCE.sub("", markdown.read_text(encoding="utf-8")))
    missing = []
    for target in _LINK.findall(text) + _REFERENCE.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
            continue  # absolute URL (http:, mailto:) or an anchor in the same page
        path = target.split("#", 1)[0].split("?", 1)[0]
        if not (markdown.parent / path).exists():
            missing.append(f"{markdown.relative_to(root)}: {target}")
    return missing


def test_openapi_document_is_current(generated: dict[Path, str]) -> None:
    module = _generator()
    committed = json.loads(module.OPENAPI_FILE.read_text(encoding="utf-8"))
    fresh = json.loads(generated[module.OPENAPI_FILE])
    assert committed["info"]["title"] == fresh["info"]["title"] == module.TITLE
    if committed != fresh:
        added = sorted(set(fresh["paths"]) - set(committed["paths"]))
        removed = sorted(set(committed["paths"]) - set(fresh["paths"]))
        pytest.fail(
            "docs/api/openapi.json is stale (run .venv/bin/python docs/generate_api.py); "
            f"paths added {added}, removed {removed}"
        )


def test_route_index_is_current(generated: dict[Path, str]) -> None:
    module = _generator()
    assert module.INDEX_FILE.read_text(encoding="utf-8") == generated[module.INDEX_FILE], (
        "docs/api/README.md is stale (run .venv/bin/python docs/generate_api.py)"
    )


def test_route_index_lists_every_operation(generated: dict[Path, str]) -> None:
    module = _generator()
    document = json.loads(generated[module.OPENAPI_FILE])
    index = generated[module.INDEX_FILE]
    for path, operations in document["paths"].items():
        for method in operations:
            assert f"| {method.upper()} | `{path}` |" in index, (method, path)
    assert "| POST | `/ledger/entries` | operator |" in index
    assert "| GET | `/ledger/checkpoint` | public |" in index
    assert "| POST | `/dsp/negotiations/request` | peer |" in index


def test_volatile_title_is_normalised() -> None:
    module = _generator()
    document = {"info": {"title": "tracespace node resin-plant", "version": "0.1.0"}}
    assert module.normalise(document)["info"] == {"title": module.TITLE, "version": "0.1.0"}


@pytest.mark.parametrize(
    "markdown",
    [REPO / "README.md", *sorted(DOCS.rglob("*.md"))],
    ids=lambda p: str(p.relative_to(REPO)),
)
def test_relative_links_resolve(markdown: Path) -> None:
    assert broken_links(markdown) == []


def test_link_check_finds_a_broken_link(tmp_path: Path) -> None:
    (tmp_path / "there.md").write_text("x", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](there.md#part) [gone](missing.md) [web](https://example.org/x) [a](#top)\n"
        "`[code](nope.md)`\n```\n[fenced](nope2.md)\n```\n[ref]: other/missing.txt\n",
        encoding="utf-8",
    )
    assert broken_links(page, tmp_path) == ["page.md: missing.md", "page.md: other/missing.txt"]
