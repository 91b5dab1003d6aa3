"""Dashboard latency on synthetic England: 8 concurrent clients on 127.0.0.1, median and p95 per page type.

Run with ``python -m tests.bench.run web`` (part of ``make bench``). It needs a demo output folder with
``gpscale.duckdb`` and ``results/``: ``$GPSCALE_BENCH_DEMO`` or ``out/`` (``make demo``; full synthetic
England, about 6,500 practices and 1,270 groups). If neither exists the benchmark generates one with
``gpscale demo`` (15+ minutes on a busy 2-core machine).

Two server configurations are measured, each in its own process started the way ``gpscale serve`` does:

* ``served``: as shipped: page cache on and the start-up warm-up (every group's and indicator's default
  page pre-rendered) finished before timing starts. Other pages (member funnels, practice pages, other
  periods) are rendered on first request and then cached; each URL is requested once per phase, so these
  are first-visit (uncached) latencies.
* ``uncached``: page cache off: every request renders the page from the in-memory results.

Each phase sends a bounded number of requests (``REQUESTS`` per page type) from 8 threads with keep-alive
connections and records per-request wall time at the client.
"""

from __future__ import annotations

import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tests.bench.harness import record

CLIENTS = 8
REQUESTS = 160
ROOT = Path(__file__).resolve().parents[2]


def _demo_dir() -> Path:
    env = os.environ.get("GPSCALE_BENCH_DEMO")
    base = Path(env) if env else ROOT / "out"
    if not (base / "gpscale.duckdb").is_file() or not (base / "results" / "scorecard.parquet").is_file():
        print(f"  no demo output in {base}: generating full synthetic England (this takes a while)", flush=True)
        subprocess.run([sys.executable, "-m", "gpscale.cli", "demo", "--out", str(base)], check=True)
    return base


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SERVER = """
import sys, uvicorn
from pathlib import Path
from gpscale.report.data import ResultsData
from gpscale.web.app import create_app
base, port, cache = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
data = ResultsData(base / "results", base / "gpscale.duckdb")
uvicorn.run(create_app(data, cache_pages=cache, warm=cache), host="127.0.0.1", port=port, log_level="warning",
            access_log=False)
"""


def _start(base: Path, cache: bool) -> tuple[subprocess.Popen[bytes], str, float, dict[str, Any]]:
    import httpx

    port = _free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(base), str(port), "1" if cache else "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    while True:
        if proc.poll() is not None:
            raise RuntimeError("the dashboard server exited during start-up")
        try:
            h = httpx.get(url + "/healthz", timeout=2).json()
            break
        except httpx.HTTPError:
            time.sleep(1)
    load_s = time.perf_counter() - t0  # data loaded and disclosure control applied; the warm-up follows
    if cache:
        while h["warmed"] < h["warm_targets"]:
            time.sleep(2)
            h = httpx.get(url + "/healthz", timeout=5).json()
    h["warm_s"] = time.perf_counter() - t0 - load_s
    return proc, url, load_s, h


def _run(base_url: str, urls: list[tuple[str, str]]) -> dict[str, list[float]]:
    import httpx

    queue = list(urls)
    lock = threading.Lock()
    times: dict[str, list[float]] = {}
    errors: list[str] = []

    def worker() -> None:
        with httpx.Client(base_url=base_url, timeout=60) as client:
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

    threads = [threading.Thread(target=worker) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[:3]}")
    return times


def _urls(base: Path, rng: random.Random) -> list[tuple[str, str]]:
    import duckdb
    import pandas as pd

    con = duckdb.connect(str(base / "gpscale.duckdb"), read_only=True)
    groups = [r[0] for r in con.execute("SELECT group_id FROM practice_group ORDER BY 1").fetchall()]
    practices = [r[0] for r in con.execute("SELECT practice_code FROM practice ORDER BY 1").fetchall()]
    con.close()
    card = pd.read_parquet(base / "results" / "scorecard.parquet", columns=["entity_type", "indicator_id", "period",
                                                                           "period_type"])
    fy = card[(card["entity_type"] == "england") & (card["period_type"] == "fy")][["indicator_id", "period"]]
    pairs = sorted(set(map(tuple, fy.drop_duplicates().to_numpy().tolist())))
    indicators = sorted({i for i, _ in pairs})
    latest = {i: max(p for j, p in pairs if j == i) for i in indicators}
    n = REQUESTS
    out: list[tuple[str, str]] = []
    out += [("group page", f"/groups/{g}") for g in rng.sample(groups, min(n, len(groups)))]
    out += [("indicator page (all groups)", f"/indicators/{i}") for i in rng.choices(indicators, k=n)]
    out += [("indicator page (all groups, other year)", f"/indicators/{i}?period={p}")
            for i, p in rng.sample(pairs, min(n, len(pairs)))]
    out += [("indicator page (members of a group)",
             f"/indicators/{rng.choice(indicators)}?group={g}&period=") for g in rng.sample(groups, n)]
    out = [(k, u.replace("&period=", f"&period={latest[u.split('/indicators/')[1].split('?')[0]]}")
            if u.endswith("&period=") else u) for k, u in out]
    out += [("practice page", f"/practices/{p}") for p in rng.sample(practices, n)]
    out += [("API group", f"/api/v1/groups/{g}") for g in rng.sample(groups, n)]
    out += [("search", f"/search?q={rng.choice(['castle', 'pcn 1', 'surgery', 'A81', 'medical'])}&partial=1")
            for _ in range(n)]
    rng.shuffle(out)
    return out


def _summary(times: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    out = {}
    for kind, ts in sorted(times.items()):
        ts = sorted(ts)
        p95 = ts[min(len(ts) - 1, round(0.95 * (len(ts) - 1)))]
        out[kind] = {"requests": len(ts), "median_ms": statistics.median(ts) * 1000, "p95_ms": p95 * 1000,
                     "max_ms": ts[-1] * 1000}
    return out


def bench_web_latency() -> None:
    """Median and p95 page and API latency, 8 concurrent clients, full synthetic England."""
    base = _demo_dir()
    rng = random.Random(0)
    urls = _urls(base, rng)
    metrics: dict[str, Any] = {"clients": CLIENTS, "requests_per_page_type": REQUESTS}
    for label, cache in (("served", True), ("uncached", False)):
        proc, url, load_s, health = _start(base, cache)
        try:
            t0 = time.perf_counter()
            times = _run(url, urls)
            wall = time.perf_counter() - t0
            import httpx

            rss = httpx.get(url + "/healthz", timeout=10).json().get("peak_rss_mib")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        metrics[label] = {"startup_s": load_s, "wall_s": wall, "requests": len(urls), "server_peak_rss_mib": rss,
                          "pages_prerendered": health.get("warmed", 0),
                          "warm_up_s": health["warm_s"], "load_average": os.getloadavg()[0],
                          **_summary(times)}
        for kind, m in metrics[label].items():
            if isinstance(m, dict):
                print(f"  {label:9s} {kind:42s} median {m['median_ms']:7.1f} ms  p95 {m['p95_ms']:7.1f} ms")
        warmed = health.get("warmed", 0)
        print(f"  {label}: ready in {load_s:.0f}s (+ {health['warm_s']:.0f}s warm-up of {warmed} pages), "
              f"server peak memory {rss} MiB", flush=True)
    import duckdb

    con = duckdb.connect(str(base / "gpscale.duckdb"), read_only=True)
    sizes = {"practices": con.execute("SELECT count(*) FROM practice").fetchone()[0],  # type: ignore[index]
             "groups": con.execute("SELECT count(*) FROM practice_group").fetchone()[0]}  # type: ignore[index]
    con.close()
    metrics["data"] = sizes
    record("web_latency", metrics, notes=(
        f"{CLIENTS} concurrent keep-alive clients on 127.0.0.1, {REQUESTS} requests per page type in random "
        f"order, each URL once per phase (so member-funnel, practice and other-year pages are first visits). "
        f"'served' is gpscale serve as shipped (page cache + start-up warm-up of every group's and indicator's "
        f"default page, finished before timing); 'uncached' renders every request. Data: {sizes}."
    ))


if __name__ == "__main__":  # pragma: no cover
    bench_web_latency()
