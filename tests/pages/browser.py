"""Debian's Chromium, headless, as the page tests drive it: DOM after scripts ran, screenshots.

dom = dump_dom(url, profile_dir)
screenshot(url, profile_dir / "page.png", profile_dir)
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.servers import require_binary

CHROMIUM = "/usr/bin/chromium"
WINDOW = (1280, 900)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def _run(args: list[str], profile: Path) -> str:
    binary = require_binary(CHROMIUM)
    result = subprocess.run(
        [binary, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"chromium exited with {result.returncode}:\n{result.stderr}")
    return result.stdout


def dump_dom(url: str, profile: Path) -> str:
    """The DOM once the page loaded and its scripts ran, serialised as HTML."""
    return _run(["--dump-dom", url], profile)


def screenshot(url: str, target: Path, profile: Path) -> None:
    width, height = WINDOW
    _run([f"--screenshot={target}", f"--window-size={width},{height}", url], profile)


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's header."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise AssertionError(f"{path} is not a PNG")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
