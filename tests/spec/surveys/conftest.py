"""Helpers for survey spec tests: write a codebook and a readable responses table to files.

Responses are written as aligned CSV text (cells are stripped on reading, so columns can be padded for
readability). ``expand`` turns a compact table of counts into one row per respondent.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

WriteSurvey = Callable[[dict[str, Any], str], tuple[Path, Path]]


@pytest.fixture(scope="module")
def write_survey(tmp_path_factory: pytest.TempPathFactory) -> WriteSurvey:
    tmp_path = tmp_path_factory.mktemp("survey")
    counter = {"n": 0}

    def _write(codebook: dict[str, Any], responses: str) -> tuple[Path, Path]:
        counter["n"] += 1
        cb = tmp_path / f"codebook{counter['n']}.yaml"
        cb.write_text(yaml.safe_dump(codebook, sort_keys=False), encoding="utf-8")
        rs = tmp_path / f"responses{counter['n']}.csv"
        rs.write_text(textwrap.dedent(responses).strip() + "\n", encoding="utf-8")
        return cb, rs

    return _write


def _expand(header: list[str], groups: list[tuple[int, list[str]]], id_prefix: str = "R") -> str:
    """CSV text with ``count`` identical rows for each ``(count, values)``; ids are added first."""
    lines = [",".join(["id", *header])]
    n = 0
    for count, values in groups:
        for _ in range(count):
            n += 1
            lines.append(",".join([f"{id_prefix}{n:03d}", *values]))
    return "\n".join(lines)


@pytest.fixture(scope="module")
def expand() -> Callable[..., str]:
    return _expand


def _linear_attack(table: pd.DataFrame, dims: list[str], count: str, finest: pd.DataFrame) -> pd.DataFrame:
    """An attacker with linear algebra and every published cell: which hidden cells can be computed?

    ``finest`` lists every combination of ``dims`` that has respondents (the attacker is assumed to
    know this much). Each published row is an equation: the sum of the finest cells it covers equals
    its count. A hidden row is recovered when its indicator vector is in the span of the visible rows,
    i.e. adding it does not raise the rank. Written independently of :mod:`gpscale.disclosure`.
    """

    cells = table.drop_duplicates([*dims, "level"]) if "level" in table.columns else table.drop_duplicates(dims)
    fine = finest[dims].astype(str).drop_duplicates().reset_index(drop=True)

    def vector(r) -> np.ndarray:
        mask = np.ones(len(fine), dtype=bool)
        for d in dims:
            if str(r[d]) != "All":
                mask &= (fine[d] == str(r[d])).to_numpy()
        return mask.astype(float)

    visible = [vector(r) for _, r in cells.iterrows() if not pd.isna(r[count])]
    a = np.array(visible) if visible else np.zeros((0, len(fine)))
    rank = np.linalg.matrix_rank(a) if len(a) else 0
    recovered = []
    for _, r in cells.iterrows():
        if pd.isna(r[count]):
            v = vector(r)
            if np.linalg.matrix_rank(np.vstack([a, v])) == rank:
                recovered.append(r[dims].to_dict())
    return pd.DataFrame(recovered, columns=dims)


@pytest.fixture
def linear_attack() -> Callable[..., pd.DataFrame]:
    return _linear_attack
