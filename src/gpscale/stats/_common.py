"""Shared helpers for :mod:`gpscale.stats`: confidence levels, z values and polarity checks.

Every public function in the package takes ``confidence`` as a two-sided level in (0, 1). The two levels
used throughout English public-health reporting are 95% (about 2 sigma) and 99.8% (about 3 sigma), as in
the Fingertips technical guidance; both are exported as constants.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from gpscale.domain.vocabulary import Polarity

#: Two-sided 95% level (the "2 sigma" limits of Fingertips and PHE funnel plots).
CONFIDENCE_95: Final = 0.95
#: Two-sided 99.8% level (the "3 sigma" limits of Fingertips and PHE funnel plots).
CONFIDENCE_998: Final = 0.998
#: Both standard levels, in the order reports show them.
STANDARD_LEVELS: Final = (CONFIDENCE_95, CONFIDENCE_998)

FloatArray = NDArray[np.float64]


def check_confidence(confidence: float) -> float:
    """Return ``confidence`` as a float, raising ``ValueError`` unless it is strictly between 0 and 1.

    A level such as 95 (a percentage) is a programming error, not a data problem, so it raises.
    """
    level = float(confidence)
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1 (e.g. 0.95), got {confidence!r}")
    return level


def z_value(confidence: float) -> float:
    """Standard normal quantile for a two-sided interval at ``confidence`` (1.959964 for 0.95)."""
    return float(special.ndtri(0.5 + check_confidence(confidence) / 2.0))


def check_polarity(polarity: str) -> Polarity:
    """``polarity`` as a :class:`~gpscale.domain.vocabulary.Polarity`, raising ``ValueError`` if it is not one."""
    try:
        return Polarity(polarity)
    except ValueError:
        raise ValueError(f"polarity must be one of {[str(p) for p in Polarity]}, got {polarity!r}") from None


def as_float_array(values: ArrayLike) -> FloatArray:
    """Convert input to a float64 array (a copy only when needed)."""
    return np.asarray(values, dtype=np.float64)
