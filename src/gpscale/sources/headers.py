"""Header matching on normalised meaning, not on exact strings.

Published files reword their headers every year ("List size", "All ages"; "Achievement score (559 max)",
"Achievement score (max. 559)"; "Partner\\r\\nOrganisation\\r\\nCode"). A loader describes each column it
needs as a :class:`Col`: alternative sets of words that must all appear in the normalised header, and
words that must not. :func:`resolve` picks, for each wanted column, the header that contains one of
its word sets with the fewest extra words, so "Practice code" beats "CCG ODS code (practice parent)".

Normalisation: lower case, BOM and non-breaking spaces removed, every run of punctuation, newline or
white space becomes one space, digits kept ("Q28_12pct" becomes "q28 12pct").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gpscale.sources.base import SourceError

_NON_WORD = re.compile(r"[^0-9a-z]+")

#: Words treated as the same meaning wherever they appear in a header.
SYNONYMS: dict[str, str] = {
    "organisation": "org",
    "organization": "org",
    "no": "number",
    "num": "number",
    "pct": "percent",
    "percentage": "percent",
    "cent": "percent",
    "max": "maximum",
    "prac": "practice",
    "gp": "practice",
    "pts": "points",
    "geography": "ons",
}


def norm(header: object) -> str:
    """Normalised form of a header cell: lower case words separated by single spaces."""
    s = "" if header is None else str(header)
    s = s.replace("\ufeff", "").replace("\xa0", " ").lower()
    return _NON_WORD.sub(" ", s).strip()


_FOOTNOTE = re.compile(r"^([a-z]{4,})\d{1,2}$")


def words(header: object) -> tuple[str, ...]:
    """The normalised words of a header, with synonyms mapped to one spelling.

    A footnote number glued to a word is dropped ("patients1" → "patients", "Participation3").
    """
    out = []
    for w in norm(header).split():
        m = _FOOTNOTE.match(w)
        if m:
            w = m.group(1)
        out.append(SYNONYMS.get(w, w))
    return tuple(out)


@dataclass(frozen=True)
class Col:
    """A wanted column: any one of ``any_of`` word sets must all be present; none of ``none_of``."""

    key: str
    any_of: tuple[tuple[str, ...], ...]
    none_of: tuple[str, ...] = ()
    required: bool = True
    description: str = ""

    def score(self, header: object) -> int | None:
        """Number of extra words beyond the best matching word set, or None if it does not match."""
        ws = words(header)
        wset = set(ws)
        if any(SYNONYMS.get(n, n) in wset for n in self.none_of):
            return None
        best: int | None = None
        for alt in self.any_of:
            need = [SYNONYMS.get(w, w) for w in alt]
            if all(w in wset for w in need):
                extra = len(ws) - len(need)
                if best is None or extra < best:
                    best = extra
        return best


def col(key: str, *alts: str, none_of: Sequence[str] = (), required: bool = True, description: str = "") -> Col:
    """Shorthand: ``col("list_size", "list size", "all ages")`` — each alternative is a space-separated word set."""
    return Col(
        key=key,
        any_of=tuple(tuple(words(a)) for a in alts),
        none_of=tuple(none_of),
        required=required,
        description=description or alts[0],
    )


@dataclass
class Resolved:
    """The header chosen for each wanted column (absent keys were optional and not found)."""

    columns: dict[str, str] = field(default_factory=dict)
    positions: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, key: str) -> str:
        return self.columns[key]

    def __contains__(self, key: object) -> bool:
        return key in self.columns

    def get(self, key: str) -> str | None:
        return self.columns.get(key)


def match(headers: Sequence[object], wanted: Iterable[Col]) -> tuple[Resolved, list[Col]]:
    """Match wanted columns to headers; return what was found and the required columns missing."""
    out = Resolved()
    missing: list[Col] = []
    taken: set[int] = set()
    for c in wanted:
        best_i, best_s = -1, 10**9
        for i, h in enumerate(headers):
            if i in taken:
                continue
            s = c.score(h)
            if s is not None and s < best_s:
                best_i, best_s = i, s
        if best_i >= 0:
            taken.add(best_i)
            out.columns[c.key] = str(headers[best_i])
            out.positions[c.key] = best_i
        elif c.required:
            missing.append(c)
    return out, missing


def resolve(headers: Sequence[object], wanted: Iterable[Col], path: Path | str, where: str = "header row") -> Resolved:
    """Like :func:`match` but raise ``missing-columns`` naming every required column not found."""
    found, missing = match(headers, wanted)
    if missing:
        names = ", ".join(f"{c.key} (e.g. '{c.description}')" for c in missing)
        seen = ", ".join(repr(str(h).replace("\r", "").replace("\n", " ")) for h in headers[:40])
        raise SourceError(path, "missing-columns", f"required columns not found: {names}; header has {seen}", where)
    return found


def score_headers(headers: Sequence[object], wanted: Iterable[Col]) -> float:
    """Share of the required wanted columns present in ``headers`` (0..1); used by sniffers."""
    req = [c for c in wanted if c.required]
    if not req:
        return 0.0
    _found, missing = match(headers, req)
    return 1.0 - len(missing) / len(req)
