"""Print the scheme forecast's reliability table at the end of the pytest run (it is also left as a file)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest

REPORT = Path(tempfile.gettempdir()) / "gpscale-test-reports" / "scheme_forecast_calibration.md"
_STARTED = time.time()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if REPORT.exists() and REPORT.stat().st_mtime >= _STARTED:
        terminalreporter.write_sep("-", f"scheme forecast reliability table ({REPORT})")
        terminalreporter.write_line(REPORT.read_text())
