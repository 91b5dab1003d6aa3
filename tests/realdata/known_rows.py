"""Facts about the real files that several real-data tests share (a plain module: it never skips, so a test
module can import it where the shared data are absent).

``QUARANTINED``: rows the QOF loader quarantines, by file (tests/realdata/test_real_files.py explains each).
"""

from __future__ import annotations

QUARANTINED: dict[str, set[str]] = {
    "QOF_2021-22.csv": {"D82088"},  # 594.44 points against 591 "available where a register exists"
}
