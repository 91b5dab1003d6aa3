"""Loading indicator definitions: the shipped defaults plus a user folder that adds or overrides.

Each definition is one YAML file named after its id (``rx_broad_spectrum.yaml``). Errors are raised as
:class:`DefinitionError` naming the file and the field, so a user editing YAML sees exactly what to fix::

    my_indicators/rx_new.yaml: numerator.bnf_include.0: BNF prefix '05.1' must be 2-15 characters ...
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gpscale.indicators.model import IndicatorDefinition

#: The indicators shipped with gpscale: the original study's four domains, then continuity of care
#: (docs/indicators.md, docs/architecture.md); list output follows this order.
DEFAULT_IDS: tuple[str, ...] = (
    "rx_antibacterial_items",
    "rx_broad_spectrum",
    "rx_hypnotics_adq",
    "rx_nsaid_not_first_line",
    "hosp_emergency_admissions",
    "hosp_acsc_chronic",
    "hosp_ae_attendances",
    "hosp_outpatient_first",
    "qof_total",
    "qof_clinical",
    "qof_organisational",
    "gpps_overall_good",
    "gpps_recommend",
    "gpps_phone_easy",
    "gpps_opening_hours",
    "gpps_continuity",
)


class DefinitionError(ValueError):
    """A definition file is invalid; the message names the file and the field."""

    def __init__(self, path: Path | str, problems: Iterable[str]) -> None:
        self.path = Path(path)
        self.problems = list(problems)
        super().__init__("\n".join(f"{self.path}: {p}" for p in self.problems))


def default_definitions_dir() -> Path:
    """The folder of the shipped definitions (package data)."""
    return Path(str(resources.files("gpscale.indicators") / "definitions"))


def _format_loc(loc: tuple[Any, ...]) -> str:
    # pydantic puts the discriminator value into the location of a tagged union (numerator.prescribing.x);
    # users wrote numerator.x, so drop it.
    parts = [str(p) for p in loc]
    out: list[str] = []
    for i, p in enumerate(parts):
        if i > 0 and parts[i - 1] in ("numerator", "denominator") and p in (
            "prescribing", "registrations", "hospital", "expected", "qof", "gpps", "measure_value"
        ):
            continue
        out.append(p)
    return ".".join(out) or "(top level)"


def parse_definition(data: Any, path: Path | str) -> IndicatorDefinition:
    """Validate already-parsed YAML ``data`` from ``path`` (used for messages and the id/file-name rule)."""
    path = Path(path)
    if not isinstance(data, dict):
        raise DefinitionError(path, ["the file must be a YAML mapping of field: value"])
    try:
        d = IndicatorDefinition.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{_format_loc(err['loc'])}: {msg}")
        raise DefinitionError(path, problems) from None
    if d.id != path.stem:
        raise DefinitionError(path, [f"id: {d.id!r} must match the file name ({path.stem!r}.yaml)"])
    return d


def load_definition_file(path: Path | str) -> IndicatorDefinition:
    """Read and validate one definition file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DefinitionError(path, [f"not valid YAML: {exc}"]) from None
    except OSError as exc:
        raise DefinitionError(path, [f"cannot read: {exc.strerror}"]) from None
    return parse_definition(data, path)


def load_dir(directory: Path | str) -> dict[str, IndicatorDefinition]:
    """Every ``*.yaml``/``*.yml`` definition in ``directory``; all files' errors are reported together."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DefinitionError(directory, ["not a folder of indicator definitions"])
    out: dict[str, IndicatorDefinition] = {}
    errors: list[str] = []
    for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
        try:
            d = load_definition_file(path)
        except DefinitionError as exc:
            errors.extend(str(exc).splitlines())
            continue
        out[d.id] = d
    if errors:
        raise _Collected(errors)
    return out


class _Collected(DefinitionError):
    """Several files' problems at once (each line already names its file)."""

    def __init__(self, lines: list[str]) -> None:
        self.path = Path(".")
        self.problems = lines
        ValueError.__init__(self, "\n".join(lines))


def load_definitions(extra_dir: Path | str | None = None) -> dict[str, IndicatorDefinition]:
    """The shipped definitions, then ``extra_dir``'s (a user definition with a shipped id replaces it).

    Returned in a stable order: the defaults in :data:`DEFAULT_IDS` order, then user additions by id.
    """
    defaults = load_dir(default_definitions_dir())
    missing = [i for i in DEFAULT_IDS if i not in defaults]
    if missing:  # a broken installation, not a user error
        raise DefinitionError(default_definitions_dir(), [f"shipped definition missing: {m}" for m in missing])
    merged = dict(defaults)
    if extra_dir is not None:
        merged.update(load_dir(extra_dir))
    order = [i for i in DEFAULT_IDS if i in merged] + sorted(i for i in merged if i not in DEFAULT_IDS)
    return {i: merged[i] for i in order}


def select(
    definitions: dict[str, IndicatorDefinition], ids: Iterable[str] | None
) -> list[IndicatorDefinition]:
    """The definitions named by ``ids`` (all when None), raising a KeyError that lists the known ids."""
    if ids is None:
        return list(definitions.values())
    out = []
    for i in ids:
        if i not in definitions:
            raise KeyError(f"unknown indicator {i!r}; known: {', '.join(definitions)}")
        out.append(definitions[i])
    return out
