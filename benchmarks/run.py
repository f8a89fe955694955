#!/usr/bin/env python3
"""Benchmark rtmp-inspect against tshark, side by side, on the inputs of make_inputs.py.

For each input, in one run and one after the other on the same file (so all see the same page cache):
  ours json      rtmp-inspect FILE --format json  -o /dev/null            (default: all cores, --jobs)
  ours json x1   rtmp-inspect FILE --format json  -o /dev/null --jobs 1   (one process)
  ours jsonl     the same two with --format jsonl
  tshark flds    tshark -r FILE -Y rtmpt -T fields -e frame.number -e rtmpt.header.typeid  > /dev/null
  tshark json    tshark -r FILE -Y rtmpt -T json > /dev/null      (given --tshark-json-timeout seconds)
Wall time (best of --repeat) and peak RSS (os.wait4's ru_maxrss: the largest single process of the tree,
so with --jobs N the total is up to N times that). The gigabyte input is run with jsonl only (flat memory,
MB/s), unless --big-tshark.

Prints a Markdown table and writes it, with the machine description, to benchmarks/out/results.md.

Usage: python benchmarks/run.py [--inputs media media128 sessions big] [--repeat N] [--tshark-json-timeout S]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "out")
ROOT = os.path.dirname(HERE)

LABELS = {
    "media": "1. media, chunk size 4096",
    "media128": "2. media, chunk size 128",
    "sessions": "3. 10,000 short sessions",
    "big": "4. ~1 GB media (jsonl)",
}


# Python's bytecode cache as on a user's machine: this project's machines set PYTHONDONTWRITEBYTECODE, which
# makes every run compile the whole package again (~0.13 s of each run).
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def measure(cmd: list[str], timeout: float | None = None) -> tuple[float | None, int | None, int]:
    """(wall seconds or None on timeout, peak RSS in KiB, exit status)."""
    began = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=ENV)
    deadline = None if timeout is None else began + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return time.perf_counter() - began, usage.ru_maxrss, proc.returncode
        if deadline is not None and time.perf_counter() > deadline:
            proc.kill()
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = -9
            return None, usage.ru_maxrss, -9
        time.sleep(0.01)


def machine() -> str:
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    try:
        tshark = subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        tshark = "tshark not found"
    return (f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {model}, RAM {mem}; "
            f"Python {platform.python_version()}; {tshark}; Linux {platform.release()}")


def fmt_time(t: float | None, timeout: float | None = None) -> str:
    if t is None:
        return f"> {timeout:.0f} s (stopped)" if timeout else "-"
    return f"{t:.2f} s"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="rtmp-inspect vs tshark, side by side")
    parser.add_argument("--inputs", nargs="*", default=["media", "media128", "sessions", "big"], choices=list(LABELS))
    parser.add_argument("--repeat", type=int, default=1, help="runs per command; the best time is kept")
    parser.add_argument("--tshark-json-timeout", type=float, default=600.0,
                        help="stop tshark -T json after this many seconds (reported as such)")
    parser.add_argument("--no-tshark-json", action="store_true", help="skip tshark -T json")
    parser.add_argument("--big-tshark", action="store_true", help="also run json and tshark on the 1 GB input")
    parser.add_argument("--jobs-arg", default=None, help="extra argument(s) for rtmp-inspect, e.g. '--jobs 2'")
    parser.add_argument("--curve", action="store_true",
                        help="only the scaling curve: jsonl over media/media3/big and sessions1k/3k/10k "
                        "(make_inputs.py --curve builds them)")
    args = parser.parse_args(argv)
    if args.curve:
        return curve(args)

    ours = [sys.executable, "-m", "rtmp_inspect"]
    extra = args.jobs_arg.split() if args.jobs_arg else []
    rows = []
    for name in args.inputs:
        path = os.path.join(OUT, name + ".pcap")
        if not os.path.exists(path):
            print(f"{path} missing: run python benchmarks/make_inputs.py first", file=sys.stderr)
            return 2
        size = os.path.getsize(path)
        full = name != "big" or args.big_tshark
        single = ["--jobs", "1"]
        cmds = {"jsonl": ours + [path, "--format", "jsonl", "-o", "/dev/null"] + extra,
                "jsonl1": ours + [path, "--format", "jsonl", "-o", "/dev/null"] + single}
        if full:
            cmds["json"] = ours + [path, "--format", "json", "-o", "/dev/null"] + extra
            cmds["json1"] = ours + [path, "--format", "json", "-o", "/dev/null"] + single
            cmds["tshark_fields"] = ["tshark", "-r", path, "-Y", "rtmpt", "-T", "fields",
                                     "-e", "frame.number", "-e", "rtmpt.header.typeid"]
            if not args.no_tshark_json:
                cmds["tshark_json"] = ["tshark", "-r", path, "-Y", "rtmpt", "-T", "json"]
        # warm the page cache so that the first command is not penalised
        with open(path, "rb") as f:
            while f.read(1 << 24):
                pass
        result: dict[str, tuple] = {}
        for _ in range(args.repeat):
            for key, cmd in cmds.items():
                timeout = args.tshark_json_timeout if key == "tshark_json" else None
                t, rss, status = measure(cmd, timeout)
                if status not in (0, -9):
                    print(f"{' '.join(cmd)}: exit status {status} (not counted)", file=sys.stderr)
                    continue
                best = result.get(key)
                if best is None or (t is not None and (best[0] is None or t < best[0])):
                    result[key] = (t, rss)
                print(f"  {name:9} {key:14} {fmt_time(t, timeout):>22} {rss / 1024:8.0f} MB", flush=True)
        rows.append((name, size, result))

    lines = []
    lines.append(f"Machine: {machine()}")
    lines.append("")
    cores = len(os.sched_getaffinity(0))
    lines.append(f"ours: default run (--jobs: all {cores} cores for these inputs); x1: --jobs 1 (one process).")
    lines.append("")
    lines.append("| input | size | ours json | json x1 | ours jsonl | jsonl x1 | tshark fields | tshark -T json | "
                 "json / fields | json x1 / fields | jsonl / fields | json / tshark json | MB/s jsonl (x1) | "
                 "peak RSS per process: json / json x1 / jsonl x1 / fields / tshark json |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, size, r in rows:
        def t(key, r=r):
            return r.get(key, (None, None))[0]

        def cell(key, r=r):
            return fmt_time(t(key)) if key in r else "-"

        def rss(key, r=r):
            v = r.get(key, (None, None))[1]
            return "-" if v is None or key not in r else f"{v / 1024:.0f} MB"

        def ratio(a, b):
            return "-" if t(a) is None or t(b) is None else f"{t(a) / t(b):.2f}"

        tj = r.get("tshark_json")
        tj_text = "-" if tj is None else fmt_time(tj[0], args.tshark_json_timeout)
        if tj is not None and tj[0] is None and t("json"):
            json_ratio = f"< {t('json') / args.tshark_json_timeout:.2f}"
        else:
            json_ratio = ratio("json", "tshark_json")
        speed = "-" if t("jsonl") is None else f"{size / 1e6 / t('jsonl'):.1f}"
        if t("jsonl1") is not None:
            speed += f" ({size / 1e6 / t('jsonl1'):.1f})"
        lines.append(
            f"| {LABELS[name]} | {size / 1e6:.0f} MB | {cell('json')} | {cell('json1')} | {cell('jsonl')} | "
            f"{cell('jsonl1')} | {cell('tshark_fields')} | {tj_text} | {ratio('json', 'tshark_fields')} | "
            f"{ratio('json1', 'tshark_fields')} | {ratio('jsonl', 'tshark_fields')} | {json_ratio} | {speed} | "
            f"{rss('json')} / {rss('json1')} / {rss('jsonl1')} / {rss('tshark_fields')} / {rss('tshark_json')} |"
        )
    text = "\n".join(lines) + "\n"
    print()
    print(text)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "results.md"), "w") as f:
        f.write(text)
    return 0


def curve(args) -> int:
    """jsonl time (one process) against capture size (1, 3, 9 rounds of media) and flow count (1k, 3k, 10k)."""
    ours = [sys.executable, "-m", "rtmp_inspect"]
    lines = ["| input | size | flows | jsonl time | peak RSS | MB/s | us per flow |", "|---|---|---|---|---|---|---|"]
    flows = {"media": 12, "media3": 36, "big": 108, "sessions1k": 1000, "sessions3k": 3000, "sessions": 10000}
    for name in ("media", "media3", "big", "sessions1k", "sessions3k", "sessions"):
        path = os.path.join(OUT, name + ".pcap")
        if not os.path.exists(path):
            print(f"{path} missing: python benchmarks/make_inputs.py --curve", file=sys.stderr)
            return 2
        size = os.path.getsize(path)
        best = None
        for _ in range(args.repeat):
            t, rss, _status = measure(ours + [path, "--format", "jsonl", "-o", "/dev/null", "--jobs", "1"])
            if best is None or t < best[0]:
                best = (t, rss)
        t, rss = best
        print(f"  {name:10} {t:8.2f} s {rss / 1024:6.0f} MB", flush=True)
        lines.append(f"| {name} | {size / 1e6:.0f} MB | {flows[name]} | {t:.2f} s | {rss / 1024:.0f} MB | "
                     f"{size / 1e6 / t:.1f} | {t / flows[name] * 1e6:.0f} |")
    text = "\n".join(lines) + "\n"
    print()
    print(text)
    with open(os.path.join(OUT, "curve.md"), "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
