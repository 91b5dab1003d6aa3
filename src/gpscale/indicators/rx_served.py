"""Which BNF prefixes the prescribing indicators need, and whether summed prescribing can serve them.

``gpscale ingest`` sums prescribing rows to the prefixes of the installed definitions
(:func:`code_set`; :mod:`gpscale.sources.rx_codes` explains why the sums are exact). A definition added
or changed later may need a prefix the sums dropped: :func:`refusals` finds every such definition and
month, so that computing it is refused with a message to re-ingest, never answered from the wrong rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gpscale.indicators.model import IndicatorDefinition, PrescribingSpec
from gpscale.sources.rx_codes import RxCodeSet


def needed_prefixes(d: IndicatorDefinition) -> set[str]:
    """Every BNF prefix a definition's rules test (includes and excludes, numerator and denominator)."""
    out: set[str] = set()
    for s in (d.numerator, d.denominator):
        if isinstance(s, PrescribingSpec):
            out.update(s.bnf_include)
            out.update(s.bnf_exclude)
    return out


def served_name(d: IndicatorDefinition) -> str:
    return f"{d.id}@v{d.version}"


def code_set(definitions: Iterable[IndicatorDefinition]) -> RxCodeSet:
    """The prefixes that serve every prescribing definition given, recorded with the definitions' names."""
    rx = [d for d in definitions if needed_prefixes(d)]
    return RxCodeSet.of((p for d in rx for p in needed_prefixes(d)), (served_name(d) for d in rx))


@dataclass(frozen=True)
class SummedMonth:
    """One month stored as sums (a row of ``prescribing_aggregate``, with the file it came from)."""

    period: str
    prefixes: tuple[str, ...]
    definitions: tuple[str, ...]
    fingerprint: str
    file_name: str


def refusals(definitions: Sequence[IndicatorDefinition], months: Sequence[SummedMonth]) -> list[str]:
    """One message per definition that needs prefixes some summed month (within its periods) dropped."""
    out = []
    for d in definitions:
        need = needed_prefixes(d)
        if not need:
            continue
        bad = [
            (m, missing)
            for m in months
            if d.periods.contains(m.period) and (missing := RxCodeSet.of(m.prefixes).missing(need))
        ]
        if not bad:
            continue
        first, missing = bad[0]
        periods = sorted({m.period for m, _ in bad})
        files = sorted({m.file_name for m, _ in bad})
        out.append(
            f"{d.id} (version {d.version}) needs BNF prefixes {', '.join(missing)} that the prescribing of "
            f"{len(periods)} month(s) ({periods[0]}" + (f" to {periods[-1]}" if len(periods) > 1 else "")
            + f"; file {files[0]}" + (f" and {len(files) - 1} more" if len(files) > 1 else "")
            + f") was summed without: those months were ingested summed for "
            f"{', '.join(first.definitions) or 'no definitions'} (code set {first.fingerprint}). Re-ingest "
            "those prescribing files with this definition installed (gpscale ingest --indicators DIR), or "
            "with --keep-rows to keep every row"
        )
    return out
