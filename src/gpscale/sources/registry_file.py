"""The group registry file a user writes: YAML or CSV, loaded through the ordinary ingest.

YAML::

    gpscale_group_registry: 1
    groups:
      - id: FED-CASTLE
        name: Castle Federation
        kind: federation            # pcn | federation | super_partnership | multi_site | network | custom
        legal_form: company limited by shares
        founded: 2014-04-01
        contracts: [GMS, PMS]
        parent: null                # a group may sit inside another
        members:
          - {practice: A81001, start: 2014-04-01, end: null}

CSV: one row per membership spell, ``group_id, group_name, kind, practice_code, start_date, end_date``
(optional ``legal_form, founded, contracts, parent``; group attributes repeat on each row).

Rules (whole file rejected, naming group, practice and rule): unknown kind, end before start,
overlapping spells for the same practice in the same group, a group with no members, an empty group id,
name or practice code, a group id given twice, an invalid ODS practice code, a parent that is not in the
file or the store. Practice codes the store has never seen are loaded but reported, with the nearest known
code, in the ingest message.

Safe reading: a YAML file may not use aliases (``*name``: a few hundred bytes of nested aliases, a
"billion laughs", would otherwise expand to gigabytes), nor nest deeper than any registry needs, and a
registry file may be at most :data:`MAX_REGISTRY_BYTES`.

Identity by content: group ids are unique across registry files. A file sharing group ids with a registry
already in the store is a new edition of that registry (it replaces it, after the ingest's edition
comparison, whatever the file is called); a file sharing ids with two stored registries is refused.
"""

from __future__ import annotations

import difflib
import itertools
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import yaml

from gpscale.sources.base import Detection, FileHead, Loader, LoadResult, SourceError
from gpscale.sources.datafile import data_suffix, decompressed_size
from gpscale.sources.validate import PRACTICE_CODE_RE

if TYPE_CHECKING:
    import duckdb

GROUP_KINDS = ("pcn", "federation", "super_partnership", "multi_site", "network", "custom")
CSV_REQUIRED = ("group_id", "group_name", "kind", "practice_code", "start_date", "end_date")

RULE_KIND = "unknown-group-kind"
RULE_END_BEFORE_START = "end-before-start"
RULE_OVERLAP = "overlapping-spells"
RULE_EMPTY = "empty-group"
RULE_CODE = "invalid-ods-code"
RULE_PARENT = "unknown-parent"
RULE_SHAPE = "malformed-registry"
RULE_BLANK = "empty-id-or-name"
RULE_DUPLICATE_GROUP = "duplicate-group-id"
RULE_TWO_REGISTRIES = "group-in-two-registries"

#: A registry file larger than this is refused before it is parsed (the largest real registry is kilobytes).
MAX_REGISTRY_BYTES = 8 << 20


@dataclass(frozen=True)
class Spell:
    group_id: str
    practice_code: str
    start_date: date | None
    end_date: date | None
    where: str


class GroupRegistryFile(Loader):
    """Loader for gpscale group registry files (YAML or CSV)."""

    name = "group_registry"
    description = "gpscale group registry (groups and dated membership spells), YAML or CSV"
    header_hint = ",".join(CSV_REQUIRED)

    def sniff(self, head: FileHead) -> Detection | None:
        if head.kind == "yaml" and any(line.startswith("gpscale_group_registry:") for line in head.text_lines):
            return Detection(self.name, "yaml v1", f"group_registry:{head.name}")
        if head.kind == "csv" and head.text_lines:
            cols = {c.strip().lower() for c in head.text_lines[0].split(",")}
            if set(CSV_REQUIRED) <= cols:
                return Detection(self.name, "csv v1", f"group_registry:{head.name}")
        return None

    def load(self, head: FileHead, detection: Detection, con: duckdb.DuckDBPyConnection) -> LoadResult:
        path = head.path
        groups, spells = (_read_yaml(path) if detection.variant.startswith("yaml") else _read_csv(path))
        validate_registry(path, groups, spells, con)
        publication = registry_edition(path, {g["group_id"] for g in groups}, con) or detection.publication
        message = _unknown_practices_message(spells, con)
        group_df = pd.DataFrame([{k: v for k, v in g.items() if k != "where"} for g in groups])
        spell_df = pd.DataFrame(
            [{"group_id": s.group_id, "practice_code": s.practice_code, "start_date": s.start_date,
              "end_date": s.end_date} for s in spells]
        )
        return LoadResult(
            tables={"group_record": group_df, "membership": spell_df},
            rows_in=len(spells),
            periods=[],
            message=message,
            publication=publication,
        )


def registry_edition(path: Path, ids: set[str], con: duckdb.DuckDBPyConnection) -> str | None:
    """The stored registry this file is an edition of (they share group ids), or None for a new registry."""
    rows = con.execute(
        """SELECT DISTINCT l.publication, l.file_name, g.group_id
           FROM group_record g JOIN ingest_log l USING (ingest_id)
           WHERE l.format = 'group_registry' AND l.status = 'loaded'"""
    ).fetchall()
    shared: dict[str, tuple[str, str]] = {}
    for publication, file_name, gid in rows:
        if gid in ids:
            shared.setdefault(publication, (file_name, gid))
    if len(shared) > 1:
        found = "; ".join(f"{gid} in {name}" for name, gid in shared.values())
        raise SourceError(
            path,
            RULE_TWO_REGISTRIES,
            f"this file shares group ids with {len(shared)} stored registries ({found}); a group id belongs to one "
            "registry, so this file must be an edition of one of them",
            "groups",
        )
    return next(iter(shared), None)


def _date(value: Any, path: Path, where: str, field: str) -> date | None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise SourceError(path, "impossible-date", f"{field} {value!r} is not a date (YYYY-MM-DD)", where) from exc


class _TextDateLoader(yaml.SafeLoader):
    """Safe YAML loading that leaves dates as text (a bad date is reported where it is) and refuses aliases."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in a registry file; write each value out", mark
            )
        return super().compose_node(parent, index)


_TextDateLoader.yaml_implicit_resolvers = {
    k: [r for r in v if r[0] != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _check_size(path: Path) -> None:
    size = decompressed_size(path, MAX_REGISTRY_BYTES)
    if size > MAX_REGISTRY_BYTES:
        raise SourceError(
            path, RULE_SHAPE, f"{size:,} bytes is more than a registry file may hold ({MAX_REGISTRY_BYTES:,})", "file"
        )


def _text(value: Any) -> str:
    """A scalar as trimmed text; '' for a missing value (YAML null, an empty cell)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, dict | list):
        return repr(value)
    return str(value).strip()


def _read_yaml(path: Path) -> tuple[list[dict[str, Any]], list[Spell]]:
    _check_size(path)
    try:
        doc = yaml.load(path.read_text(encoding="utf-8-sig"), Loader=_TextDateLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "file"
        raise SourceError(path, RULE_SHAPE, f"not valid YAML: {exc}", where) from exc
    except UnicodeDecodeError as exc:
        raise SourceError(path, RULE_SHAPE, f"a registry file is UTF-8 text: byte {exc.start} is not UTF-8",
                          "file") from exc
    except RecursionError as exc:
        raise SourceError(path, RULE_SHAPE, "the YAML nests more deeply than a registry file can", "file") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list):
        raise SourceError(path, RULE_SHAPE, "expected a mapping with a 'groups' list", "file")
    groups: list[dict[str, Any]] = []
    spells: list[Spell] = []
    for i, g in enumerate(doc["groups"], start=1):
        where = f"group {i}"
        if not isinstance(g, dict) or "id" not in g or "name" not in g or "kind" not in g:
            raise SourceError(path, RULE_SHAPE, "each group needs id, name and kind", where)
        gid = _text(g["id"])
        where = f"group {gid}" if gid else f"group {i}"
        contracts = g.get("contracts")
        members = g.get("members") or []
        if not isinstance(members, list):
            raise SourceError(path, RULE_SHAPE, "members must be a list", where)
        groups.append(
            {
                "group_id": gid,
                "as_of": None,
                "name": _text(g["name"]),
                "kind": _text(g["kind"]),
                "where": where,
                "legal_form": g.get("legal_form"),
                "founded": _date(g.get("founded"), path, where, "founded"),
                "contracts": "/".join(contracts) if isinstance(contracts, list) else contracts,
                "parent": g.get("parent"),
            }
        )
        for j, m in enumerate(members, start=1):
            if not isinstance(m, dict) or "practice" not in m:
                raise SourceError(path, RULE_SHAPE, "each member needs a practice code", f"{where}, member {j}")
            w = f"{where}, member {j} ({_text(m['practice'])})"
            spells.append(
                Spell(gid, _text(m["practice"]).upper(), _date(m.get("start"), path, w, "start"),
                      _date(m.get("end"), path, w, "end"), w)
            )
    return groups, spells


def _read_csv(path: Path) -> tuple[list[dict[str, Any]], list[Spell]]:
    from gpscale.sources.common import read_text_csv

    _check_size(path)
    table = read_text_csv(path)
    heads = [h.strip().lower() for h in table.headers]
    missing = [c for c in CSV_REQUIRED if c not in heads]
    if missing:
        raise SourceError(path, "missing-columns", f"missing required columns: {', '.join(missing)}", "header")
    if table.wrong_width:
        i, seen = table.wrong_width[0]
        raise SourceError(path, "wrong-field-count", f"row has {seen} fields, header has {len(heads)}",
                          f"line {table.lines[i]}")
    df = table.frame.set_axis(heads, axis=1)
    groups: dict[str, dict[str, Any]] = {}
    spells: list[Spell] = []
    for i, row in enumerate(df.to_dict("records")):
        where = f"line {table.lines[i]}"
        gid = row["group_id"].strip()
        attrs = {
            "group_id": gid,
            "as_of": None,
            "name": row["group_name"].strip(),
            "kind": row["kind"].strip(),
        }
        known = groups.get(gid)
        if known is not None and any(known[k] != attrs[k] for k in ("name", "kind")):
            raise SourceError(path, RULE_DUPLICATE_GROUP, f"group {gid!r} is given as {known['name']!r} "
                              f"({known['kind']}) and as {attrs['name']!r} ({attrs['kind']})", where)
        groups.setdefault(
            gid,
            {
                **attrs,
                "where": f"group {gid} ({where})" if gid else where,
                "legal_form": row.get("legal_form") or None,
                "founded": _date(row.get("founded"), path, where, "founded"),
                "contracts": row.get("contracts") or None,
                "parent": row.get("parent") or None,
            },
        )
        spells.append(
            Spell(gid, row["practice_code"].strip().upper(), _date(row["start_date"], path, where, "start_date"),
                  _date(row["end_date"], path, where, "end_date"), f"{where} ({gid}, {row['practice_code']})")
        )
    return list(groups.values()), spells


@dataclass(frozen=True)
class Problem:
    """One finding about a registry file: an error (the file would be rejected) or a warning."""

    level: str  # error | warning
    rule: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.level}: {self.where}: [{self.rule}] {self.detail}"


RULE_UNKNOWN_PRACTICE = "unknown-practice-code"


def registry_problems(
    groups: list[dict[str, Any]],
    spells: list[Spell],
    known_groups: set[str] | None = None,
    known_practices: list[str] | None = None,
) -> list[Problem]:
    """Every rule broken by a registry (errors), plus practice codes the store has never seen (warnings).

    ``known_groups`` are group ids already in the store (allowed as parents); ``known_practices`` the
    practice codes the store knows (without them no unknown-code warnings are given).
    """
    import re

    out: list[Problem] = []
    code_re = re.compile(PRACTICE_CODE_RE)
    ids = {g["group_id"] for g in groups}
    known_parents = ids | (known_groups or set())
    seen_ids: set[str] = set()
    for g in groups:
        where = g.get("where") or f"group {g['group_id']}"
        if not g["group_id"] or not g["name"]:
            blank = "id" if not g["group_id"] else "name"
            out.append(Problem("error", RULE_BLANK, where, f"the group's {blank} is empty"))
        if g["group_id"] in seen_ids:
            out.append(Problem("error", RULE_DUPLICATE_GROUP, where,
                               f"group id {g['group_id']!r} is given twice in the file"))
        seen_ids.add(g["group_id"])
        if g["kind"] not in GROUP_KINDS:
            out.append(Problem("error", RULE_KIND, where, f"kind {g['kind']!r} is not one of {', '.join(GROUP_KINDS)}"))
        if g["parent"] and g["parent"] not in known_parents:
            out.append(Problem("error", RULE_PARENT, where, f"parent {g['parent']!r} is not a known group"))
    with_members = {s.group_id for s in spells}
    for g in groups:
        if g["group_id"] not in with_members:
            out.append(Problem("error", RULE_EMPTY, f"group {g['group_id']}", "the group has no members"))
    by_key: dict[tuple[str, str], list[Spell]] = {}
    for s in spells:
        if not s.practice_code:
            out.append(Problem("error", RULE_BLANK, s.where, "the member's practice code is empty"))
        elif not code_re.match(s.practice_code):
            out.append(Problem("error", RULE_CODE, s.where, f"{s.practice_code!r} is not an ODS practice code"))
        if s.start_date and s.end_date and s.end_date < s.start_date:
            out.append(Problem("error", RULE_END_BEFORE_START, s.where,
                               f"end {s.end_date} is before start {s.start_date}"))
        by_key.setdefault((s.group_id, s.practice_code), []).append(s)
    for (gid, code), lst in by_key.items():
        ordered = sorted(lst, key=lambda s: s.start_date or date.min)
        for a, b in itertools.pairwise(ordered):
            a_end = a.end_date or date.max
            if (b.start_date or date.min) <= a_end:
                out.append(Problem("error", RULE_OVERLAP, b.where,
                                   f"practice {code} has overlapping spells in group {gid}: "
                                   f"{a.start_date}..{a.end_date} and {b.start_date}..{b.end_date}"))
    if known_practices:
        known_set = set(known_practices)
        seen: set[str] = set()
        for s in spells:
            if s.practice_code in known_set or s.practice_code in seen or not code_re.match(s.practice_code):
                continue
            seen.add(s.practice_code)
            near = nearest_known(s.practice_code, known_practices)
            hint = f"; nearest known code: {near}" if near else ""
            out.append(Problem("warning", RULE_UNKNOWN_PRACTICE, s.where,
                               f"practice {s.practice_code} is not in the store{hint}"))
    return out


def read_registry(path: Path) -> tuple[list[dict[str, Any]], list[Spell]]:
    """Read a YAML or CSV registry file (by extension) into groups and spells; shape errors raise SourceError."""
    if path.suffix.lower() in (".yaml", ".yml"):
        return _read_yaml(path)
    if data_suffix(path) in (".csv", ".csv.gz"):
        return _read_csv(path)
    raise SourceError(path, RULE_SHAPE, "a group registry is a .yaml, .yml, .csv or .csv.gz file")


def validate_registry(
    path: Path, groups: list[dict[str, Any]], spells: list[Spell], con: duckdb.DuckDBPyConnection | None
) -> None:
    """Apply the registry rules; raise SourceError naming the group, practice and rule (the first error)."""
    known_groups = None
    if con is not None:
        known_groups = {r[0] for r in con.execute("SELECT group_id FROM group_record").fetchall()}
    for p in registry_problems(groups, spells, known_groups):
        if p.level == "error":
            raise SourceError(path, p.rule, p.detail, p.where)


def nearest_known(code: str, known: list[str]) -> str | None:
    """The known practice code most like ``code`` (a likely typo), if any is close enough."""
    near = difflib.get_close_matches(code, known, n=1, cutoff=0.6)
    return near[0] if near else None


def _unknown_practices_message(spells: list[Spell], con: duckdb.DuckDBPyConnection) -> str:
    known = [r[0] for r in con.execute("SELECT DISTINCT practice_code FROM practice_record").fetchall()]
    if not known:
        return ""
    known_set = set(known)
    unknown = sorted({s.practice_code for s in spells} - known_set)
    if not unknown:
        return ""
    hints = []
    for code in unknown[:10]:
        near = nearest_known(code, known)
        hints.append(f"{code} (nearest known: {near})" if near else code)
    more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
    return f"warning: {len(unknown)} practice codes not in the store: {', '.join(hints)}{more}"
