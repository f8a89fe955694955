#!/usr/bin/env python3
"""Profile one rtmp-inspect run with cProfile and print where the time goes, by module and by function.

Usage: python benchmarks/profile_run.py CAPTURE [--format json|jsonl] [--top N]
(cProfile roughly doubles the run time; the shares, not the seconds, are what to read.)
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import os
import pstats
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("capture")
    parser.add_argument("--format", default="jsonl", choices=("json", "jsonl"))
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    from rtmp_inspect import cli

    profile = cProfile.Profile()
    profile.enable()
    cli.main([args.capture, "--format", args.format, "-o", os.devnull, "--jobs", "1"])  # the profile of one process
    profile.disable()
    stats = pstats.Stats(profile)
    by_module: collections.Counter = collections.Counter()
    total = 0.0
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        key = filename.split(ROOT + os.sep)[-1] if ROOT in filename else (
            "(builtins)" if filename == "~" else "(stdlib) " + os.path.basename(filename))
        by_module[key] += tottime
        total += tottime
    print(f"total self time {total:.2f} s (under cProfile)\n\nby module:")
    for key, t in by_module.most_common(args.top):
        print(f"  {t:7.2f} s {100 * t / total:5.1f} %  {key}")
    print("\nby function (self time):")
    stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
