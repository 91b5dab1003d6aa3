"""Domain facts and closed vocabularies, each defined once for every stage to read.

* :mod:`gpscale.domain.vocabulary`: the words result tables carry (value types, polarities, comparison
  labels, trend classifications, funnel positions) as string-valued enums, so a table holds readable
  strings and code dispatches on enum members, never on string literals.
* :mod:`gpscale.domain.qof`: the published maximum QOF points of each financial year, which the QOF
  loaders check files against, the ``qof_total`` definition divides by and synthetic England writes.
* :mod:`gpscale.domain.groups`: what a PCN code is, and the placeholders ("U", "Unallocated", "Unknown or
  no PCN") that published files use for practices in no PCN, which are never groups.

This package sits below every stage (it imports only :mod:`gpscale.periods`), so sources, indicators,
stats, evaluate, synth and outputs can all depend on it.
"""
