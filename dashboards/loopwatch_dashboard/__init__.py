"""Dashboards as code for loopwatch: the Grafana dashboard, built with grafana-foundation-sdk.

python -m loopwatch_dashboard            # (from dashboards/) rewrite loopwatch.json
python -m loopwatch_dashboard --check    # exit 1 when loopwatch.json is out of date
"""

from .dashboard import TITLE, UID, build, render

__all__ = ["TITLE", "UID", "build", "render"]
