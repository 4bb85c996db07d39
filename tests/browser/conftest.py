"""Browser tests need Debian's chromium and the playwright package (`.ci/install-browser`):
skip with a clear message when either is missing, or fail when TRACESPACE_REQUIRE_BROWSER=1."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (run .ci/install-browser)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is missing (run .ci/install-browser)"
    return None


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory):
    reason = _missing()
    if reason:
        if os.environ.get("TRACESPACE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"TRACESPACE_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=FLAGS,  # the fresh profile above is the --user-data-dir
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
        )
        try:
            yield context
        finally:
            context.close()
