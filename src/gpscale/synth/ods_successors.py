"""The ODS successor-organisations file (``succ.csv``) for synthetic England.

Layout (ODS data downloads, "Successor Organisations"; also published as ``succarc.csv`` for the
archive): headerless CSV, five quoted fields per row: organisation code, successor organisation code,
reason for the succession, effective (legal) date ``CCYYMMDD``, succession indicator. A row is published
when a predecessor closes legally; the effective date is the legal date of the succession. Synthetic
England writes one row per practice that closed into a successor (half of all closures), effective the
day after its close date, with the reason and indicator fields left empty.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gpscale.synth.world import World


def write_successors(world: World, folder: Path) -> Path:
    """``succ.csv`` in the published layout (see module notes)."""
    p = world.practices
    rows = p[p["successor"].notna() & p["close_date"].notna()].sort_values("practice_code")
    lines = [
        f'"{r.practice_code}","{r.successor}","","{(r.close_date + timedelta(days=1)).strftime("%Y%m%d")}",""'
        for r in rows.itertuples()
    ]
    path = folder / "succ.csv"
    path.write_text("\n".join(lines) + ("\n" if lines else ""))
    return path
