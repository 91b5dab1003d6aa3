"""Indicators: declarative definitions (YAML, validated by pydantic) computed once in ibis.

* :func:`gpscale.indicators.library.load_definitions` - the 16 shipped definitions plus a user folder;
* :func:`gpscale.indicators.compute.compute_indicators` - practice × period values on DuckDB or Spark
  (the test suite holds it to a separate plain-pandas reference implementation, tests/fixtures).

See docs/indicators.md and docs/adr/0003-indicator-definitions.md.
"""

from gpscale.domain.vocabulary import Polarity, ValueType
from gpscale.indicators.library import DefinitionError, load_definitions
from gpscale.indicators.model import IndicatorDefinition

__all__ = ["DefinitionError", "IndicatorDefinition", "Polarity", "ValueType", "load_definitions"]
