"""The synthetic England world model: practices, their populations, groups and latent quality.

Everything is drawn from one seeded numpy Generator in a fixed order, so a seed fixes the world.
The world is the truth the statistics are tested against: each indicator has a latent linear
predictor per practice and financial year (logit scale for shares, log scale for rates), made of a
practice effect, an England trend, a deprivation term and, for members of some groups, an injected
effect that grows with each year of membership (ground truth written to ``truth/effects.csv``; its
dynamics, which differ between cohorts and start early in one archetype, are those of
:mod:`gpscale.synth.events`, with the event-study truth in ``truth/event_effects.csv``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from gpscale.domain.vocabulary import Link, Polarity

FIRST_FY = 2009
LAST_FY = 2023
FYS = tuple(range(FIRST_FY, LAST_FY + 1))

#: Quinary age bands of the registrations publication.
QUIN_BANDS: tuple[str, ...] = (*(f"{a}_{a + 4}" for a in range(0, 95, 5)), "95+")
#: England's registered population share by quinary band (approximate 2015 shape), same for each sex.
_QUIN_SHARE = np.array(
    [5.9, 6.0, 5.6, 5.6, 6.6, 7.2, 7.0, 6.6, 6.6, 7.0, 7.0, 6.2, 5.6, 5.5, 4.3, 3.3, 2.4, 1.4, 0.6, 0.15]
)
#: Women outnumber men at older ages.
_FEMALE_TILT = np.linspace(0.98, 1.9, 20)

#: Indicators whose latent predictor the world models, with the scale it lives on and its polarity.
LATENT: dict[str, tuple[Link, Polarity]] = {
    "rx_antibacterial_items": (Link.LOG, Polarity.LOW_IS_GOOD),
    "rx_broad_spectrum": (Link.LOGIT, Polarity.LOW_IS_GOOD),
    "rx_hypnotics_adq": (Link.LOG, Polarity.LOW_IS_GOOD),
    "rx_nsaid_not_first_line": (Link.LOGIT, Polarity.LOW_IS_GOOD),
    "hosp_emergency_admissions": (Link.LOG, Polarity.LOW_IS_GOOD),
    "hosp_acsc_chronic": (Link.LOG, Polarity.LOW_IS_GOOD),
    "hosp_ae_attendances": (Link.LOG, Polarity.LOW_IS_GOOD),
    "hosp_outpatient_first": (Link.LOG, Polarity.NO_JUDGEMENT),
    "qof": (Link.LOGIT, Polarity.HIGH_IS_GOOD),
    "gpps_overall_good": (Link.LOGIT, Polarity.HIGH_IS_GOOD),
    "gpps_recommend": (Link.LOGIT, Polarity.HIGH_IS_GOOD),
    "gpps_phone_easy": (Link.LOGIT, Polarity.HIGH_IS_GOOD),
    "gpps_opening_hours": (Link.LOGIT, Polarity.HIGH_IS_GOOD),
    "gpps_continuity": (Link.LOGIT, Polarity.HIGH_IS_GOOD),
}

#: England level (first year) and yearly trend of each latent predictor.
_BASE: dict[str, tuple[float, float]] = {
    "rx_antibacterial_items": (np.log(1.15), -0.025),
    "rx_broad_spectrum": (-2.0, -0.045),
    "rx_hypnotics_adq": (np.log(1.0), -0.03),
    "rx_nsaid_not_first_line": (-0.75, -0.07),
    "hosp_emergency_admissions": (np.log(1.0), 0.02),
    "hosp_acsc_chronic": (np.log(1.0), 0.01),
    "hosp_ae_attendances": (np.log(1.0), 0.025),
    "hosp_outpatient_first": (np.log(1.0), 0.015),
    "qof": (2.9, 0.02),
    "gpps_overall_good": (2.2, -0.05),
    "gpps_recommend": (1.7, -0.04),
    "gpps_phone_easy": (1.2, -0.08),
    "gpps_opening_hours": (1.3, -0.03),
    "gpps_continuity": (0.6, -0.09),
}

#: Between-practice standard deviation of each latent predictor.
_PRACTICE_SD = {k: (0.18 if scale is Link.LOG else 0.35) for k, (scale, _) in LATENT.items()}

REGIONS: tuple[tuple[str, str, str], ...] = (
    ("Y56", "LONDON", "ABCEFHM"),
    ("Y58", "SOUTH WEST", "JKL"),
    ("Y59", "SOUTH EAST", "GHJ"),
    ("Y60", "MIDLANDS", "CDMN"),
    ("Y61", "EAST OF ENGLAND", "DEF"),
    ("Y62", "NORTH WEST", "NP"),
    ("Y63", "NORTH EAST AND YORKSHIRE", "ABC"),
)
_REGION_WEIGHTS = np.array([0.16, 0.11, 0.15, 0.18, 0.11, 0.15, 0.14])

_NAME_A = (
    "ABBEY", "ALBION", "ASH TREE", "BEECHWOOD", "BRIDGE", "BROOKSIDE", "CASTLE", "CEDAR", "CHURCH VIEW",
    "CLARENDON", "COURTYARD", "CROSS STREET", "ELM", "FAIRFIELD", "GROVE", "HAWTHORN", "HIGHFIELD",
    "HILLSIDE", "KINGSWAY", "LAUREL", "LIMES", "MAPLE", "MARKET", "MEADOW", "MILL", "NORTHGATE", "OAKS",
    "ORCHARD", "PARK", "PARKSIDE", "PRIORY", "QUEENS", "RIVERSIDE", "ROSE", "ST JOHNS", "STATION",
    "TOWER", "VALLEY", "VICTORIA", "WESTGATE", "WILLOW", "WINDMILL", "WOODLANDS",
)
_NAME_B = ("SURGERY", "MEDICAL CENTRE", "HEALTH CENTRE", "MEDICAL PRACTICE", "FAMILY PRACTICE", "GROUP PRACTICE")


@dataclass(frozen=True)
class GroupSpec:
    """A named group modelled on an archetype of the brief, with its injected effects (per year)."""

    group_id: str
    name: str
    kind: str
    legal_form: str
    founded: date
    size: int
    effects: dict[str, float] = field(default_factory=dict)


NAMED_GROUPS: tuple[GroupSpec, ...] = (
    GroupSpec("SP-ALDER", "Alder Health Partnership", "super_partnership", "partnership",
              date(2009, 10, 1), 30, {"rx_broad_spectrum": -0.09, "qof": 0.12}),
    GroupSpec("MS-BEACON", "Beacon Primary Care Ltd", "multi_site", "company (APMS provider)",
              date(2011, 4, 1), 18, {"gpps_continuity": -0.08}),
    GroupSpec("FED-CASTLE", "Castle Federation", "federation", "company limited by shares",
              date(2014, 4, 1), 100, {}),
    GroupSpec("NET-DALES", "Dales Practice Network", "network", "informal network",
              date(2012, 4, 1), 14, {"rx_antibacterial_items": -0.06}),
)

#: Latent measures whose published question stops before PCNs exist: no PCN effect is injected there.
ENDS_BEFORE_PCNS = frozenset({"gpps_recommend", "gpps_opening_hours"})

#: Share of PCNs given an injected effect on one indicator from 2019/20.
PCN_EFFECT_SHARE = 0.05
PCN_EFFECT_SIZE = 0.15


@dataclass
class World:
    """Everything the writers need; arrays are indexed [practice, financial-year index]."""

    seed: int
    practices: pd.DataFrame
    list_size: np.ndarray
    age_profile: np.ndarray  # [practice, sex(0 male,1 female), band] shares
    latent: dict[str, np.ndarray]
    groups: pd.DataFrame
    membership: pd.DataFrame
    effects: pd.DataFrame
    rng: np.random.Generator
    #: every injected shift: group_id, kind, latent, practice_code, fy, shift (see synth.events)
    event_shifts: pd.DataFrame = field(default_factory=pd.DataFrame)


def build_world(seed: int, n_practices: int) -> World:
    """Draw the synthetic England for ``seed`` with about ``n_practices`` practices open at the end."""
    if n_practices < 20:
        raise ValueError("synthetic England needs at least 20 practices")
    rng = np.random.default_rng(seed)
    practices = _draw_practices(rng, n_practices)
    list_size = _draw_list_sizes(rng, practices)
    age_profile = _draw_age_profiles(rng, practices)
    groups, membership = _draw_groups(rng, practices, list_size)
    effects = _draw_effects(rng, groups)
    latent, shifts = _draw_latent(rng, practices, membership, groups, effects)
    return World(seed, practices, list_size, age_profile, latent, groups, membership, effects, rng, shifts)


def _draw_practices(rng: np.random.Generator, n_final: int) -> pd.DataFrame:
    n_2009 = round(n_final * 1.22)
    n_new = round(n_final * 0.03)
    n = n_2009 + n_new
    region_idx = rng.choice(len(REGIONS), size=n, p=_REGION_WEIGHTS / _REGION_WEIGHTS.sum())
    # commissioners (CCG / sub-ICB) nest in ICBs which nest in regions; at national size ~6 ICBs and
    # ~18 commissioners a region, about 45 practices each, scaled down for small test worlds
    icbs_per_region = max(1, round(n / 1300))
    ccgs_per_icb = max(1, min(3, round(n / (7 * icbs_per_region * 45))))
    icb_local = rng.integers(0, icbs_per_region, size=n)
    ccg_local = rng.integers(0, ccgs_per_icb, size=n)
    codes, seen = [], set()
    for r in region_idx:
        letters = REGIONS[r][2]
        while True:
            code = f"{letters[rng.integers(len(letters))]}{rng.integers(81000, 92999)}"
            if code not in seen:
                seen.add(code)
                codes.append(code)
                break
    region = [REGIONS[r][0] for r in region_idx]
    region_name = [REGIONS[r][1] for r in region_idx]
    icb = [f"Q{chr(65 + r)}{chr(65 + i)}" for r, i in zip(region_idx, icb_local, strict=True)]
    commissioner = [f"{r}{i}{chr(65 + c)}" for r, i, c in zip(region_idx, icb_local, ccg_local, strict=True)]
    rural = rng.random(n) < 0.15
    imd = np.round(np.exp(rng.normal(np.log(20), 0.5, n)) * np.where(rural, 0.7, 1.0), 3)
    dispensing = rural & (rng.random(n) < 0.55)
    contract = rng.choice(["GMS", "PMS", "APMS"], size=n, p=[0.70, 0.25, 0.05])
    open_date = np.array([date(1974, 4, 1)] * n, dtype=object)
    new_idx = np.arange(n_2009, n)
    for i in new_idx:
        open_date[i] = date(2009 + int(rng.integers(0, 14)), int(rng.integers(1, 13)), 1)
    close_date = np.array([None] * n, dtype=object)
    closing = rng.choice(n_2009, size=round(n_2009 * 0.2), replace=False)
    for i in closing:
        close_date[i] = date(2009 + int(rng.integers(1, 15)), int(rng.integers(1, 13)), 1) - _one_day()
    names = [f"{_NAME_A[rng.integers(len(_NAME_A))]} {_NAME_B[rng.integers(len(_NAME_B))]}" for _ in range(n)]
    postcodes = [
        f"{chr(65 + r * 3 + int(rng.integers(3)))}{chr(65 + int(rng.integers(20)))}"
        f"{int(rng.integers(1, 30))} {int(rng.integers(1, 10))}{chr(65 + int(rng.integers(26)))}"
        f"{chr(65 + int(rng.integers(26)))}"
        for r in region_idx
    ]
    df = pd.DataFrame(
        {
            "practice_code": codes,
            "name": names,
            "postcode": postcodes,
            "region": region,
            "region_name": region_name,
            "icb": icb,
            "commissioner": commissioner,
            "open_date": open_date,
            "close_date": close_date,
            "contract_type": contract,
            "rurality": np.where(rural, "Rural", "Urban"),
            "dispensing": dispensing,
            "imd_score": imd,
        }
    )
    # a closing practice merges into a practice of the same commissioner half the time
    df["successor"] = None
    for i in closing:
        if rng.random() < 0.5:
            same = np.flatnonzero((df["commissioner"].to_numpy() == df.at[i, "commissioner"]) & (np.arange(n) != i))
            peers = [int(p) for p in same if df.at[p, "close_date"] is None]
            if peers:
                df.at[i, "successor"] = df.at[peers[int(rng.integers(len(peers)))], "practice_code"]
    return df


def _one_day() -> pd.Timedelta:
    return pd.Timedelta(days=1)


def open_mask(practices: pd.DataFrame, start: date, end: date) -> np.ndarray:
    """Practices open at any time between ``start`` and ``end`` (inclusive)."""
    opened = np.array([d <= end for d in practices["open_date"]])
    not_closed = np.array([c is None or c >= start for c in practices["close_date"]])
    return opened & not_closed


def _draw_list_sizes(rng: np.random.Generator, practices: pd.DataFrame) -> np.ndarray:
    n = len(practices)
    base = np.exp(rng.normal(np.log(5900), 0.55, n)).clip(800, 40000)
    growth = np.exp(rng.normal(0.015, 0.01, n))
    sizes = np.zeros((n, len(FYS)))
    code_index = {c: i for i, c in enumerate(practices["practice_code"])}
    absorbed = np.zeros(n)
    for t, fy in enumerate(FYS):
        start, end = date(fy, 4, 1), date(fy + 1, 3, 31)
        is_open = open_mask(practices, start, end)
        new_this_year = np.array([d >= start for d in practices["open_date"]])
        level = base * growth**t * np.where(new_this_year, 0.4, 1.0) + absorbed
        sizes[:, t] = np.where(is_open, np.round(level), 0)
        for i in np.flatnonzero(
            np.array([c is not None and start <= c <= end for c in practices["close_date"]])
        ):
            succ = practices.at[i, "successor"]
            if succ is not None:
                absorbed[code_index[succ]] += sizes[i, t] * 0.9
    return sizes.astype(np.int64)


def _draw_age_profiles(rng: np.random.Generator, practices: pd.DataFrame) -> np.ndarray:
    n = len(practices)
    ages = np.arange(20) * 5 + 2.5
    tilt = rng.normal(0, 0.008, n) + np.where(practices["rurality"].to_numpy() == "Rural", 0.01, 0.0)
    tilt -= (practices["imd_score"].to_numpy() - 20) * 0.0003
    w = _QUIN_SHARE[None, :] * np.exp(tilt[:, None] * (ages[None, :] - 40))
    male = w
    female = w * _FEMALE_TILT[None, :]
    prof = np.stack([male, female], axis=1)
    return prof / prof.sum(axis=(1, 2), keepdims=True)


def _draw_groups(
    rng: np.random.Generator, practices: pd.DataFrame, list_size: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Named archetype groups (membership changing over time) and PCNs from July 2019."""
    n = len(practices)
    codes = practices["practice_code"].to_numpy()
    commissioner = practices["commissioner"].to_numpy()
    region = practices["region"].to_numpy()
    groups: list[dict[str, object]] = []
    spells: list[dict[str, object]] = []
    taken = np.zeros(n, dtype=bool)
    scale = min(1.0, n / 8000)
    for g in NAMED_GROUPS:
        size = max(4, round(g.size * scale))
        open_at_founding = open_mask(practices, g.founded, g.founded) & ~taken
        if g.kind == "federation":  # one federation covers most practices of one or two commissioners
            pool = np.flatnonzero(open_at_founding & np.isin(commissioner, _largest(commissioner[open_at_founding], 2)))
        elif g.kind == "network":
            pool = np.flatnonzero(open_at_founding & (commissioner == _largest(commissioner[open_at_founding], 1)[0]))
        elif g.kind == "multi_site":  # APMS-heavy, several regions
            pool = np.flatnonzero(open_at_founding)
        else:  # super-partnership: a few commissioners in two regions
            regs = _largest(region[open_at_founding], 2)
            pool = np.flatnonzero(open_at_founding & np.isin(region, regs))
        chosen = rng.choice(pool, size=min(size, len(pool)), replace=False)
        taken[chosen] = True
        contracts = sorted(set(practices["contract_type"].to_numpy()[chosen]))
        groups.append(
            {"group_id": g.group_id, "name": g.name, "kind": g.kind, "legal_form": g.legal_form,
             "founded": g.founded, "contracts": "/".join(contracts), "parent": None}
        )
        for k, i in enumerate(chosen):
            # practices join in waves over the group's first years; a few leave later
            start = g.founded if k < len(chosen) // 2 else _add_months(g.founded, int(rng.integers(6, 60)))
            close = practices.at[i, "close_date"]
            end = close
            if rng.random() < 0.1:
                leave = _add_months(start, int(rng.integers(24, 96)))
                if leave < date(2024, 3, 31) and (end is None or leave < end):
                    end = leave
            if end is not None and end < start:
                continue
            spells.append({"group_id": g.group_id, "practice_code": codes[i], "start_date": start, "end_date": end})
    pcn_groups, pcn_spells = _draw_pcns(rng, practices, list_size)
    return pd.DataFrame(groups + pcn_groups), pd.DataFrame(spells + pcn_spells)


def _largest(values: np.ndarray, k: int) -> list[str]:
    uniq, counts = np.unique(values, return_counts=True)
    order = np.lexsort((uniq, -counts))
    return [str(u) for u in uniq[order][:k]]


def _add_months(d: date, months: int) -> date:
    m = d.month - 1 + months
    return date(d.year + m // 12, m % 12 + 1, 1)


PCN_START = date(2019, 7, 1)


def _draw_pcns(
    rng: np.random.Generator, practices: pd.DataFrame, list_size: np.ndarray
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """PCNs of roughly 30,000-50,000 patients within each commissioner; ~1.5% of practices outside."""
    t2019 = FYS.index(2019)
    is_open = open_mask(practices, PCN_START, PCN_START)
    groups: list[dict[str, object]] = []
    spells: list[dict[str, object]] = []
    codes = practices["practice_code"].to_numpy()
    number = 0
    for ccg in sorted(set(practices["commissioner"][is_open])):
        members = np.flatnonzero(is_open & (practices["commissioner"].to_numpy() == ccg))
        members = members[rng.permutation(len(members))]
        current: list[int] = []
        total = 0.0
        target = rng.uniform(30000, 50000)
        batches: list[list[int]] = []
        for i in members:
            current.append(int(i))
            total += list_size[i, t2019]
            if total >= target:
                batches.append(current)
                current, total, target = [], 0.0, rng.uniform(30000, 50000)
        if current:
            if batches:
                batches[-1].extend(current)
            else:
                batches.append(current)
        for batch in batches:
            number += 1
            gid = f"U{10000 + number * 7:05d}"
            groups.append(
                {"group_id": gid, "name": f"{ccg} PCN {number}", "kind": "pcn", "legal_form": None,
                 "founded": PCN_START, "contracts": None, "parent": None}
            )
            for j in batch:
                if rng.random() < 0.015:
                    continue
                end = practices.at[j, "close_date"]
                spells.append({"group_id": gid, "practice_code": codes[j], "start_date": PCN_START, "end_date": end})
    # a few practices switch PCN within their commissioner in 2021
    by_group: dict[str, list[int]] = {}
    for k, s in enumerate(spells):
        by_group.setdefault(str(s["group_id"]), []).append(k)
    gids = sorted(by_group)
    for k in rng.choice(len(spells), size=max(1, len(spells) // 100), replace=False):
        s = spells[int(k)]
        if s["end_date"] is not None:
            continue
        ccg = practices.loc[practices["practice_code"] == s["practice_code"], "commissioner"].iloc[0]
        others = [g for g in gids if g != s["group_id"] and str(_group_name(groups, g)).startswith(ccg + " ")]
        if not others:
            continue
        move = date(2021, 4, 1)
        s["end_date"] = move - _one_day()
        spells.append({"group_id": others[int(rng.integers(len(others)))], "practice_code": s["practice_code"],
                       "start_date": move, "end_date": None})
    return groups, spells


def _group_name(groups: list[dict[str, object]], gid: str) -> object:
    for g in groups:
        if g["group_id"] == gid:
            return g["name"]
    return ""


def _draw_effects(rng: np.random.Generator, groups: pd.DataFrame) -> pd.DataFrame:
    rows: list[dict[str, object]] = []
    named = {g.group_id: g for g in NAMED_GROUPS}
    for gid in groups["group_id"]:
        if gid in named:
            for latent, size in named[gid].effects.items():
                rows.append({"group_id": gid, "latent": latent, "effect_per_year": size})
    pcns = groups.loc[groups["kind"] == "pcn", "group_id"].to_numpy()
    chosen = rng.choice(pcns, size=max(1, round(len(pcns) * PCN_EFFECT_SHARE)), replace=False)
    keys = sorted(k for k in LATENT if k not in ENDS_BEFORE_PCNS)
    for gid in sorted(chosen):
        latent = keys[int(rng.integers(len(keys)))]
        sign = 1 if rng.random() < 0.5 else -1
        rows.append({"group_id": gid, "latent": latent, "effect_per_year": sign * PCN_EFFECT_SIZE})
    return pd.DataFrame(rows, columns=["group_id", "latent", "effect_per_year"])


def _draw_latent(
    rng: np.random.Generator, practices: pd.DataFrame, membership: pd.DataFrame, groups: pd.DataFrame,
    effects: pd.DataFrame,
) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    n, t = len(practices), len(FYS)
    imd_c = (practices["imd_score"].to_numpy() - 20) / 10
    years = np.arange(t)
    latent: dict[str, np.ndarray] = {}
    for key in sorted(LATENT):
        level, trend = _BASE[key]
        scale, polarity = LATENT[key]
        dep = 0.06 if scale is Link.LOG else (-0.12 if polarity is Polarity.HIGH_IS_GOOD else 0.08)
        eta = (
            level
            + trend * years[None, :]
            + rng.normal(0, _PRACTICE_SD[key], n)[:, None]
            + dep * imd_c[:, None]
            + rng.normal(0, 0.04, (n, t))
        )
        latent[key] = eta
    from gpscale.synth.events import membership_shifts

    founding = {g.group_id: g.founded for g in NAMED_GROUPS}
    shifts, applied = membership_shifts(practices, membership, groups, effects, FYS, founding)
    for key, arr in shifts.items():
        latent[key] += arr
    return latent, applied
