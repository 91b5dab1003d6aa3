"""What every browser test needs first: playwright and Debian's chromium, or a module-level skip saying which
is missing. Importing this module from a browser test skips that test module where either is absent."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("GPSCALE_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None  # type: ignore[assignment]

if sync_playwright is None:
    pytest.skip("playwright is not installed (pip install 'gpscale[browser]')", allow_module_level=True)
if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
    pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium, or set GPSCALE_CHROMIUM)",
                allow_module_level=True)

__all__ = ["ARGS", "CHROMIUM", "Page", "expect", "sync_playwright"]
