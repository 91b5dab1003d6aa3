"""Money to the penny: what a target is worth to a network, and the rounding rule.

All money is computed exactly, in rational pounds (:class:`~fractions.Fraction`), from the scheme's
decimal text and the data's counts read through their shortest decimal text (``repr``), never through
binary floating point or a rounded decimal (an achievement of 11/14 is not 0.7857142857...), and is held
in the result tables as whole pence (integers).

**Rounding rule** (:data:`ROUNDING`): each target's payment to a network is computed exactly
(fraction earned x value available) and rounded once, to the nearest penny with halves rounded up
(``ROUND_HALF_UP``); a network's total is the sum of its rounded target payments, so the rows of a table
always add up to its totals. Points are not rounded. Forecast payments are expectations and quantiles of
simulated payments (each draw unrounded), rounded to the penny the same way.

**Value available** for a target, per network:

* ``points``: points x the scheme's point value, times network patients / reference patients when the
  point value has a ``list_size_reference`` (the PCN Investment and Impact Fund's list-size adjustment);
* ``amount``: the amount;
* ``contract_share``: the share x the contract value (``per_network``, or ``per_patient`` x the network's
  registered patients).

Network patients are the registered patients of every member practice in the period (practices left out
of the achievement by an exception still count). Where a value needs patients and any member's list size
is unknown, the payment is not computed (null), never guessed.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from gpscale.evaluate.schemes.model import RewardKind, Scheme, SchemeIndicator

ROUNDING = ("each target's payment computed exactly in decimal pounds and rounded once to the penny, halves up; "
            "network totals are sums of the rounded payments")


def exact(x: Any) -> Fraction:
    """A number as an exact fraction, through its shortest decimal text (``540.23`` is 54023/100)."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, Decimal | int | np.integer):
        return Fraction(x if isinstance(x, Decimal) else int(x))
    return Fraction(Decimal(repr(float(x))))


def to_pence(pounds: Any) -> int:
    """Pounds to whole pence, half a penny rounded up (away from zero for negative sums)."""
    p = exact(pounds) * 100
    return math.floor(p + Fraction(1, 2)) if p >= 0 else -math.floor(-p + Fraction(1, 2))


def reference_patients(scheme: Scheme, network_patients: list[Fraction | None]) -> Fraction | None:
    """The list-size reference: the scheme's number, or the mean of the networks' known list sizes."""
    pv = scheme.point_value
    if pv is None or pv.list_size_reference is None:
        return None
    if pv.list_size_reference == "mean":
        known = [p for p in network_patients if p is not None]
        return sum(known, Fraction(0)) / len(known) if known else None
    return Fraction(pv.list_size_reference)


def value_available(scheme: Scheme, entry: SchemeIndicator, patients: Fraction | None,
                    reference: Fraction | None) -> Fraction | None:
    """Pounds a network earns for ``entry`` at full achievement (None when it needs unknown patients)."""
    r = entry.reward
    kind = r.kind
    if kind is RewardKind.AMOUNT:
        assert r.amount is not None
        return exact(r.amount)
    if kind is RewardKind.POINTS:
        assert scheme.point_value is not None and r.points is not None  # guaranteed by the model
        value = exact(r.points) * exact(scheme.point_value.amount)
        if scheme.point_value.list_size_reference is not None:
            if patients is None or reference is None or reference == 0:
                return None
            value = value * patients / reference
        return value
    assert scheme.contract is not None and r.contract_share is not None
    if scheme.contract.per_network is not None:
        return exact(r.contract_share) * exact(scheme.contract.per_network)
    if patients is None:
        return None
    assert scheme.contract.per_patient is not None
    return exact(r.contract_share) * exact(scheme.contract.per_patient) * patients


def needs_patients(scheme: Scheme) -> bool:
    """Whether any reward's value depends on network list sizes."""
    pv = scheme.point_value
    for e in scheme.indicators:
        kind = e.reward.kind
        if kind is RewardKind.POINTS and pv is not None and pv.list_size_reference is not None:
            return True
        if kind is RewardKind.CONTRACT_SHARE and scheme.contract is not None and scheme.contract.per_patient:
            return True
    return False
