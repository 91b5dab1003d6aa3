"""One SparkSession for every Spark test (starting one costs ~15 s); skipped without pyspark or Java."""

from __future__ import annotations

import importlib.util
import shutil
import warnings
from collections.abc import Iterator
from typing import Any

import pytest


def _why_no_spark() -> str | None:
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install 'gpscale[spark]')"
    if shutil.which("java") is None:
        return "Java is not on PATH (Spark needs Java 17)"
    return None


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    reason = _why_no_spark()
    if reason:
        pytest.skip(reason)
    warnings.filterwarnings("ignore", message=".*PySpark does not yet fully support pandas.*")
    from gpscale.indicators.compute import spark_session

    session = spark_session()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
