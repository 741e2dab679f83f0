"""Load benchmark: `plaza run` over Rasa's REST channel, against a bare aiohttp endpoint.

Each virtual user is its own conversation holding a real booking dialogue, in English or French:
greet, search ("an italian near Bastille for 4 on Friday at 8pm"), press the first card's Book
button, confirm, list their bookings. The client checks every answer (a search must show cards,
a confirmation must give a PLZ- reference): a wrong answer counts as an error, like a 5xx.
A table taken by another user between the cards and the confirmation is the right answer, counted
apart ("taken"); that user then starts a new conversation.

Users are staggered: user i greets i mod 5 times before its first dialogue. Each user takes one
turn per round of the server's work, so users started together stay at the same step forever, and
every fifth round is 32 searches at once: p99 then measures that lockstep burst, which real
traffic does not make. The same load with every user in step is run once more at the highest
concurrency, so both figures come from one run (`--no-in-step` skips it).

Reported per concurrency level (1, 8, 32): turns per second, latency p50/p95/p99, errors; the
server's peak resident memory; its time to ready once trained; and, measured by the same client
in the same run, a bare aiohttp endpoint that does nothing (the machine's ceiling).

    python bench/load.py [--seconds 10] [--levels 1,8,32] [--database sqlite|postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from plaza.i18n import month_name

ROOT = Path(__file__).resolve().parent.parent
WEBHOOK = "/webhooks/rest/webhook"

SEARCHES = {
    "en": [
        "an italian near Bastille for {n} on {day} at {time}",
        "a japanese restaurant in the Marais for {n} people on {day} at {time}",
        "somewhere french in Saint-Germain for {n}, {day} at {time}",
        "find me an indian place for {n} on {day} at {time}",
        "lebanese food in Oberkampf for {n} on {day} at {time}",
    ],
    "fr": [
        "un italien à Bastille pour {n} le {day} à {time}",
        "un restaurant japonais dans le Marais pour {n} personnes le {day} à {time}",
        "une table pour {n} dans un bistrot français à Saint-Germain le {day} à {time}",
        "un indien pour {n} le {day} à {time}",
        "je cherche un libanais à Oberkampf pour {n} le {day} à {time}",
    ],
}
LOST_RACE = ("has just gone", "vient de partir", "Nothing free", "Plus rien de libre")
GREETINGS = {"en": "hello", "fr": "bonjour"}
YES = {"en": "yes please", "fr": "oui, c'est parfait"}
MY_BOOKINGS = {"en": "show my bookings", "fr": "mes réservations"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@dataclass
class LevelResult:
    name: str
    concurrency: int
    users: str = "staggered"
    """"staggered": user i starts i mod 5 steps into the dialogue's rhythm; "in step": all at once."""
    turns: int = 0
    errors: int = 0
    taken: int = 0
    """Confirmations that lost the last table to another user: the right answer, counted apart."""
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        lat = sorted(self.latencies)

        def pct(p: float) -> float:
            return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

        return {
            "target": self.name,
            "concurrency": self.concurrency,
            "users": self.users,
            "turns_per_s": round(self.turns / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(pct(0.50), 2),
            "p95_ms": round(pct(0.95), 2),
            "p99_ms": round(pct(0.99), 2),
            "errors": self.errors,
            "last_table_taken": self.taken,
            "turns": self.turns,
        }


class VirtualUser:
    """One conversation holding booking dialogues, checking each answer."""

    def __init__(self, index: int, run_id: str, rng: random.Random) -> None:
        self.base = f"vu-{run_id}-{index}"
        self.sender = self.base
        self.conversations = 1
        self.language = "fr" if index % 2 else "en"
        self.rng = rng
        self.script: list[str] = []
        self.expect: list[str] = []

    def new_dialogue(self) -> None:
        lang = self.language
        day = datetime.now(UTC).date() + timedelta(days=self.rng.randint(2, 40))
        if lang == "fr":
            day_text = f"{day.day} {month_name(day.month, 'fr')}"
            clock = self.rng.choice(["19h", "19h30", "20h", "20h30", "21h"])
        else:
            day_text = f"{day.strftime('%B')} {day.day}"
            clock = self.rng.choice(["7pm", "7:30pm", "8pm", "8:30pm", "9pm"])
        search = self.rng.choice(SEARCHES[lang]).format(n=self.rng.randint(2, 4), day=day_text, time=clock)
        self.script = [GREETINGS[lang], search, "<press book>", YES[lang], MY_BOOKINGS[lang]]
        self.expect = ["buttons", "cards_or_times", "confirm", "booked", "any"]

    def stagger(self, steps: int) -> None:
        """Greet `steps` times before the first dialogue, so users are not all at the same step.

        Every user takes one turn per round of the server's work; started together, they stay
        in step, and every fifth round is all searches at once, a burst real traffic does not
        make. A few greetings at the start (the mix is otherwise unchanged) put them out of step.
        """
        greeting = GREETINGS[self.language]
        self.script = [greeting] * steps + self.script
        self.expect = ["buttons"] * steps + self.expect

    def new_conversation(self) -> None:
        """After a lost race the bot is still in the form, asking for another time: start afresh."""
        self.conversations += 1
        self.sender = f"{self.base}-{self.conversations}"
        self.new_dialogue()

    @staticmethod
    def lost_race(answer: list[dict[str, Any]]) -> bool:
        """The table went to another user: at the confirmation, or between the cards and the press."""
        text = " ".join(str(m.get("text") or "") for m in answer)
        return any(said in text for said in LOST_RACE)

    @staticmethod
    def check(kind: str, answer: list[dict[str, Any]]) -> str | None:
        if not answer:
            return "no reply"
        text = " ".join(str(m.get("text") or "") for m in answer)
        buttons = [b for m in answer for b in m.get("buttons") or []]
        if kind == "buttons" and not buttons:
            return f"no menu buttons: {text[:80]}"
        if kind == "cards_or_times" and not any("book_table" in b["payload"] for b in buttons):
            return f"no bookable result: {text[:120]}"
        if kind == "confirm" and not any(b["payload"] == "/affirm" for b in buttons):
            return f"no confirmation asked: {text[:120]}"
        if kind == "booked" and not re.search(r"PLZ-[A-Z0-9]{6}", text):
            return f"no booking reference: {text[:120]}"
        return None


async def run_level(
    session: aiohttp.ClientSession,
    url: str,
    name: str,
    concurrency: int,
    seconds: float,
    run_id: str,
    staggered: bool = True,
) -> LevelResult:
    result = LevelResult(name, concurrency, "staggered" if staggered else "in step")
    bare = name == "bare"
    deadline = time.perf_counter() + seconds
    rng = random.Random(concurrency)

    async def user(index: int) -> None:
        vu = VirtualUser(index, f"{run_id}-{concurrency}-{result.users}", rng)
        last: list[dict[str, Any]] = []
        step = 0
        vu.new_dialogue()
        if staggered:
            vu.stagger(index % len(vu.script))  # a dialogue's length: every step has its share of users
        while time.perf_counter() < deadline:
            message = vu.script[step]
            if message == "<press book>":
                payloads = [
                    b["payload"] for m in last for b in m.get("buttons") or [] if "book_table" in b["payload"]
                ]
                message = payloads[0] if payloads else vu.script[1]
            body = {"sender": vu.sender, "message": message, "metadata": {"language": vu.language}}
            started = time.perf_counter()
            try:
                async with session.post(url, json=body) as response:
                    answer = await response.json()
                    status = response.status
            except (aiohttp.ClientError, json.JSONDecodeError) as exc:
                result.errors += 1
                result.error_samples.append(repr(exc))
                continue
            result.latencies.append(time.perf_counter() - started)
            result.turns += 1
            if bare:
                continue
            problem = f"HTTP {status}" if status >= 400 else VirtualUser.check(vu.expect[step], answer)
            if (
                problem is not None
                and vu.expect[step] in {"confirm", "booked"}
                and VirtualUser.lost_race(answer)
            ):
                result.taken += 1  # another user took the table first; the bot said so and offered others
                vu.new_conversation()
                step = 0
                last = []
                continue
            if problem is not None:
                result.errors += 1
                if len(result.error_samples) < 5:
                    result.error_samples.append(f"{vu.language} step {step} {message!r}: {problem}")
                vu.new_dialogue()
                step = 0
                last = []
                continue
            last = answer
            step += 1
            if step == len(vu.script):
                vu.new_dialogue()
                step = 0

    began = time.perf_counter()
    await asyncio.gather(*(user(i) for i in range(concurrency)))
    result.seconds = time.perf_counter() - began
    return result


async def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float) -> float:
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        while time.perf_counter() - started < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            try:
                async with session.get(url + "/health") as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.02)
    raise TimeoutError("server not ready")


def start(cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def measure(
    target: str, cmd: list[str], env: dict[str, str], port: int, args: argparse.Namespace
) -> tuple[list[LevelResult], float, float | None]:
    proc = start(cmd, env)
    base = f"http://127.0.0.1:{port}"
    args = argparse.Namespace(**{**vars(args), "run_id": f"{args.run_id}-{time.monotonic_ns()}"})
    try:
        ready = await wait_ready(base, proc, timeout=120)
        levels: list[LevelResult] = []
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=30)
        ) as session:
            levels.extend(
                [
                    await run_level(
                        session,
                        base + WEBHOOK,
                        target,
                        concurrency,
                        args.seconds,
                        args.run_id,
                    )
                    for concurrency in args.levels
                ]
            )
            if target == "plaza" and args.in_step:
                # the same load with every user in step: what p99 measured before users were staggered
                levels.append(
                    await run_level(
                        session,
                        base + WEBHOOK,
                        target,
                        max(args.levels),
                        args.seconds,
                        args.run_id,
                        staggered=False,
                    )
                )
        rss = peak_rss_mb(proc.pid)
    finally:
        stop(proc)
    return levels, ready, rss


TABLE_COLUMNS = [
    ("target", "target", -7),
    ("conc", "concurrency", 4),
    ("users", "users", -9),
    ("turns/s", "turns_per_s", 9),
    ("p50 ms", "p50_ms", 8),
    ("p95 ms", "p95_ms", 8),
    ("p99 ms", "p99_ms", 8),
    ("errors", "errors", 7),
]


def print_table(rows: list[dict[str, Any]], extra: list[tuple[str, str, int]]) -> None:
    """The load table: (title, key, width) per column, a negative width aligning left."""
    columns = TABLE_COLUMNS + extra

    def cell(value: Any, width: int) -> str:
        return f"{value!s:<{-width}}" if width < 0 else f"{value!s:>{width}}"

    print(" ".join(cell(title, width) for title, _, width in columns))
    for row in rows:
        print(" ".join(cell(row[key], width) for _, key, width in columns))


def cpu_model() -> str:
    with contextlib.suppress(OSError, StopIteration):
        return next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    return "unknown"


def conditions(args: argparse.Namespace, database: str) -> dict[str, Any]:
    return {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "database": database,
        "seconds_per_level": args.seconds,
        "client": "aiohttp, same machine, one process",
    }


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--levels", default="1,8,32")
    parser.add_argument("--database", default="sqlite", help="sqlite (a fresh file) or a PostgreSQL URL")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    parser.add_argument(
        "--no-in-step",
        dest="in_step",
        action="store_false",
        help="skip the extra level with every virtual user in step (all at the same dialogue step)",
    )
    args = parser.parse_args()
    args.levels = [int(x) for x in args.levels.split(",")]
    args.run_id = f"{int(time.time())}"
    plaza = shutil.which("plaza") or str(Path(sys.executable).parent / "plaza")

    subprocess.run(
        [plaza, "train"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    workdir = Path(tempfile.mkdtemp(prefix="plaza-bench-"))
    env = dict(os.environ)
    if args.database == "sqlite":
        env["PLAZA_DATABASE_URL"] = f"sqlite:///{workdir / 'bench.db'}"
        database = "SQLite (WAL, synchronous=NORMAL), fresh file"
    else:
        env["PLAZA_DATABASE_URL"] = args.database
        database = f"PostgreSQL {args.database.split('@')[-1]}"

    port = free_port()
    env["PLAZA_PORT"] = str(port)
    print("starting plaza run (first start migrates the fresh database)…", file=sys.stderr)
    _, ready_first, _ = await measure(
        "plaza",
        [plaza, "run"],
        env,
        port,
        argparse.Namespace(**{**vars(args), "levels": [1], "seconds": 0.5, "in_step": False}),
    )
    plaza_levels, ready, rss = await measure("plaza", [plaza, "run"], env, port, args)

    bare_port = free_port()
    bare_cmd = [sys.executable, str(Path(__file__).parent / "bare_server.py"), str(bare_port)]
    bare_levels, _, bare_rss = await measure("bare", bare_cmd, env, bare_port, args)
    shutil.rmtree(workdir, ignore_errors=True)

    report = {
        "conditions": conditions(args, database),
        "plaza": {
            "ready_seconds_first_start": round(ready_first, 2),
            "ready_seconds": round(ready, 2),
            "peak_rss_mb": round(rss or 0, 1),
        },
        "bare": {"peak_rss_mb": round(bare_rss or 0, 1)},
        "levels": [r.row() for r in plaza_levels + bare_levels],
        "error_samples": [s for r in plaza_levels for s in r.error_samples][:10],
    }
    print(json.dumps(report["conditions"], indent=2))
    print(
        f"plaza ready in {ready:.2f}s once trained (first start on a fresh database {ready_first:.2f}s); "
        f"peak RSS {rss:.0f} MB; bare endpoint peak RSS {bare_rss:.0f} MB"
    )
    print_table(report["levels"], [("taken", "last_table_taken", 6), ("turns", "turns", 7)])
    for sample in report["error_samples"]:
        print("error:", sample)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
