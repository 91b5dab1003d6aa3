"""Run every benchmark (``make bench``): each ``bench_*`` function in ``tests/bench/bench_*.py``.

Usage: ``python -m tests.bench.run [substring ...]`` to run only benchmarks whose name matches.
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    selected = argv[1:]
    failures = 0
    for path in sorted(here.glob("bench_*.py")):
        module = importlib.import_module(f"tests.bench.{path.stem}")
        for name in sorted(n for n in dir(module) if n.startswith("bench_")):
            if selected and not any(s in name for s in selected):
                continue
            t0 = time.perf_counter()
            print(f"[bench] {path.stem}.{name} ...", flush=True)
            try:
                getattr(module, name)()
            except Exception as exc:  # a failing benchmark must not hide the others
                failures += 1
                print(f"[bench] {name} FAILED: {exc!r}", flush=True)
            print(f"[bench] {name} done in {time.perf_counter() - t0:.1f}s", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
