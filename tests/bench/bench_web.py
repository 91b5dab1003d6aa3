"""Dashboard on full synthetic England: cold start, memory and per-page latency, against the previous server.

Run with ``python -m tests.bench.run web`` (part of ``make bench``). It needs a demo output folder with a
results bundle (``results/manifest.json``) and its store: ``$GPSCALE_BENCH_DEMO`` or ``out/`` (``make demo``;
about 6,500 practices and 1,270 groups). If neither exists the benchmark generates one with ``gpscale demo``.

Two servers are measured in the same run, each in its own process on 127.0.0.1:

* ``current``: ``gpscale serve`` as shipped (the bundle queried in place, page cache bounded by bytes);
* ``baseline``: the server of commit :data:`BASELINE_COMMIT` (main before issue 12's page tables: the bundle
  queried in place, every page reshaping its query results with pandas), extracted with ``git archive`` into a
  temporary folder and run with the same entry point on the same bundle (a bundle written by the current code;
  the baseline reads the tables it knows and ignores the page tables).

For each: **cold start** (process start to the first page answered), **resident memory** (VmRSS of the
server process) after 1,000 mixed requests, and **latency per page type** (England, group, a group's
evaluation tables, indicator with all groups, indicator with a group's members, practice, search, CSV download,
API) with the page cache off, so every request renders: from 8 concurrent keep-alive clients (the target) and
from one client (the work per page, without queueing; the cleanest figure on a shared machine). Request loops
are bounded.
"""

from __future__ import annotations

import os
import random
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from tests.bench.harness import record

CLIENTS = 8
PER_TYPE = 40
ONE_CLIENT_PER_TYPE = 15
MIXED = 1000
ROOT = Path(__file__).resolve().parents[2]
BASELINE_COMMIT = "8e9fa18"
TARGETS = {"cold_start_s": 3.0, "rss_mib": 600.0, "p95_ms": 150.0}

CURRENT = """
import sys, uvicorn
from pathlib import Path
from gpscale.bundle import open_bundle
from gpscale.web.app import create_app
base, port, cache = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
uvicorn.run(create_app(open_bundle(base / "results"), cache_pages=cache), host="127.0.0.1", port=port,
            log_level="warning", access_log=False)
"""
def _demo_dir() -> Path:
    env = os.environ.get("GPSCALE_BENCH_DEMO")
    base = Path(env) if env else ROOT / "out"
    if not (base / "results" / "manifest.json").is_file() or not (base / "gpscale.duckdb").is_file():
        print(f"  no demo output in {base}: generating full synthetic England (this takes a while)", flush=True)
        subprocess.run([sys.executable, "-m", "gpscale.cli", "demo", "--out", str(base)], check=True)
    return base


def _baseline_src(tmp: Path) -> Path | None:
    """The previous server's source (``git archive``), or None outside a git checkout."""
    try:
        blob = subprocess.run(["git", "-C", str(ROOT), "archive", BASELINE_COMMIT, "src"], check=True,
                              capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    path = tmp / "baseline.tar"
    path.write_bytes(blob)
    with tarfile.open(path) as tar:
        tar.extractall(tmp / "baseline", filter="data")
    return tmp / "baseline" / "src"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _start(script: str, base: Path, cache: bool, pythonpath: Path | None) -> tuple[subprocess.Popen[bytes], str, float]:
    """Start a server; return it, its URL and the seconds from process start to the first page answered."""
    import httpx

    port = _free_port()
    env = {**os.environ}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", script, str(base), str(port), "1" if cache else "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = t0 + 600
    while time.perf_counter() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the dashboard server exited during start-up")
        try:
            if httpx.get(url + "/", timeout=30).status_code == 200:
                return proc, url, time.perf_counter() - t0
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the dashboard server did not answer within 10 minutes")


def _run(base_url: str, urls: list[tuple[str, str]], clients: int = CLIENTS) -> dict[str, list[float]]:
    import httpx

    queue = list(urls)
    lock = threading.Lock()
    times: dict[str, list[float]] = {}
    errors: list[str] = []

    def worker() -> None:
        with httpx.Client(base_url=base_url, timeout=120) as client:
            while True:
                with lock:
                    if not queue:
                        return
                    kind, path = queue.pop()
                t0 = time.perf_counter()
                r = client.get(path)
                dt = time.perf_counter() - t0
                with lock:
                    if r.status_code != 200:
                        errors.append(f"{r.status_code} {path}")
                    times.setdefault(kind, []).append(dt)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if len(errors) > len(urls) // 20:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[:3]}")
    return times


#: Page types the baseline server does not have (its group page showed the evaluation tables itself).
NEW_PAGE_TYPES = frozenset({"group evaluation tables"})


def _urls(base: Path, rng: random.Random, per_type: int, skip: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    import pandas as pd

    res = base / "results"
    groups = pd.read_parquet(res / "groups.parquet", columns=["group_id"])["group_id"].astype(str).tolist()
    practices = pd.read_parquet(res / "practices.parquet", columns=["practice_code"])["practice_code"].tolist()
    card = pd.read_parquet(res / "scorecard.parquet", columns=["entity_type", "indicator_id", "period", "period_type"],
                           filters=[("entity_type", "==", "england"), ("period_type", "==", "fy")])
    pairs = sorted(set(map(tuple, card[["indicator_id", "period"]].drop_duplicates().to_numpy().tolist())))
    latest = {i: max(p for j, p in pairs if j == i) for i, _ in pairs}
    indicators = sorted(latest)
    n = per_type
    out: list[tuple[str, str]] = []
    out += [("England", f"/?conf={rng.choice(['0.95', '0.998'])}") for _ in range(n)]
    out += [("group", f"/groups/{g}") for g in rng.sample(groups, min(n, len(groups)))]
    out += [("group evaluation tables", f"/groups/{g}/evaluation") for g in rng.sample(groups, min(n, len(groups)))]
    out += [("indicator (all groups)", f"/indicators/{i}?period={p}") for i, p in rng.sample(pairs, min(n, len(pairs)))]
    out += [("indicator (members of a group)", f"/indicators/{i}?group={g}&period={latest[i]}")
            for g, i in zip(rng.sample(groups, n), rng.choices(indicators, k=n), strict=True)]
    out += [("practice", f"/practices/{p}") for p in rng.sample(practices, n)]
    out += [("search", f"/search?q={rng.choice(['castle', 'pcn 1', 'surgery', 'a81', 'medical', 'dales'])}&partial=1")
            for _ in range(n)]
    out += [("CSV download", f"/download/groups/{g}/scorecard.csv") for g in rng.sample(groups, n)]
    out += [("API", f"/api/v1/groups/{g}") for g in rng.sample(groups, n)]
    out = [(kind, path) for kind, path in out if kind not in skip]
    rng.shuffle(out)
    return out


def _summary(times: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    out = {}
    for kind, ts in sorted(times.items()):
        ts = sorted(ts)
        p95 = ts[min(len(ts) - 1, round(0.95 * (len(ts) - 1)))]
        out[kind] = {"requests": len(ts), "median_ms": statistics.median(ts) * 1000, "p95_ms": p95 * 1000}
    return out


def _measure(label: str, script: str, base: Path, pythonpath: Path | None,
             skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    rng = random.Random(0)
    proc, url, cold = _start(script, base, True, pythonpath)
    try:
        mixed = _urls(base, rng, MIXED // 8 + 1, skip)[:MIXED]  # shuffled, then cut to MIXED
        t0 = time.perf_counter()
        _run(url, mixed)
        wall = time.perf_counter() - t0
        rss = _rss_mib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    proc, url, _ = _start(script, base, False, pythonpath)
    try:
        latency = _summary(_run(url, _urls(base, random.Random(1), PER_TYPE, skip)))
        one = _summary(_run(url, _urls(base, random.Random(2), ONE_CLIENT_PER_TYPE, skip), clients=1))
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    print(f"  {label}: first page after {cold:.1f}s; RSS {rss:.0f} MiB after {len(mixed)} mixed requests "
          f"({wall:.0f}s)", flush=True)
    for kind, m in latency.items():
        print(f"  {label:9s} {kind:32s} median {m['median_ms']:7.1f} ms  p95 {m['p95_ms']:7.1f} ms  "
              f"(one client: median {one[kind]['median_ms']:6.1f} ms)", flush=True)
    return {"cold_start_s": cold, "rss_mib_after_mixed": rss, "mixed_requests": len(mixed), "mixed_wall_s": wall,
            "uncached": latency, "uncached_one_client": one, "load_average": os.getloadavg()}


def bench_web_latency() -> None:
    """Cold start, memory after 1,000 requests and uncached p95 per page type; current server and baseline."""
    base = _demo_dir()
    metrics: dict[str, Any] = {"clients": CLIENTS, "requests_per_page_type": PER_TYPE, "targets": TARGETS,
                               "demo": str(base)}
    metrics["current"] = _measure("current", CURRENT, base, None)
    with tempfile.TemporaryDirectory(prefix="gpscale-bench-baseline-") as tmp:
        src = _baseline_src(Path(tmp))
        if src is None:
            metrics["baseline"] = {"skipped": "not a git checkout: the baseline server's source is unavailable"}
        else:
            try:
                metrics["baseline"] = _measure("baseline", CURRENT, base, src, NEW_PAGE_TYPES)
            except RuntimeError as exc:
                metrics["baseline"] = {"failed": str(exc)}
    cur = metrics["current"]
    metrics["meets_targets"] = {
        "cold_start": cur["cold_start_s"] <= TARGETS["cold_start_s"],
        "rss": cur["rss_mib_after_mixed"] <= TARGETS["rss_mib"],
        "p95_every_page_type": all(m["p95_ms"] <= TARGETS["p95_ms"] for m in cur["uncached"].values()),
    }
    record("web_latency", metrics, notes=(
        f"{CLIENTS} concurrent keep-alive clients on 127.0.0.1; cold start = process start to the first page; "
        f"RSS = server VmRSS after {MIXED} mixed requests with the page cache on (as shipped); latency = "
        f"{PER_TYPE} requests per page type with the page cache off ({ONE_CLIENT_PER_TYPE} more from one client). "
        f"Baseline = commit {BASELINE_COMMIT}'s server on the same bundle, in the same run."
    ))


if __name__ == "__main__":  # pragma: no cover
    bench_web_latency()
