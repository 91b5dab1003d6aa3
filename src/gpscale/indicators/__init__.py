"""Indicators: declarative definitions (YAML, validated by pydantic) computed once in ibis.

* :func:`gpscale.indicators.library.load_definitions` - the 16 shipped definitions plus a user folder;
* :func:`gpscale.indicators.compute.compute_indicators` - practice × period values on DuckDB or Spark;
* :mod:`gpscale.indicators.reference` - a plain pandas implementation the tests hold the ibis path to.

See docs/indicators.md and docs/adr/0003-indicator-definitions.md.
"""

from gpscale.indicators.library import DefinitionError, load_definitions
from gpscale.indicators.model import IndicatorDefinition, Polarity, ValueType

__all__ = ["DefinitionError", "IndicatorDefinition", "Polarity", "ValueType", "load_definitions"]
