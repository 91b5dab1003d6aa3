"""One BLAS thread around small linear algebra (gpscale.blas): the limit holds inside, is lifted after, is
applied to the disclosure audit's SVDs, and changes no result."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_info, threadpool_limits

from gpscale.blas import one_blas_thread
from gpscale.disclosure import pooled


def _blas_threads() -> set[int]:
    return {int(lib["num_threads"]) for lib in threadpool_info() if lib["user_api"] == "blas"}


def _overlapping_world(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """40 practices with many small counts in 8 PCNs, and federations across them (overlapping sums)."""
    rng = np.random.default_rng(seed)
    codes = [f"P{i:02d}" for i in range(40)]
    counts = np.where(rng.random(40) < 0.3, rng.integers(1, 5, 40), rng.integers(5, 60, 40)).astype(float)
    groups = {f"PCN{k}": codes[5 * k:5 * k + 5] for k in range(8)}
    groups |= {f"FED{k}": list(rng.choice(codes, 9, replace=False)) for k in range(4)}
    num = dict(zip(codes, counts, strict=True))
    practice = pd.DataFrame({"indicator_id": "x", "practice_code": codes, "period": "FY2020/21",
                             "period_type": "fy", "numerator": counts, "denominator": 100.0})
    rows = [("england", "E92000001", counts.sum(), 100.0 * len(codes))]
    rows += [("group", g, sum(num[p] for p in m), 100.0 * len(m)) for g, m in groups.items()]
    entity = pd.DataFrame([{"entity_type": t, "entity_id": i, "indicator_id": "x", "period": "FY2020/21",
                            "period_type": "fy", "numerator": n, "denominator": d} for t, i, n, d in rows])
    members = pd.DataFrame([(g, p, "FY2020/21") for g, m in groups.items() for p in m],
                           columns=["group_id", "practice_code", "period"])
    return practice, entity, members


def test_one_blas_thread_inside_the_block_and_the_setting_restored_after():
    with threadpool_limits(limits=2, user_api="blas"):
        assert _blas_threads() == {2}
        with one_blas_thread():
            assert _blas_threads() == {1}
        assert _blas_threads() == {2}


def test_the_audit_runs_its_svds_on_one_thread(monkeypatch):
    seen: list[set[int]] = []
    svd = np.linalg.svd

    def recording_svd(*args, **kwargs):
        seen.append(_blas_threads())
        return svd(*args, **kwargs)

    monkeypatch.setattr(np.linalg, "svd", recording_svd)
    with threadpool_limits(limits=2, user_api="blas"):
        pooled.decide_pooled(*_overlapping_world(1), {"x": "proportion"})
    assert seen and all(s == {1} for s in seen)


def test_results_are_identical_with_and_without_the_limit(monkeypatch):
    for seed in range(3):
        world = _overlapping_world(seed)
        limited = pooled.decide_pooled(*world, {"x": "proportion"})
        with monkeypatch.context() as m, threadpool_limits(limits=2, user_api="blas"):
            m.setattr(pooled, "audit", pooled.audit.__wrapped__)  # the audit as it was, on every thread
            free = pooled.decide_pooled(*world, {"x": "proportion"})
        assert limited.audited_blocks == free.audited_blocks == 1 and limited.practice_hidden.sum() > 5
        for field in dataclasses.fields(limited):
            np.testing.assert_array_equal(getattr(limited, field.name), getattr(free, field.name))
