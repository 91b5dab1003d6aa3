"""The study: groups against England, trends, variation between members, characteristics, is bigger better?

Python API (every function returns pandas data frames; see docs/evaluation.md)::

    from gpscale.evaluate import bundle_meta, evaluate, make_bundle, write_bundle
    ev = evaluate(store)                      # all groups, indicators with data, as-was view (raw frames)
    ev.scorecard, ev.summary, ev.trends, ev.funnels, ev.dispersion, ev.convergence
    ev.profiles, ev.characteristics, ev.size_effect, ev.size_curve, ev.size_bands
    write_bundle(make_bundle(ev), Path("results"), meta=bundle_meta(ev), excel=True)   # disclosed

Each analysis is also callable on its own frames: :func:`scorecard`, :func:`group_trends`,
:func:`member_funnels`, :func:`dispersion`, :func:`convergence`, :func:`group_profiles`,
:func:`characteristics`, :func:`size_analysis` (with :func:`pooled_table` and
:func:`relative_performance` building their inputs), or all of them with :func:`evaluate_frames`.
"""

from gpscale.evaluate.bundle import bundle_meta, make_bundle, write_bundle
from gpscale.evaluate.characteristics import characteristics, relative_performance
from gpscale.evaluate.funnels import group_funnels, member_funnels
from gpscale.evaluate.pooling import pooled_table
from gpscale.evaluate.profiles import group_profiles, practice_context
from gpscale.evaluate.run import ANALYSES, Evaluation, evaluate, evaluate_frames
from gpscale.evaluate.scorecard import counts_by_group, scorecard
from gpscale.evaluate.size import size_analysis
from gpscale.evaluate.trends import group_trends
from gpscale.evaluate.variation import convergence, dispersion

__all__ = [
    "ANALYSES",
    "Evaluation",
    "bundle_meta",
    "characteristics",
    "convergence",
    "counts_by_group",
    "dispersion",
    "evaluate",
    "evaluate_frames",
    "group_funnels",
    "group_profiles",
    "group_trends",
    "make_bundle",
    "member_funnels",
    "pooled_table",
    "practice_context",
    "relative_performance",
    "scorecard",
    "size_analysis",
    "write_bundle",
]
