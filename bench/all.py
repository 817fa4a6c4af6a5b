"""Every benchmark in one go, then one table of their verdicts against their targets.

Each benchmark runs as its own process, one after the other (they would otherwise measure each
other), with its normal output shown as it goes. Each one prints its ratios against a baseline
measured in the same run, on lines naming the target; those lines are collected into the summary.
A benchmark that fails or prints no verdict shows as such. Exit 1 when any verdict is a MISS or
UNDECIDED (an interval that straddles the target) or a benchmark failed, with ``--check``.

Usage::

    .venv/bin/python bench/all.py [--only ingest,search] [--check]
    make bench
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ["rpc", "auth", "agent", "quality", "ingest", "search", "memory", "observability", "local_model"]
# "… (target ≥ 0.9)  PASS", "… target < 15 ms  OK", "agent/raw = 0.99  (target >= 0.9)  ok", and
# observability's "whole stack: UNDECIDED (target: …" (a confidence interval that straddles the target).
VERDICT = re.compile(r"(target|≥|≤|<|>).*\b(PASS|MISS|OK|ok|UNDECIDED)\b|\b(PASS|MISS|UNDECIDED) \(target")
ANSI = re.compile(r"\x1b\[[0-9;]*m|\[/?(green|red|bold|dim|yellow)\]")


# search keeps its filled stores between runs (1M chunks take most of an hour to fill; see its docstring)
ARGUMENTS = {"search": ["--data-dir", str(ROOT / "var" / "bench-search")]}


def run(name: str) -> tuple[int, list[str], float]:
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / f"{name}.py"), *ARGUMENTS.get(name, [])],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120"},
    )
    verdicts = []
    for line in process.stdout:
        sys.stdout.write(line)
        plain = ANSI.sub("", line).strip()
        if VERDICT.search(plain):
            verdicts.append(plain)
    return process.wait(), verdicts, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    chosen = [b for b in BENCHMARKS if not args.only or b in args.only.split(",")]
    summary, failed = [], False
    for name in chosen:
        print(f"\n===== bench/{name}.py =====", flush=True)
        code, verdicts, seconds = run(name)
        if code != 0 and not verdicts:
            summary.append((name, f"exited with {code}", "FAIL", seconds))
            failed = True
        for line in verdicts or ([] if code else ["(no verdict printed)"]):
            passed = "PASS" if VERDICT.search(line) else "-"
            status = next((word for word in ("MISS", "UNDECIDED") if word in line), passed)
            failed |= status in ("MISS", "UNDECIDED")
            summary.append((name, line, status, seconds))
    load = os.getloadavg()
    print(f"\n===== summary (load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores) =====")
    width = max(len(row[1]) for row in summary) if summary else 0
    for name, line, status, seconds in summary:
        print(f"{name:<14} {line:<{width}}  {status:<9} ({seconds:.0f} s)")
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
