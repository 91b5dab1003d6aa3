"""Subtraction attacks through the command line: no hidden count follows from everything every output publishes.

One tiny world (:mod:`tests.e2e.cli_world`) goes through ``gpscale ingest``, ``evaluate --groups FILE
--excel`` and ``report``; the attacker (:mod:`tests.unit.web.harvest`) then reads every count the results
bundle (Parquet, CSV, Excel), the board packs, the national report and the dashboard (every page, CSV
download and JSON API answer) publish for each indicator and period, and solves
(:func:`tests.unit.web.attack.recoverable`): a hidden count is recovered when its coefficient vector lies
in the span of the published ones. The control puts one ungated figure among the published ones and the
same attacker then recovers a hidden count, so the suite can fail.
"""

from __future__ import annotations

import copy
import functools
import math
import tempfile
from pathlib import Path

import pytest

from gpscale.bundle import open_bundle
from gpscale.evaluate.run import evaluate
from gpscale.store import open_store
from tests.e2e import cli_world as W
from tests.unit.web.attack import Cell, Published, hidden_cells, recoverable, truth_of
from tests.unit.web.harvest import harvest

pytestmark = pytest.mark.slow


@functools.cache
def _world() -> W.CliWorld:
    return W.build(Path(tempfile.mkdtemp(prefix="gpscale-cli-attack-")))


@functools.cache
def _truth() -> tuple[dict[Cell, float], dict[tuple[str, str], list[str]], object]:
    """The raw evaluation (the analyst's Python API on the same store and registry file): the attacker's target."""
    w = _world()
    with open_store(w.store, read_only=True) as st:
        ev = evaluate(st, list(W.INDICATORS), groups_file=w.registry, analyses=["scorecard"], calibration=None)
    truth, pooled = truth_of(ev)
    return truth, pooled, ev.members


@functools.cache
def _published() -> Published:
    w = _world()
    return harvest(w.results, w.reports)


def _hidden(scenario: str) -> list[Cell]:
    truth, _, _ = _truth()
    bundle = open_bundle(_world().results)
    members = bundle.table("members")
    return [h for h in hidden_cells(bundle, members, W.SCENARIOS[scenario]) if truth.get(h, 0) > 0]


def test_the_world_holds_the_four_scenarios():
    bundle = open_bundle(_world().results)
    members = bundle.table("members")
    # (a) the file-only group is in the bundle with the registry file's members
    assert sorted(members.loc[members["group_id"] == W.FILE_GROUP, "practice_code"].unique()) == sorted(W.FILE_MEMBERS)
    assert "registry file" in " ".join(bundle.table("spells", "group_id = ?", [W.FILE_GROUP])["source"].astype(str))
    # (b) the leaver is a member before December 2022 and not after
    b = members[(members["group_id"] == W.SCENARIOS["b"]) & (members["practice_code"] == W.LEAVER)]
    assert "2022-11" in set(b["period"]) and "2022-12" not in set(b["period"])
    hidden = {s: _hidden(s) for s in W.SCENARIOS}
    assert all(hidden.values()), {s: len(h) for s, h in hidden.items()}
    assert any(u == f"P:{W.FILE_SMALL}" and p.startswith("2023") for u, _, p, _ in hidden["a"])
    assert any(u == f"P:{W.LEAVER}" and p <= "2022-11" for u, _, p, _ in hidden["b"])
    assert any(u == f"P:{W.SMALL}" for u, _, _, _ in hidden["c"])
    assert (f"P:{W.SURVEY_MEMBER}", "gpps_overall_good", W.SURVEY_YEAR, "numerator") in hidden["d"]


@pytest.mark.parametrize("scenario", sorted(W.SCENARIOS))
def test_no_hidden_count_is_recoverable_from_every_output_together(scenario):
    _, pooled, members = _truth()
    hidden = _hidden(scenario)
    pub = _published()
    shown = [h for h in hidden if (h[1], h[2], h[0]) in pub.values]  # a hidden cell's value goes with it
    assert not shown, f"scenario {scenario}: value of a hidden cell published: {shown[:5]}"
    found = recoverable(pub, members, pooled, hidden)  # type: ignore[arg-type]
    assert not found, f"scenario {scenario}: recoverable by subtraction: {found[:5]}"


def test_every_output_was_read():
    """The harvest reached every kind of output (else the attack above proves little)."""
    kinds = {w.split(":", 1)[0] for sources in _published().sources.values() for w in sources}
    assert {"parquet", "csv", "excel", "page", "download", "api", "report", "derived"} <= kinds, kinds


def test_every_count_read_is_the_evaluations_own():
    """The harvest files each number under the right cell: every count it read equals the raw evaluation's."""
    truth, _, _ = _truth()
    pub = _published()
    wrong = [(unit, ind, per, col, value, truth.get((unit, ind, per, col)), sorted(pub.sources[(ind, per, col, unit)]))
             for (ind, per, col), cells in pub.cells.items() if col != "value" for unit, value in cells.items()
             if abs(truth.get((unit, ind, per, col), math.inf) - value) > 1e-6 * max(1.0, abs(value))]
    assert not wrong, wrong[:5]
    assert sum(len(c) for (_, _, col), c in pub.cells.items() if col != "value") > 500


@pytest.mark.parametrize("scenario", sorted(W.SCENARIOS))
def test_control_one_ungated_figure_lets_the_attacker_recover_a_hidden_count(scenario):
    """Publishing one hidden cell's true count (as an ungated writer would) reveals another hidden count."""
    truth, pooled, members = _truth()
    hidden = _hidden(scenario)
    pub = _published()
    for leak in hidden:
        leaky: Published = copy.deepcopy(pub)
        leaky.add("ungated", leak[0], leak[1], leak[2], leak[3], truth[leak])
        found = [h for h in recoverable(leaky, members, pooled, hidden) if h != leak]  # type: ignore[arg-type]
        if found:
            return
    pytest.fail(f"scenario {scenario}: no single ungated figure revealed another hidden count")
