"""Headless Chromium for tests: the command line, a DOM dump and a screenshot.

    command = chromium_command(tmp_path)          # skips (or fails in CI) without Chromium
    dom = dump_dom(command, url)                  # the DOM after the page's scripts ran
    png = screenshot(command, url, tmp_path / "page.png")

Each run gets its own profile directory and a virtual time budget, so scripts that load and
fetch more (the debug toolbar's panels, the page's anchor handling) finish before the dump.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
DOCS = Path(__file__).resolve().parents[1] / "docs"
WINDOW = (1400, 900)


def chromium_command(tmp_path: Path) -> list[str]:
    """Chromium's headless command line; skips without it, fails under LOOPWATCH_REQUIRE_REAL=1."""
    if shutil.which(CHROMIUM) is None:
        reason = f"Chromium ({CHROMIUM}, Debian package chromium) is not installed"
        if os.environ.get("LOOPWATCH_REQUIRE_REAL") == "1":
            pytest.fail(f"LOOPWATCH_REQUIRE_REAL=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ]


def _run(command: list[str], *args: str) -> str:
    done = subprocess.run(
        [*command, "--virtual-time-budget=15000", *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )
    return done.stdout


def dump_dom(command: list[str], url: str) -> str:
    return _run(command, "--dump-dom", url)


def screenshot(command: list[str], url: str, path: Path, window: tuple[int, int] = WINDOW) -> bytes:
    """A PNG of the page at `url` in a `window` (width, height); checked to be that PNG."""
    width, height = window
    size_flag = f"--window-size={width},{height}"
    _run(command, size_flag, "--hide-scrollbars", f"--screenshot={path}", url)
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n"), f"{path} is not a PNG"
    size = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert size == window, f"{path} is {size}, expected {window}"
    return data


def keep_for_docs(data: bytes, name: str) -> None:
    """With LOOPWATCH_SCREENSHOTS=1, write the screenshot to docs/<name> (for the README)."""
    if os.environ.get("LOOPWATCH_SCREENSHOTS") == "1":
        DOCS.mkdir(exist_ok=True)
        (DOCS / name).write_bytes(data)
