"""Synthetic collaboration and staff surveys for synthetic England (used by ``make demo`` and tests).

:func:`write_synthetic_surveys` writes two codebook + responses pairs:

* ``collaboration_codebook.yaml`` / ``collaboration_responses.csv``: about 1,000 practice respondents
  (fewer when fewer practice codes are given) and about 100 commissioner respondents. About 73% of
  practices collaborate, the proportion the Nuffield Trust's 2016 survey for *Is bigger better?* found.
  Larger practices respond and collaborate slightly more often; the non-response weights undo the first,
  so the weighted share is close to 73% and a little below the unweighted one. Forms, formality,
  population covered, months since forming (spread over the three maturity bands), reasons, and
  achievements that are cited more often the longer a collaboration has existed ("nothing yet" is common
  in its first year); support needed differs between practices (funding, clinical backfill) and
  commissioners (management capacity, IT and data sharing).
* ``staff_codebook.yaml`` / ``staff_responses.csv``: staff of the named groups (``site`` = the practice
  code), about a dozen per practice across the seven roles; satisfaction varies by role (partners and
  receptionists least satisfied with workload and pay, managers most satisfied) and engagement is higher
  with the own practice than with the wider organisation, most of all for reception and admin staff.

Everything is drawn from one ``numpy`` generator seeded with ``seed`` and written with fixed formatting,
so the same inputs give byte-identical files. The effect sizes are invented for realism, not estimates.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from importlib import resources
from pathlib import Path

import numpy as np

PRACTICE_TARGET = 1000
COMMISSIONER_TARGET = 100
#: P(collaborating) for small, medium and large practices: 73% overall (Nuffield Trust survey, 2016)
_SIZE_COLLAB = np.array([0.68, 0.73, 0.78])
_SIZE_RESPONSE = np.array([0.50, 0.60, 0.70])  # response propensity by size
_FORMS = ["federation", "network", "super_partnership", "multi_site", "other"]
_FORM_P = np.array([0.52, 0.22, 0.09, 0.05, 0.12])
_FORMAL_P = {"federation": 0.9, "network": 0.45, "super_partnership": 1.0, "multi_site": 1.0, "other": 0.4}
_BAND_P = {
    "federation": [0.30, 0.35, 0.35],
    "network": [0.45, 0.30, 0.25],
    "super_partnership": [0.25, 0.30, 0.45],
    "multi_site": [0.20, 0.25, 0.55],
    "other": [0.45, 0.30, 0.25],
}
_POP_MEDIAN = {
    "federation": 110_000,
    "network": 35_000,
    "super_partnership": 70_000,
    "multi_site": 55_000,
    "other": 25_000,
}
_SAME_COMM_P = {"federation": 0.82, "network": 0.95, "super_partnership": 0.55, "multi_site": 0.40, "other": 0.90}
_REASONS = {
    "sustainability": 0.64,
    "bid_for_contracts": 0.58,
    "wider_services": 0.52,
    "workforce": 0.44,
    "quality": 0.47,
    "peer_support": 0.41,
    "back_office": 0.36,
    "influence": 0.33,
    "commissioner_encouraged": 0.21,
    "premises": 0.11,
}
#: P(cited) by maturity band 0-12, 13-24, 25+ months
_ACHIEVEMENTS = {
    "peer_support": (0.30, 0.42, 0.52),
    "stronger_voice": (0.20, 0.28, 0.35),
    "staff_training": (0.12, 0.26, 0.38),
    "back_office": (0.08, 0.20, 0.34),
    "new_services": (0.10, 0.24, 0.41),
    "extended_access": (0.09, 0.21, 0.36),
    "won_contracts": (0.04, 0.13, 0.30),
    "new_roles": (0.05, 0.14, 0.27),
    "cost_savings": (0.04, 0.10, 0.20),
}
_SUPPORT = {
    #               practice, commissioner
    "funding": (0.68, 0.38),
    "backfill": (0.55, 0.22),
    "management": (0.42, 0.63),
    "legal": (0.33, 0.47),
    "it_data": (0.40, 0.58),
    "estates": (0.24, 0.35),
    "workforce": (0.30, 0.52),
    "commissioner_clarity": (0.37, 0.10),
}

_ROLES = ["gp_partner", "salaried_gp", "nurse", "receptionist", "administrator", "manager", "other"]
_ROLE_RATE = np.array([2.0, 1.0, 1.8, 3.2, 1.8, 0.9, 0.9])  # responding staff per practice
_ROLE_EFFECT = {
    "gp_partner": -0.35,
    "salaried_gp": 0.05,
    "nurse": 0.15,
    "receptionist": -0.30,
    "administrator": 0.05,
    "manager": 0.35,
    "other": 0.10,
}
_ITEM_MEAN = {
    "sat_overall": 0.55,
    "sat_workload": -0.10,
    "sat_pay": 0.20,
    "sat_recognition": 0.25,
    "sat_autonomy": 0.50,
    "sat_colleagues": 1.00,
    "sat_training": 0.35,
}
_ITEM_ROLE = {
    ("sat_workload", "gp_partner"): -0.6,
    ("sat_workload", "salaried_gp"): -0.2,
    ("sat_pay", "receptionist"): -0.6,
    ("sat_pay", "administrator"): -0.3,
    ("sat_pay", "gp_partner"): 0.3,
    ("sat_autonomy", "gp_partner"): 0.4,
    ("sat_autonomy", "receptionist"): -0.3,
    ("sat_training", "nurse"): 0.2,
    ("sat_training", "receptionist"): -0.2,
}
_ENG_PRACTICE_ROLE = {"gp_partner": 0.3, "manager": 0.3, "receptionist": -0.1}
_ENG_ORG_ROLE = {"gp_partner": 0.4, "manager": 0.5, "receptionist": -0.4, "administrator": -0.2, "nurse": -0.1}
_THRESHOLDS = np.array([-1.6, -0.7, 0.1, 1.3])


def standard_codebook(name: str) -> str:
    """Text of a standard codebook shipped with gpscale (``collaboration`` or ``staff``)."""
    return (resources.files("gpscale.surveys") / "codebooks" / f"{name}.yaml").read_text(encoding="utf-8")


def write_synthetic_surveys(
    out_dir: Path,
    seed: int,
    practice_codes: list[str],
    commissioner_codes: list[str],
    groups: dict[str, list[str]],
) -> list[Path]:
    """Write the synthetic collaboration and staff surveys into ``out_dir``; return the paths written.

    ``groups`` maps group id to member practice codes; the staff survey covers those groups (a practice in
    two groups has staff answering for each). Same arguments and seed give byte-identical files.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    collab_rng, staff_rng = rng.spawn(2)
    paths = []
    for name, header, rows in (
        ("collaboration", *_collaboration(collab_rng, practice_codes, commissioner_codes)),
        ("staff", *_staff(staff_rng, groups)),
    ):
        codebook = out_dir / f"{name}_codebook.yaml"
        codebook.write_bytes(standard_codebook(name).encode("utf-8"))
        responses = out_dir / f"{name}_responses.csv"
        responses.write_bytes(_csv_bytes(header, rows))
        paths += [codebook, responses]
    return paths


def _csv_bytes(header: list[str], rows: list[dict[str, str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _blank_sometimes(rng: np.random.Generator, value: str, p: float) -> str:
    return "" if rng.random() < p else value


def _collaboration(
    rng: np.random.Generator, practice_codes: list[str], commissioner_codes: list[str]
) -> tuple[list[str], list[dict[str, str]]]:
    achievement_cols = [f"achievements_{a}" for a in [*_ACHIEVEMENTS, "nothing_yet"]]
    header = [
        "respondent_id",
        "respondent_type",
        "org_code",
        "date_completed",
        "weight",
        "collaborating",
        "formality",
        "form",
        "population_covered",
        "practices_in_collaboration",
        "same_commissioner",
        "months_since_forming",
        "reasons",
        *achievement_cols,
        "improved_care",
        "support_needed",
    ]
    practices = sorted(dict.fromkeys(practice_codes))
    n_p = min(PRACTICE_TARGET, len(practices))
    chosen = [practices[i] for i in sorted(rng.choice(len(practices), n_p, replace=False))] if n_p else []
    size_p = _SIZE_RESPONSE / _SIZE_RESPONSE.sum()
    weights_by_size = (1 / 3) / size_p
    start = dt.date(2015, 10, 5)
    rows: list[dict[str, str]] = []
    for code in chosen:
        size = int(rng.choice(3, p=size_p))
        weight = weights_by_size[size] * float(np.exp(rng.normal(0.0, 0.05)))
        row = dict.fromkeys(header, "")
        row.update(
            respondent_type="practice",
            org_code=code,
            weight=f"{weight:.4f}",
            date_completed=(start + dt.timedelta(days=int(rng.integers(0, 75)))).isoformat(),
        )
        collaborating = rng.random() < _SIZE_COLLAB[size]
        row["collaborating"] = "yes" if collaborating else "no"
        if collaborating:
            _collaboration_details(rng, row)
        row["support_needed"] = _pick(rng, {k: v[0] for k, v in _SUPPORT.items()})
        rows.append(row)
    comms = sorted(dict.fromkeys(commissioner_codes))
    if comms:
        if len(comms) >= COMMISSIONER_TARGET:
            picks = [comms[i] for i in sorted(rng.choice(len(comms), COMMISSIONER_TARGET, replace=False))]
        else:  # several respondents per commissioner (e.g. clinical lead and primary care manager)
            extra = rng.choice(len(comms), COMMISSIONER_TARGET - len(comms), replace=True)
            picks = sorted([*comms, *[comms[i] for i in extra]])
        for code in picks:
            row = dict.fromkeys(header, "")
            row.update(
                respondent_type="commissioner",
                org_code=code,
                weight="1.0000",
                date_completed=(start + dt.timedelta(days=int(rng.integers(0, 75)))).isoformat(),
                support_needed=_pick(rng, {k: v[1] for k, v in _SUPPORT.items()}),
            )
            rows.append(row)
    order = sorted(range(len(rows)), key=lambda i: (rows[i]["date_completed"], i))
    out = []
    for n, i in enumerate(order, start=1):
        rows[i]["respondent_id"] = f"C{n:05d}"
        out.append(rows[i])
    return header, out


def _collaboration_details(rng: np.random.Generator, row: dict[str, str]) -> None:
    form = _FORMS[int(rng.choice(len(_FORMS), p=_FORM_P))]
    row["form"] = _blank_sometimes(rng, form, 0.02)
    row["formality"] = _blank_sometimes(rng, "formal" if rng.random() < _FORMAL_P[form] else "informal", 0.02)
    pop = float(np.clip(_POP_MEDIAN[form] * np.exp(rng.normal(0.0, 0.6)), 3000, 1_500_000))
    row["population_covered"] = _blank_sometimes(rng, str(int(round(pop, -2))), 0.08)
    practices = int(np.clip(round(pop / max(rng.normal(7500, 1500), 3000)), 2, 500))
    row["practices_in_collaboration"] = _blank_sometimes(rng, str(practices), 0.04)
    row["same_commissioner"] = _blank_sometimes(rng, "yes" if rng.random() < _SAME_COMM_P[form] else "no", 0.03)
    band = int(rng.choice(3, p=_BAND_P[form]))
    if band == 0:
        months = int(rng.integers(0, 13))
    elif band == 1:
        months = int(rng.integers(13, 25))
    else:
        months = 25 + min(int(rng.exponential(30.0)), 215)
    row["months_since_forming"] = _blank_sometimes(rng, str(months), 0.03)
    row["reasons"] = _blank_sometimes(rng, _pick(rng, _REASONS), 0.02)
    if rng.random() >= 0.03:
        cited = {a: rng.random() < p[band] for a, p in _ACHIEVEMENTS.items()}
        cited["nothing_yet"] = not any(cited.values())
        for a, c in cited.items():
            row[f"achievements_{a}"] = "1" if c else "0"
    if rng.random() < 0.06:
        row["improved_care"] = "9"
    elif rng.random() >= 0.03:
        row["improved_care"] = str(int(np.clip(round(rng.normal((3.2, 3.6, 3.9)[band], 0.9)), 1, 5)))


def _pick(rng: np.random.Generator, probs: dict[str, float]) -> str:
    chosen = [k for k, p in probs.items() if rng.random() < p]
    if not chosen:
        chosen = [max(probs, key=lambda k: probs[k])]
    return ";".join(chosen)


def _likert(rng: np.random.Generator, mu: float) -> int:
    return int(np.searchsorted(_THRESHOLDS, mu + rng.normal(0.0, 0.8))) + 1


def _staff(rng: np.random.Generator, groups: dict[str, list[str]]) -> tuple[list[str], list[dict[str, str]]]:
    sat_items = list(_ITEM_MEAN)
    eng_items = ["eng_practice_valued", "eng_practice_voice", "eng_org_valued", "eng_org_voice"]
    header = ["respondent_id", "group", "site", "role", *sat_items, *eng_items]
    rows: list[dict[str, str]] = []
    for group in sorted(groups):
        group_effect = rng.normal(0.0, 0.25)
        org_effect = rng.normal(0.0, 0.35)
        for site in sorted(dict.fromkeys(groups[group])):
            site_effect = rng.normal(0.0, 0.15)
            counts = rng.poisson(_ROLE_RATE)
            for role, count in zip(_ROLES, counts, strict=True):
                for _ in range(int(count)):
                    person = rng.normal(0.0, 0.6)
                    base = group_effect + site_effect + person + _ROLE_EFFECT[role]
                    row = {"group": group, "site": site, "role": role}
                    for item in sat_items:
                        mu = _ITEM_MEAN[item] + base + _ITEM_ROLE.get((item, role), 0.0)
                        row[item] = _blank_sometimes(rng, str(_likert(rng, mu)), 0.02)
                    for item in eng_items:
                        if item.startswith("eng_practice"):
                            mu = 0.45 + 0.5 * (site_effect + person) + _ENG_PRACTICE_ROLE.get(role, 0.0)
                            dont_know = 0.0
                        else:
                            mu = 0.0 + org_effect + 0.5 * person + _ENG_ORG_ROLE.get(role, 0.0)
                            dont_know = 0.15 if role in ("receptionist", "administrator") else 0.06
                        answer = "9" if rng.random() < dont_know else str(_likert(rng, mu))
                        row[item] = _blank_sometimes(rng, answer, 0.02)
                    rows.append(row)
    for n, row in enumerate(rows, start=1):
        row["respondent_id"] = f"S{n:05d}"
    return header, [{k: r.get(k, "") for k in header} for r in rows]
