"""The import contracts of pyproject.toml hold on the source tree, and a violating import breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT.is_file(), reason="import-linter is not installed (pip install -e '.[dev]')")


def _lint(src: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run([str(LINT), "--config", str(cwd / "pyproject.toml")], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_source_tree_keeps_every_contract():
    r = _lint(ROOT / "src", ROOT)
    assert r.returncode == 0, r.stdout[-2000:]
    assert "0 broken" in r.stdout


@pytest.mark.parametrize(
    "module, line, contract",
    [
        ("report/html.py", "from gpscale.stats import z_value", "Reports and the dashboard render"),
        ("web/api.py", "import gpscale.store.db", "Reports and the dashboard render"),
        ("sources/common.py", "from gpscale.evaluate import pooling", "The pipeline flows one way"),
        ("disclosure/gate.py", "from gpscale.store import open_store", "depend on no pipeline stage"),
        ("sources/prescribing.py", "from gpscale.sources.registry import read_head", "Loaders never import detection"),
    ],
)
def test_a_violating_import_breaks_a_contract(tmp_path, module, line, contract):
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "gpscale", src / "gpscale", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = src / "gpscale" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}  # noqa\n", encoding="utf-8")
    r = _lint(src, tmp_path)
    assert r.returncode != 0
    assert contract in " ".join(r.stdout.split()) and "BROKEN" in r.stdout
