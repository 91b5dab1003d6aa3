"""The example schemes shipped with gpscale, run on a store: what ``gpscale demo`` does with them.

The two examples live in ``examples/*.yaml`` (package data; docs/schemes/ links to them): network-average
standards paying a share of a network contract (the Tower Hamlets model) and points paid between a lower
and an upper threshold (the PCN Investment and Impact Fund model). :func:`run_examples` scores each on
the latest financial year in which the store has every one of its indicators (a scheme file names one
year; a demo's data go further), forecasts the year after, builds the design aid, and writes the
disclosed results bundle to ``<results>/schemes/<scheme id>/``, where the dashboard's scheme pages and
the board packs find it (docs/schemes.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gpscale.evaluate.common import fy_year
from gpscale.evaluate.schemes.design import SchemeDesign, design
from gpscale.evaluate.schemes.inputs import SchemeInputs
from gpscale.evaluate.schemes.model import Scheme

#: The shipped example scheme files.
EXAMPLES = Path(__file__).with_name("examples")


@dataclass(frozen=True)
class ExampleRun:
    """One example scheme as run: the scheme (moved to the year scored), its design aid, and its bundle."""

    scheme: Scheme
    aid: SchemeDesign
    folder: Path


def example_files() -> list[Path]:
    """The shipped example scheme files, by name."""
    return sorted(EXAMPLES.glob("*.yaml"))


def latest_year(scheme: Scheme, inputs: SchemeInputs) -> str | None:
    """The latest financial year in which every indicator of ``scheme`` has practice values (None if none)."""
    years: set[str] | None = None
    for e in scheme.indicators:
        have = {str(p) for p in inputs.values_of(e.indicator)["period"]}
        years = have if years is None else years & have
    return max(years, key=fy_year) if years else None


def run_examples(store: Path, results: Path, files: list[Path] | None = None, draws: int | None = None,
                 say: Callable[[str], None] = lambda _msg: None) -> list[ExampleRun]:
    """Score, forecast and design each scheme on ``store``; write its bundle to ``results/schemes/<id>``."""
    from gpscale.bundle import write_bundle
    from gpscale.evaluate.schemes.bundle import scheme_bundle, scheme_meta
    from gpscale.evaluate.schemes.inputs import inputs_from_store
    from gpscale.evaluate.schemes.loading import load_scheme
    from gpscale.store import open_store

    runs = []
    with open_store(store, read_only=True) as st:
        for path in files or example_files():
            scheme = load_scheme(path)
            inputs = inputs_from_store(st, scheme)
            year = latest_year(scheme, inputs)
            if year is None:
                say(f"scheme {scheme.id}: the store has no year with all of its indicators; not run")
                continue
            scheme = scheme.for_period(year)
            say(f"scheme {scheme.id}: scoring {year}, forecasting the year after, design aid")
            aid = design(scheme, inputs, draws=draws)
            folder = results / "schemes" / scheme.id
            write_bundle(scheme_bundle(aid.score, inputs, aid.forecast, aid), folder,
                         meta=scheme_meta(aid.score, inputs, aid.forecast))
            runs.append(ExampleRun(scheme, aid, folder))
    return runs
