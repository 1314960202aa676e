#!/usr/bin/env python
"""Django's command-line utility for the loopwatch demo site.

Run it from anywhere: ``python demo_site/manage.py migrate``.
"""

import os
import sys
from pathlib import Path


def main() -> None:
    # The project package is ``demo_site`` itself, so the folder above it must be importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
