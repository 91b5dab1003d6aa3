"""Run small linear algebra on one BLAS thread.

NumPy's BLAS (OpenBLAS here) starts one thread per core for every call. On the small matrices of the
disclosure audit (a few hundred rows) the threads cost more than they save, and when DuckDB or another
process already uses the cores they oversubscribe them: on 2 loaded cores an audit-sized SVD ran 13–20×
faster on one thread, on 2 quiet ones 1.3× faster to 1.4× slower (issue 17, BENCHMARKS.md).
:func:`one_blas_thread` limits BLAS for the duration of a block and restores it after; results are the
same (the tests compare them).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Limit every loaded BLAS library to one thread inside the ``with`` block."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield
