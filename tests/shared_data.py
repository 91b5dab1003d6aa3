"""Where the shared real NHS files and test oracles are, for every test that reads them.

``GPSCALE_SHARED_DATA`` names the ``shared/data`` folder; without it, ``../shared/data`` beside the
repository is used (where CI and developer machines have it). Tests that need a file skip, with the
reason, where it is absent, so that a clone elsewhere still passes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_root() -> Path:
    """The shared data folder (it may not exist)."""
    env = os.environ.get("GPSCALE_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def shared_path(*parts: str) -> Path:
    """A path inside the shared data folder (it may not exist)."""
    return shared_data_root().joinpath(*parts)


def require_shared(*parts: str) -> Path:
    """A path inside the shared data folder; skips the calling test, or module, when it is absent."""
    path = shared_path(*parts)
    if not path.exists():
        what = "/".join(parts) or "folder"
        pytest.skip(
            f"shared data {what} not found at {path} (set GPSCALE_SHARED_DATA to the shared/data folder)",
            allow_module_level=True,
        )
    return path
