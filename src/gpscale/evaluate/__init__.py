"""The study: groups against England, trends, variation between members, characteristics, is bigger better?

Python API (every function returns pandas data frames; see docs/evaluation.md)::

    from gpscale.evaluate import evaluate, write_tables
    ev = evaluate(store)                      # all groups, indicators with data, as-was view
    ev.scorecard, ev.summary, ev.trends, ev.funnels, ev.dispersion, ev.convergence
    ev.profiles, ev.characteristics, ev.size_effect, ev.size_curve, ev.size_bands
    write_tables(ev, Path("results"), excel=True)

Each analysis is also callable on its own frames: :func:`scorecard`, :func:`group_trends`,
:func:`member_funnels`, :func:`dispersion`, :func:`convergence`, :func:`group_profiles`,
:func:`characteristics`, :func:`size_analysis` (with :func:`pooled_table` and
:func:`relative_performance` building their inputs), or all of them with :func:`evaluate_frames`.
"""

from gpscale.evaluate.characteristics import characteristics, relative_performance
from gpscale.evaluate.pooling import pooled_table
from gpscale.evaluate.profiles import group_profiles, practice_context
from gpscale.evaluate.run import ANALYSES, Evaluation, evaluate, evaluate_frames, write_tables
from gpscale.evaluate.scorecard import counts_by_group, scorecard
from gpscale.evaluate.size import size_analysis
from gpscale.evaluate.trends import group_trends
from gpscale.evaluate.variation import convergence, dispersion, member_funnels

__all__ = [
    "ANALYSES",
    "Evaluation",
    "characteristics",
    "convergence",
    "counts_by_group",
    "dispersion",
    "evaluate",
    "evaluate_frames",
    "group_profiles",
    "group_trends",
    "member_funnels",
    "pooled_table",
    "practice_context",
    "relative_performance",
    "scorecard",
    "size_analysis",
    "write_tables",
]
