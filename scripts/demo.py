"""Run the demo: migrate, serve, drive traffic, print loopwatch's report, keep serving.

    python scripts/demo.py --port 8000 --loop asyncio --duration 20

``make demo`` runs this with the project's virtualenv. Ctrl-C stops the server and exits.
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
MANAGE = ROOT / "demo_site" / "manage.py"
SERVER_LOG = ROOT / "demo_site" / "server.log"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--loop", default="asyncio", help="uvicorn's --loop: asyncio or uvloop")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of traffic")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--startup-timeout", type=float, default=60.0)
    return parser.parse_args(argv)


def ensure_port_free(host: str, port: int) -> None:
    """Stop early when something already listens there: the driver would measure it instead."""
    with socket.socket() as sock:
        # As uvicorn binds: a port left in TIME_WAIT by a previous run is free to use.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise SystemExit(
                f"{host}:{port} is already in use; pick another port: make demo PORT={port + 1}"
            ) from None


def wait_until_answering(url: str, server: subprocess.Popen[bytes], timeout: float) -> None:
    """Poll ``url`` until it answers 200; fail early if the server process has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"The server exited with status {server.returncode}; see {SERVER_LOG}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {timeout:g} s; see {SERVER_LOG}")


def stop(server: subprocess.Popen[bytes]) -> None:
    """Ask uvicorn to shut down gracefully, and insist if it will not."""
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _interrupt_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    # Ctrl-C must stop the demo even when it was started from a shell that ignores SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    base_url = f"http://{args.host}:{args.port}"
    python = sys.executable
    # A DJANGO_SETTINGS_MODULE left in the shell for another project must not leak in here.
    os.environ["DJANGO_SETTINGS_MODULE"] = "demo_site.settings"
    ensure_port_free(args.host, args.port)
    # The load driver's report lists loopwatch's checks; printing them here too is noise.
    subprocess.run(
        [python, str(MANAGE), "migrate", "--noinput", "--skip-checks", "-v", "0"],
        cwd=ROOT,
        check=True,
    )

    # The server gets its own session so that Ctrl-C reaches only this script, which then stops
    # the server exactly once (a second SIGINT would make uvicorn skip its graceful shutdown).
    log = SERVER_LOG.open("wb")
    server = subprocess.Popen(
        [python, "-m", "uvicorn", "demo_site.asgi:application",
         "--host", args.host, "--port", str(args.port), "--loop", args.loop, "--no-access-log"],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        print(f"Starting the demo site at {base_url} (--loop {args.loop}); log: {SERVER_LOG}")
        wait_until_answering(f"{base_url}/", server, args.startup_timeout)
        subprocess.run(
            [python, str(MANAGE), "drive", "--base-url", base_url,
             "--duration", str(args.duration), "--concurrency", str(args.concurrency)],
            cwd=ROOT,
            check=True,
        )  # fmt: skip
        print(
            f"\nStill serving at {base_url}/ until Ctrl-C:\n"
            f"  loopwatch page  {base_url}/loopwatch/\n"
            f"  stalls as JSON  {base_url}/loopwatch/stalls.json\n"
            f"  metrics         {base_url}/loopwatch/metrics",
            flush=True,
        )
        server.wait()
        print(f"The server exited with status {server.returncode}; see {SERVER_LOG}")
        return 1
    except KeyboardInterrupt:
        print("\nStopping the demo site.", flush=True)
        return 0
    finally:
        stop(server)
        log.close()


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main(sys.argv[1:]))
