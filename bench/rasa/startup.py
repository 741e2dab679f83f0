"""Time a chat server's start: launch it, poll until it answers, send one REST turn, stop it.

Measured from the launch of the command, repeated ``--repeat`` times:

* ``ready_s``: first ``GET /`` answered with HTTP 200 (Rasa answers it only once the model
  is loaded);
* ``first_turn_s``: ready, then the first ``POST /webhooks/rest/webhook`` answered with a
  non-empty reply (the time until a user gets an answer);
* ``first_turn_latency_s``: that first turn alone;
* ``rss_mb`` / ``peak_rss_mb``: the server's VmRSS and VmHWM after the first turn (its process
  tree, summed, if it forked children).

    python bench/rasa/startup.py --url http://127.0.0.1:5105 --cwd /work/rasa-demo --repeat 3 -- \
        /work/rasa-venv/bin/rasa run --enable-api -p 5105 -i 127.0.0.1

Standard library only; the server's output goes to ``--log`` (default: discarded).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any


def memory_mb(pid: int) -> tuple[float, float]:
    """VmRSS and VmHWM of ``pid`` and its descendants, in MB."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids.extend(int(child) for child in children.read_text().split())
    rss = hwm = 0.0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1]) / 1024
                elif line.startswith("VmHWM:"):
                    hwm += int(line.split()[1]) / 1024
        except OSError:
            continue
    return round(rss, 1), round(hwm, 1)


def get_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except (OSError, http.client.HTTPException):  # URLError, refused, reset, timeout
        return False


def post_json(url: str, body: dict[str, Any], timeout: float) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


def one_start(args: argparse.Namespace, index: int) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        log: Any = stack.enter_context(open(args.log, "ab")) if args.log else subprocess.DEVNULL
        began = time.perf_counter()
        proc = subprocess.Popen(args.command, cwd=args.cwd, stdout=log, stderr=subprocess.STDOUT)
        stack.callback(stop, proc)
        return wait_and_turn(args, index, proc, began)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_and_turn(
    args: argparse.Namespace, index: int, proc: subprocess.Popen[bytes], began: float
) -> dict[str, Any]:
    ready = None
    while time.perf_counter() - began < args.timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        if get_ok(args.url.rstrip("/") + "/"):
            ready = time.perf_counter() - began
            break
        time.sleep(0.05)
    if ready is None:
        raise TimeoutError("server not ready")
    turn_began = time.perf_counter()
    answer = post_json(
        args.url.rstrip("/") + "/webhooks/rest/webhook",
        {"sender": f"startup-{os.getpid()}-{index}", "message": args.message},
        timeout=args.timeout,
    )
    turned = time.perf_counter()
    if not answer:
        raise RuntimeError(f"empty answer to {args.message!r}: {answer!r}")
    time.sleep(1.0)
    rss, hwm = memory_mb(proc.pid)
    return {
        "ready_s": round(ready, 2),
        "first_turn_s": round(turned - began, 2),
        "first_turn_latency_s": round(turned - turn_began, 3),
        "rss_mb": rss,
        "peak_rss_mb": hwm,
        "answer": answer,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:5105")
    parser.add_argument("--cwd", default=".")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--message", default="hi")
    parser.add_argument("--pause", type=float, default=5.0, help="seconds between runs (port release)")
    parser.add_argument("--log", default=None, help="append the server's output to this file")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    if not args.command:
        parser.error("give the server command after --")
    runs = []
    for index in range(args.repeat):
        load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
        result = one_start(args, index)
        result["load_before"] = load_before
        runs.append(result)
        print(json.dumps(result), flush=True)
        time.sleep(args.pause)
    report = {"date": time.strftime("%Y-%m-%d %H:%M"), "command": args.command, "runs": runs}
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
