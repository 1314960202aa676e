"""The per-request workload runs every configuration the request suites measure.

Run natively with a few requests (the suites run it under callgrind with 400): each mode must
serve them all with status 200, and the `loopwatch` and `tracking` modes refuse to finish
unless loopwatch counted every request under the view and saw no stall.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKLOAD = ROOT / "bench" / "request_workload.py"
sys.path.insert(0, str(ROOT / "bench"))

from request_workload import MODES, REFERENCES  # noqa: E402


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@pytest.mark.parametrize("mode", [*MODES, *REFERENCES])
def test_workload_serves_every_request_in_each_mode(mode: str, loop: str) -> None:
    """Each configuration of the request suites serves its requests and checks itself."""
    done = subprocess.run(
        [sys.executable, str(WORKLOAD), mode, loop, "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
