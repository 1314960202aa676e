"""The committed dashboard is exactly what the dashboards-as-code generator produces."""

from __future__ import annotations

import json
import re
from importlib.metadata import version
from pathlib import Path

import loopwatch_dashboard.__main__ as cli
import pytest
from dashboard_model import DASHBOARDS
from loopwatch_dashboard import render


def test_committed_json_matches_the_generator() -> None:
    """loopwatch.json has no hand edits and no stale output: regenerating changes nothing."""
    committed = (DASHBOARDS / "loopwatch.json").read_text(encoding="utf-8")
    assert committed == render(), (
        "dashboards/loopwatch.json differs from the generator's output; "
        "run `python -m loopwatch_dashboard` in dashboards/ and commit the result"
    )


def test_check_mode_reports_drift(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m loopwatch_dashboard --check` fails on a stale file and passes on a fresh one."""
    target = tmp_path / "loopwatch.json"
    monkeypatch.setattr(cli, "DASHBOARD_JSON", target)
    target.write_text(render().replace("Stalls per second", "Stalls/s"), encoding="utf-8")
    assert cli.main(["--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert cli.main([]) == 0
    assert cli.main(["--check"]) == 0
    assert json.loads(target.read_text(encoding="utf-8"))["uid"] == "loopwatch"


def test_generator_is_pinned_to_the_targeted_grafana() -> None:
    """The SDK version (EPOCH!GRAFANA_VERSION) targets the Grafana that compose.yaml runs."""
    sdk = version("grafana-foundation-sdk")
    match = re.fullmatch(r"\d+!(\d+\.\d+)\.\d+", sdk)
    assert match, f"unexpected grafana-foundation-sdk version {sdk}"
    compose = (DASHBOARDS / "compose.yaml").read_text(encoding="utf-8")
    image = re.search(r"image:\s*grafana/grafana:(\d+\.\d+)\.\d+", compose)
    assert image, "compose.yaml does not pin a grafana/grafana image"
    assert image.group(1) == match.group(1)
