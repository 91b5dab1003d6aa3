"""The dashboard's process ends cleanly: after its requests, stopping the server and leaving the interpreter exit
with status 0 (worker threads used to free their Arrow readers while the interpreter exited, and Arrow aborted
the process: "terminate called without an active exception", status 134, in most runs on full England)."""

from __future__ import annotations

import subprocess
import sys

from tests.unit.web.world import world

SCRIPT = """
import sys, warnings
warnings.simplefilter("ignore")
from fastapi.testclient import TestClient
from gpscale.bundle import open_bundle
from gpscale.web.app import create_app
app = create_app(open_bundle(sys.argv[1]), cache_pages=False)
with TestClient(app) as client:
    for path in ("/", "/groups/U00001", "/groups/U00001/evaluation", "/indicators/qof_total", "/practices/P00001",
                 "/download/groups/U00001/scorecard.csv", "/api/v1/groups/U00001", "/search?q=oak&partial=1"):
        assert client.get(path).status_code == 200, path
print("served")
"""


def test_the_server_process_exits_cleanly_after_serving() -> None:
    results = str(world().results)
    for _ in range(4):
        run = subprocess.run([sys.executable, "-c", SCRIPT, results], capture_output=True, text=True, timeout=300)
        assert run.stdout.strip() == "served", run.stderr[-2000:]
        assert run.returncode == 0, run.stderr[-2000:]
