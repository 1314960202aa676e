"""Write (or with ``--check``, verify) ``dashboards/loopwatch.json``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .dashboard import render

DASHBOARD_JSON = Path(__file__).resolve().parent.parent / "loopwatch.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loopwatch_dashboard", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="fail if the committed JSON is out of date"
    )
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = DASHBOARD_JSON.read_text(encoding="utf-8") if DASHBOARD_JSON.exists() else ""
        if current != text:
            print(
                f"{DASHBOARD_JSON} is out of date: run `python -m loopwatch_dashboard` "
                "in dashboards/",
                file=sys.stderr,
            )
            return 1
        return 0
    DASHBOARD_JSON.write_text(text, encoding="utf-8")
    print(f"wrote {DASHBOARD_JSON}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
