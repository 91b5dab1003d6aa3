"""A small synthetic England shared by tests (generated once per test process, cached on disk)."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from gpscale.synth import SynthResult, generate

SMALL_SEED = 11
SMALL_PRACTICES = 60


@functools.cache
def small_england() -> SynthResult:
    """Synthetic England with ~60 practices (all layouts, 15 years); read-only for tests."""
    out = Path(tempfile.mkdtemp(prefix="gpscale-synth-"))
    return generate(out, seed=SMALL_SEED, practices=SMALL_PRACTICES)


def store_in_another_order(store: Path, copy: Path) -> Path:
    """A copy of ``store`` with every table's rows rewritten in another (fixed, scrambled) order.

    What another ingest, another Python hash seed or DuckDB's threads can do to the order rows come back in:
    results computed from the copy must agree with the original's to the bit.
    """
    import shutil

    from gpscale.store.db import open_store

    shutil.copy(store, copy)
    with open_store(copy) as st:
        tables = [r[0] for r in st.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'").fetchall()]
        for t in tables:
            st.con.execute(f'CREATE TEMP TABLE shuffled AS SELECT * FROM "{t}" ORDER BY hash(rowid * 7919 + 13)')
            st.con.execute(f'DELETE FROM "{t}"')
            st.con.execute(f'INSERT INTO "{t}" SELECT * FROM shuffled')
            st.con.execute("DROP TABLE shuffled")
    return copy
