"""Executions, findings and fuzzing time per harness, from the logs run.sh writes (fuzz/logs/HARNESS.N.log)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

LOGS = Path(__file__).resolve().parent / "logs"


def main() -> None:
    for harness in ("capture", "reassembly", "rtmp", "pipeline"):
        logs = sorted(LOGS.rglob(f"{harness}.*.log"))
        if not logs:
            continue
        execs = seconds = crashes = 0
        cov = ""
        for log in logs:
            text = log.read_text(errors="replace")
            counts = [int(n) for n in re.findall(r"^#(\d+)\s", text, re.M)]
            units = re.findall(r"stat::number_of_executed_units:\s*(\d+)", text)
            execs += int(units[-1]) if units else (max(counts) if counts else 0)
            done = re.findall(r"Done \d+ runs in (\d+) second", text)
            rate = re.findall(r"exec/s: (\d+)", text)
            if done:
                seconds += int(done[-1])
            elif counts and rate:
                seconds += max(counts) // max(1, int(rate[-1]))
            crashes += len(re.findall(r"==\d+== ERROR: libFuzzer", text))
            found = re.findall(r"cov: (\d+) ft: (\d+)", text)
            cov = f"cov {found[-1][0]} ft {found[-1][1]}" if found else cov
        print(f"{harness:<11} {len(logs):3d} run(s)  {execs:>9,d} executions  ~{seconds / 60:5.1f} min  "
              f"{crashes} finding(s)  {cov}")


if __name__ == "__main__":
    sys.exit(main())
