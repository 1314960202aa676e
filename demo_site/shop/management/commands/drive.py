"""``manage.py drive``: traffic to every demo view, then loopwatch's findings as a table."""

import asyncio
import sys
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.management.base import BaseCommand, CommandParser
from django.urls import reverse

from demo_site.driver.loopwatch_client import counter_by_view, fetch_loopwatch
from demo_site.driver.report import format_report
from demo_site.driver.traffic import Target, progress_bar, send_traffic
from demo_site.shop.catalogue import PAGES


def view_name(view: Any) -> str:
    """The dotted path loopwatch labels a view with: the class for class-based views."""
    target = getattr(view, "view_class", view)
    return f"{target.__module__}.{target.__qualname__}"


def catalogue_targets() -> list[Target]:
    """One target per page of the demo catalogue."""
    return [
        Target(
            view=view_name(page.view),
            method=page.method,
            path=reverse(page.name, kwargs=page.sample_kwargs),
            mistake=page.mistake,
        )
        for page in PAGES
    ]


def static_check_lines() -> list[str]:
    """What ``manage.py check --tag loopwatch`` reports, one line per finding."""
    found = checks.run_checks(tags=["loopwatch"])
    return [str(message) for message in found]


class Command(BaseCommand):
    help = "Send concurrent traffic to every demo view, then print what loopwatch recorded."
    # The report has its own section for loopwatch's checks; the rest would only be noise.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument("--duration", type=float, default=20.0, help="seconds of traffic")
        parser.add_argument("--concurrency", type=int, default=20, help="requests in flight")
        parser.add_argument(
            "--token",
            default=None,
            help="bearer token for /loopwatch/ (default: LOOPWATCH['TOKEN'] of these settings)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        base_url = options["base_url"].rstrip("/")
        token = options["token"] or getattr(settings, "LOOPWATCH", {}).get("TOKEN")
        targets = catalogue_targets()
        self.stderr.write(
            f"Driving {len(targets)} views at {base_url} for {options['duration']:g} s"
            f" with {options['concurrency']} requests in flight"
        )
        traffic = asyncio.run(
            send_traffic(
                base_url,
                targets,
                duration=options["duration"],
                concurrency=options["concurrency"],
                on_progress=self._show_progress(options["duration"]),
            )
        )
        if sys.stderr.isatty():
            sys.stderr.write("\n")
        answers = asyncio.run(fetch_loopwatch(base_url, token))
        json_status = answers.statuses.get("/loopwatch/stalls.json")
        if json_status != 200:
            self.stderr.write(f"{base_url}/loopwatch/stalls.json answered HTTP {json_status}")
        hops = counter_by_view(answers.metrics_text, "loopwatch_thread_hops_total")
        report = format_report(
            answers.document,
            traffic=traffic,
            hops=hops if answers.metrics_text else None,
            checks=static_check_lines(),
        )
        self.stdout.write(report)
        for path, status in answers.statuses.items():
            self.stdout.write(f"{base_url}{path}  HTTP {status}")

    def _show_progress(self, duration: float) -> Callable[[float, int], None]:
        """Redraw the bar in place on a terminal; elsewhere (a log, a pipe) one line per 10%."""
        interactive = sys.stderr.isatty()
        shown_tenths = -1

        def show(elapsed: float, requests: int) -> None:
            nonlocal shown_tenths
            if interactive:
                sys.stderr.write("\r" + progress_bar(elapsed, duration, requests))
            else:
                tenths = int(10 * min(elapsed / duration, 1.0)) if duration > 0 else 10
                if tenths == shown_tenths:
                    return
                shown_tenths = tenths
                sys.stderr.write(progress_bar(elapsed, duration, requests) + "\n")
            sys.stderr.flush()

        return show
