"""The short CI version of the load test: bench/load.py for 8 s at concurrency 8 against its own server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def test_short_load_run_has_no_errors_and_sees_the_reload(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "load.py"),
            "--seconds",
            "8",
            "--concurrency",
            "8",
            "--workdir",
            str(tmp_path / "work"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    output = proc.stdout + proc.stderr[-3000:]
    assert proc.returncode == 0, output
    summary = json.loads(next(line for line in reversed(proc.stdout.splitlines()) if line.startswith("{")))
    assert summary["errors"] == {}
    assert summary["total_requests"] > 50
    assert set(summary["endpoints"]) == {"ask", "ask_stream", "search", "feedback", "healthz"}
    switch = summary["generation_switch"]
    assert switch["attempted"]
    assert switch["observed"]
    assert switch["admin_reload"]["status"] == 200
    assert switch["admin_reload"]["index_generation"] == switch["new"]
    assert set(switch["responses_by_generation"]) == {switch["old"], switch["new"]}
    assert "RESULT: OK" in proc.stdout
