"""The BNF code prefixes prescribing is aggregated to at ingest (issue 17).

A national EPD month is ~18 million rows, but the prescribing indicators read only a few BNF sections. At
ingest each row's ``bnf_code`` is replaced by its **key**: the longest prefix in the set that the code
starts with, or ``''`` when it starts with none. Rows are then summed per practice × month × key.

Why this is exact: for any prefix ``p`` of the set, ``code.startswith(p)`` ⇔ ``key.startswith(p)``.
(If the key starts with ``p`` then so does the code, since the key is a prefix of the code; if the code
starts with ``p``, then ``p`` and the key are both prefixes of the code and the key is the longest such,
so ``p`` is a prefix of the key.) Every include/exclude rule over prefixes in the set therefore selects
the same rows from the keys as from the codes, and sums over the selected rows are sums of the per-key
sums. The ``''`` key keeps practice-months whose codes no indicator reads, so "prescribing data but none
of these drugs" (zero) stays distinct from "no prescribing data" (null).

The set is recorded with the aggregate (prefixes, the definitions it was built for, and a fingerprint of
the prefixes), so that computing a definition that needs a prefix outside it is refused rather than
silently wrong.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class RxCodeSet:
    """BNF prefixes to aggregate prescribing to, and the definitions (``id@vN``) they were gathered from."""

    prefixes: tuple[str, ...]
    served: tuple[str, ...] = ()

    @classmethod
    def of(cls, prefixes: Iterable[str], served: Iterable[str] = ()) -> RxCodeSet:
        """A code set with its prefixes and definitions sorted and de-duplicated."""
        return cls(tuple(sorted(set(prefixes))), tuple(sorted(set(served))))

    @property
    def fingerprint(self) -> str:
        """A short hash of the prefixes (what decides which definitions an aggregate can serve)."""
        return hashlib.sha256("\n".join(self.prefixes).encode()).hexdigest()[:16]

    def key_sql(self, column: str) -> str:
        """SQL mapping a BNF code column to its key (the longest prefix it starts with, else '').

        Nested like a trie: a code is tested against a prefix's longer prefixes only once it starts with
        that prefix, so the common code that no indicator reads costs a few tests, not one per prefix.
        """
        return _trie_case(column, self.prefixes, "''")

    def missing(self, needed: Iterable[str]) -> list[str]:
        """The prefixes of ``needed`` this set does not hold (the aggregate cannot answer rules on them)."""
        have = set(self.prefixes)
        return sorted(set(needed) - have)


def _trie_case(column: str, prefixes: Iterable[str], otherwise: str) -> str:
    """CASE over the outermost prefixes (none starts with another), each nesting its own longer ones."""
    prefixes = sorted(set(prefixes))
    roots = [p for p in prefixes if not any(p != q and p.startswith(q) for q in prefixes)]
    if not roots:
        return otherwise
    whens = []
    for r in roots:
        inner = [p for p in prefixes if p != r and p.startswith(r)]
        then = _trie_case(column, inner, f"'{r}'")
        whens.append(f"WHEN starts_with({column}, '{r}') THEN {then}")
    return f"CASE {' '.join(whens)} ELSE {otherwise} END"
