"""What the app catalogue costs: `weft serve --demo` start-up and `GET /application` latency.

For each source tree given (e.g. this checkout's `src` and an older checkout's), it starts
`weft serve --demo` on a fresh data directory, times the start until `/healthz` answers, then
asks `GET /application` (the whole catalogue, as a linked account) and `GET /application/{slug}`
(one app, with its schemas) a few hundred times, one after another, and prints medians.
Rounds alternate between the trees so a busy machine hurts both alike.

Run: .venv/bin/python bench/catalog.py --src src [--src /path/to/old/src] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

TOKEN = re.compile(r"session token\s+(\S+)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def one_round(src: str, requests: int, slug: str) -> dict[str, float]:
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "PYTHONPATH": str(Path(src).resolve()), "WEFT_PORT": str(port)}
        env |= {"WEFT_DATA_DIR": data, "WEFT_LOG_LEVEL": "warning", "WEFT_PROCESSES": "1"}
        started = time.perf_counter()
        server = subprocess.Popen(
            [sys.executable, "-m", "weft", "serve", "--demo"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).is_success:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.perf_counter() - started > 120:
                    raise SystemExit(f"weft serve ({src}) did not start")
                time.sleep(0.02)
            start_s = time.perf_counter() - started
            output = ""
            while not (found := TOKEN.search(output)):
                output += server.stdout.readline()
            headers = {"authorization": f"Bearer {found.group(1)}"}
            with httpx.Client(base_url=f"{base}/api/v2/public", headers=headers) as client:
                figures = {"start_s": start_s}
                for name, path in (("list_ms", "/application"), ("one_ms", f"/application/{slug}")):
                    client.get(path).raise_for_status()  # warm
                    timings = []
                    for _ in range(requests):
                        before = time.perf_counter()
                        client.get(path).raise_for_status()
                        timings.append((time.perf_counter() - before) * 1000)
                    figures[name] = statistics.median(timings)
                figures["apps"] = len(client.get("/application").json())
            return figures
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--src", action="append", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--slug", default="stripe")
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {src: [] for src in args.src}
    for _ in range(args.rounds):
        for src in args.src:
            results[src].append(one_round(src, args.requests, args.slug))
    print("| source | apps | start (s) | list p50 (ms) | one app p50 (ms) |")
    print("|---|---|---|---|---|")
    for src, rounds in results.items():
        median = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
        print(
            f"| {src} | {median['apps']:.0f} | {median['start_s']:.2f} | "
            f"{median['list_ms']:.1f} | {median['one_ms']:.1f} |"
        )


if __name__ == "__main__":
    main()
