"""Reading a scheme file: safe YAML, the pydantic model, then the checks that need the indicator definitions.

Every problem is reported as ``file:line: field: message`` (:class:`SchemeError`), with the field written
the way the user wrote it (``indicators[2].target.lower``) and the line of that field in the file, so a
commissioner editing YAML sees exactly what to fix. All problems of a file are reported together.

Safety: the file is read with PyYAML's safe loader (plain data only), refuses aliases (``*name``, the
"billion laughs" expansion), refuses a key given twice in one mapping (YAML would silently keep the last),
leaves dates as text, and refuses files over :data:`MAX_BYTES`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gpscale.domain.vocabulary import Link, Polarity, ValueType
from gpscale.evaluate.schemes.model import NetworkStandard, PracticeShare, Scheme, Thresholds
from gpscale.evaluate.schemes.targets import sign_of

#: Largest scheme file read (a scheme is a page of YAML; anything bigger is a mistake or an attack).
MAX_BYTES = 1_000_000


@dataclass(frozen=True)
class SchemeProblem:
    """One problem in a scheme file: where (file, line, field) and what."""

    file: str
    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}"


class SchemeError(ValueError):
    """A scheme file is invalid; ``problems`` lists every problem found, each naming file, line and field."""

    def __init__(self, problems: Iterable[SchemeProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class _SchemeLoader(yaml.SafeLoader):
    """Safe loading without aliases or duplicate keys, with dates left as text."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed in a scheme file",
                                              event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} is given twice",
                                                        key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_SchemeLoader.yaml_implicit_resolvers = {
    k: [r for r in v if r[0] != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _node_line(root: Any, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at a pydantic location (the deepest part that exists)."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if getattr(k, "value", None) == str(part)), None)
            if nxt is None:
                break
            line = next(k for k, v in node.value if v is nxt).start_mark.line + 1
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _field(loc: tuple[Any, ...], data: Any) -> str:
    """``('indicators', 2, 'target', 'thresholds', 'lower')`` -> ``indicators[2].target.lower``.

    pydantic puts the discriminator value of a tagged union into the location; the user did not write it.
    """
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            continue
        if isinstance(node, dict) and part not in node and isinstance(node.get("type"), str) and part == node["type"]:
            continue
        out += f".{part}" if out else str(part)
        node = node.get(part) if isinstance(node, dict) else None
    return out or "(top level)"


def parse_scheme_text(text: str, label: str) -> Scheme:
    """Validate a scheme from YAML text (``label`` names the file in messages)."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise SchemeError([SchemeProblem(label, "(file)", f"larger than {MAX_BYTES:,} bytes; not a scheme file")])
    try:
        root = yaml.compose(text, Loader=_SchemeLoader)
        data = yaml.load(text, Loader=_SchemeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise SchemeError([SchemeProblem(label, "(yaml)", f"not valid YAML: {problem}",
                                         mark.line + 1 if mark is not None else None)]) from None
    if not isinstance(data, dict):
        raise SchemeError([SchemeProblem(label, "(top level)", "a scheme is a YAML mapping (id, title, period, "
                                         "indicators...)", 1)])
    try:
        return Scheme.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(SchemeProblem(label, _field(loc, data), msg, _node_line(root, loc)))
        raise SchemeError(problems) from None


def read_scheme_file(path: Path | str) -> tuple[Scheme, str]:
    """Read and validate a scheme file; returns the scheme and its text (kept with results)."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise SchemeError([SchemeProblem(str(p), "(file)", f"{size:,} bytes is larger than {MAX_BYTES:,}; "
                                             "not a scheme file")])
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SchemeError([SchemeProblem(str(p), "(file)", f"cannot read: {exc.strerror or exc}")]) from None
    except UnicodeDecodeError:
        raise SchemeError([SchemeProblem(str(p), "(file)", "not UTF-8 text")]) from None
    return parse_scheme_text(text, str(p)), text


def check_against_definitions(scheme: Scheme, definitions: Mapping[str, Any], label: str,
                              text: str | None = None) -> None:
    """The checks that need the indicator definitions; raises :class:`SchemeError` listing every problem.

    Each indicator must exist, have a polarity, and a financial-year series; thresholds must run from
    worse to better by that polarity; standards of shares (proportions, survey proportions, QOF scores)
    must lie between 0 and the indicator's multiplier, and of rates and ratios not below 0.
    """
    root = yaml.compose(text, Loader=_SchemeLoader) if text else None
    problems: list[SchemeProblem] = []

    def add(i: int, field: str, message: str) -> None:
        loc = ("indicators", i, *field.split("."))
        problems.append(SchemeProblem(label, f"indicators[{i}].{field}", message,
                                      _node_line(root, loc) if root is not None else None))

    for i, e in enumerate(scheme.indicators):
        d = definitions.get(e.indicator)
        if d is None:
            add(i, "indicator", f"unknown indicator {e.indicator!r}; known: {', '.join(sorted(definitions))}")
            continue
        pol = Polarity(d.polarity)
        if pol is Polarity.NO_JUDGEMENT:
            add(i, "indicator", f"{e.indicator} has no polarity (no_judgement): a scheme cannot say which way is "
                                "better, so it cannot reward it")
            continue
        types = [str(t) for t in getattr(d, "period_types", ["fy"])]
        if "fy" not in types:
            add(i, "indicator", f"{e.indicator} has no financial-year values; schemes run by financial year")
        vt = ValueType(d.value_type)
        top = Decimal(repr(float(d.multiplier))) if vt.link is Link.LOGIT else None
        t = e.target
        values: dict[str, Decimal] = {}
        if isinstance(t, Thresholds):
            values = {"lower": t.lower, "upper": t.upper}
            if sign_of(pol) * (t.upper - t.lower) < 0:
                better = "above" if pol is Polarity.HIGH_IS_GOOD else "below"
                add(i, "target.upper", f"{e.indicator} is {pol}: the upper threshold (full payment) must be {better} "
                                       f"the lower threshold (where payment starts); got lower {t.lower}, upper "
                                       f"{t.upper}")
        elif isinstance(t, NetworkStandard | PracticeShare):
            values = {"standard": t.standard}
        for name, v in values.items():
            if v < 0 or (top is not None and v > top):
                rng = f"0 to {top.normalize():f}" if top is not None else "0 or more"
                add(i, f"target.{name}", f"{v} is outside the range of {e.indicator} ({rng} {d.unit})")
    if problems:
        raise SchemeError(problems)


def load_scheme(path: Path | str, definitions: Mapping[str, Any] | None = None,
                definitions_dir: Path | None = None) -> Scheme:
    """Read a scheme file and check it against the indicator definitions (shipped plus ``definitions_dir``)."""
    from gpscale.indicators.library import load_definitions

    scheme, text = read_scheme_file(path)
    defs = definitions if definitions is not None else load_definitions(definitions_dir)
    check_against_definitions(scheme, defs, str(path), text)
    return scheme
