"""Differential test of the Rust ChunkDecoder against the Python one, independent of capture parsing.

    python native/rtmp/tests/differential.py                 # every sample and test capture (full variants),
                                                             # the benchmark inputs (bench variants), synthetic streams
    python native/rtmp/tests/differential.py CAPTURE... [--variants full] [--synthetic N] [--no-bench]

For each capture: make_feeds.py writes a feed file, reference_events.py (Python) and the `events` example (Rust)
each print the canonical event lines, and the two outputs must be byte-identical. Within each group of runs
(the same input fed in different pieces) every feeding must also give the same lines, in both implementations.
Exit status 1 on any difference. Feed files and outputs go to --work (default /tmp/rtmp-differential).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
CRATE = HERE.parent
ROOT = HERE.parents[2]
TARGET = os.environ.get("CARGO_TARGET_DIR", "/tmp/target-rtmp")
EXAMPLE = Path(TARGET) / "release" / "examples" / "events"
KINDS = ("mutated", "synthetic", "crafted", "fuzz", "unmutated")


def kind_of(group: str) -> str:
    if "/mut" in group or ".mut." in group:
        return "mutated"
    return next((k for k in KINDS[1:4] if group.startswith(k)), "unmutated")
CAPTURE_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x0a\x0d\x0d\x0a",
                  b"\x1f\x8b")
BENCH = [ROOT / "benchmarks" / "out" / name for name in ("media.pcap", "media128.pcap", "sessions.pcap")]


def find_captures() -> list[Path]:
    found = []
    for top in (ROOT / "samples", ROOT / "tests" / "data"):
        for path in sorted(top.rglob("*")):
            if path.is_file():
                with open(path, "rb") as f:
                    if f.read(4) in CAPTURE_MAGICS:
                        found.append(path)
    return found


def runs_of(text: bytes) -> list[tuple[str, bytes]]:
    """(label, lines) per run of an output."""
    runs = []
    for block in text.split(b"run ")[1:]:
        label, _, body = block.partition(b"\n")
        runs.append((label.decode(), body))
    return runs


def comparable(body: bytes) -> bytes:
    """A run's lines without the state lines of an encrypted (RTMPE) direction: the decoder drops what is
    buffered when it sees RTMPE and ignores the rest, so its offsets then depend on how the bytes came."""
    return b"\n".join(line for line in body.split(b"\n") if not (line.startswith(b"S ") and line.split()[4] == b"1"))


def group_problems(runs: list[tuple[str, bytes]], side: str) -> list[str]:
    """Runs of one group whose events differ from the group's first feeding."""
    first: dict[str, tuple[str, bytes]] = {}
    problems = []
    for label, body in runs:
        body = comparable(body)
        group, _, feeding = label.partition("|")
        if group not in first:
            first[group] = (feeding, body)
        elif first[group][1] != body:
            a, b = first[group][1].split(b"\n"), body.split(b"\n")
            i = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            problems.append(f"{side}: {group}: {first[group][0]} vs {feeding} differ at line {i}: "
                            f"{a[i:i + 1]!r} vs {b[i:i + 1]!r}")
    return problems


def check(name: str, feed_args: list[str], work: Path) -> dict:
    feed = work / f"{name}.feed"
    subprocess.run([sys.executable, str(HERE / "make_feeds.py"), *feed_args, str(feed)], check=True,
                   stderr=subprocess.DEVNULL)
    with ThreadPoolExecutor(2) as pool:
        py = pool.submit(subprocess.run, [sys.executable, str(HERE / "reference_events.py"), str(feed)],
                         capture_output=True, check=True)
        rs = pool.submit(subprocess.run, [str(EXAMPLE), str(feed)], capture_output=True, check=True)
        py_out, rs_out = py.result().stdout, rs.result().stdout
    feed.unlink()
    py_runs, rs_runs = runs_of(py_out), runs_of(rs_out)
    problems = []
    if py_out != rs_out:
        for (label, a), (_, b) in zip(py_runs, rs_runs):
            if a != b:
                la, lb = a.split(b"\n"), b.split(b"\n")
                i = next((i for i, (x, y) in enumerate(zip(la, lb)) if x != y), min(len(la), len(lb)))
                problems.append(f"python vs rust: {label}: line {i}: {la[i:i + 1]!r} vs {lb[i:i + 1]!r}")
                if len(problems) > 5:
                    break
        if len(py_runs) != len(rs_runs):
            problems.append(f"python vs rust: {len(py_runs)} vs {len(rs_runs)} runs")
    problems += group_problems(py_runs, "python")[:5] + group_problems(rs_runs, "rust")[:5]
    lines = py_out.count(b"\n")
    kinds = {k: 0 for k in KINDS}
    for label, _ in py_runs:
        kinds[kind_of(label.partition("|")[0])] += 1
    return {"name": name, "runs": len(py_runs), "lines": lines, "problems": problems, "kinds": kinds,
            "sha": hashlib.sha256(py_out).hexdigest()[:16], "rust_sha": hashlib.sha256(rs_out).hexdigest()[:16],
            "groups": len({label.partition("|")[0] for label, _ in py_runs})}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("captures", nargs="*", type=Path)
    parser.add_argument("--variants", default="full", choices=("segments", "bench", "plain", "full"))
    parser.add_argument("--mutations", type=int, default=24)
    parser.add_argument("--synthetic", type=int, default=3000, help="generated chunk streams (0: none)")
    parser.add_argument("--no-bench", action="store_true", help="skip the benchmark inputs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--overflow-checks", action="store_true",
                        help="build the Rust side with overflow checks and debug assertions (as in debug builds)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/rtmp-differential"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    global EXAMPLE
    env = {**os.environ, "CARGO_TARGET_DIR": TARGET}
    if args.overflow_checks:
        env.update(CARGO_TARGET_DIR=TARGET + "-checked", CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS="true",
                   CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS="true")
        EXAMPLE = Path(env["CARGO_TARGET_DIR"]) / "release" / "examples" / "events"
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "rtmp-inspect-rtmp", "--example", "events"],
                   cwd=CRATE.parent, check=True, env=env)
    jobs = []
    for path in args.captures or find_captures():
        name = str(path.resolve().relative_to(ROOT)).replace("/", "_") if path.resolve().is_relative_to(ROOT) else path.name
        jobs.append((name, [str(path), "--variants", args.variants, "--mutations", str(args.mutations),
                            "--seed", str(args.seed)]))
    if not args.captures and not args.no_bench:
        jobs += [(p.name, [str(p), "--variants", "bench"]) for p in BENCH if p.exists()]
    if not args.captures:
        jobs.append(("crafted", ["--crafted", "--seed", str(args.seed)]))
    chunk = 250
    for start in range(0, args.synthetic, chunk):
        jobs.append((f"synthetic{start}", ["--synthetic", str(min(chunk, args.synthetic - start)),
                                           "--seed", str(args.seed * 100_003 + start)]))
    total_runs = total_groups = total_lines = 0
    kinds = {k: 0 for k in KINDS}
    failed = False
    with ThreadPoolExecutor(args.jobs) as pool:
        for result in pool.map(lambda job: check(*job, args.work), jobs):
            total_runs += result["runs"]
            total_groups += result["groups"]
            total_lines += result["lines"]
            for k, n in result["kinds"].items():
                kinds[k] += n
            status = "ok" if not result["problems"] else "DIFFERENT"
            failed |= bool(result["problems"])
            print(f"{status:9} {result['name']}: {result['runs']} runs, {result['groups']} inputs, "
                  f"{result['lines']} lines, python {result['sha']} rust {result['rust_sha']}", flush=True)
            for problem in result["problems"]:
                print(f"    {problem}", flush=True)
    print(f"{'FAILED' if failed else 'all equal'}: {len(jobs)} feed files, {total_groups} inputs, "
          f"{total_runs} runs, {total_lines} event lines; runs by kind: "
          + ", ".join(f"{k} {n}" for k, n in kinds.items()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
