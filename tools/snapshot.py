#!/usr/bin/env python3
"""Every sample through every output form, hashed: the proof that a refactor or a second core changes no output.

    python tools/snapshot.py save FILE [--bench]     # write the manifest of this tree's outputs
    python tools/snapshot.py compare FILE [--bench]  # the same outputs again, against a saved manifest
    RTMP_INSPECT_PURE=1 python tools/snapshot.py ...  # the pure-Python core

The manifest holds one line per (capture, output form): the sha256 of stdout, of stderr and the exit status;
for --extract-flv also every file's name and hash. `--bench` adds the synthetic benchmark inputs
(benchmarks/out/*.pcap, built by benchmarks/make_inputs.py) when they exist.
"""

from __future__ import annotations

import glob
import hashlib
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Output forms: a name and the options that make it.
FORMS: list[tuple[str, list[str]]] = [
    ("text", ["--format", "text", "--no-colour"]),
    ("json", ["--format", "json"]),
    ("jsonl", ["--format", "jsonl"]),
    ("check", ["--check"]),
    ("stable", ["--stable"]),
    ("stable-hidden", ["--stable", "--hide-addresses"]),
    ("flv", ["--extract-flv", "{dir}"]),
    ("jobs2-jsonl", ["--format", "jsonl", "--jobs", "2"]),
]


def captures(bench: bool) -> list[tuple[str, list[str]]]:
    """(capture path, extra options) for every sample; key logs where a sample has one."""
    found: list[tuple[str, list[str]]] = []
    patterns = ["samples/*.pcap", "samples/public/*.cap", "samples/public/*.pcap*", "samples/rerun/*.pcap",
                "samples/variants/*.pcap", "tests/data/fuzz_regressions/pipeline/*.pcap"]
    for pattern in patterns:
        for path in sorted(glob.glob(os.path.join(ROOT, pattern))):
            rel = os.path.relpath(path, ROOT)
            found.append((rel, []))
            keys = path[: -len(".pcap")] + ".keys"
            if path.endswith(".pcap") and os.path.exists(keys):
                found.append((rel, ["--tls-keylog", os.path.relpath(keys, ROOT)]))
    found.append(("samples/midsession.pcap", ["--decode-as", "1935"]))
    if bench:
        for path in sorted(glob.glob(os.path.join(ROOT, "benchmarks/out/*.pcap"))):
            if os.path.getsize(path) < 200 << 20:
                found.append((os.path.relpath(path, ROOT), []))
    return found


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def run_one(capture: str, extra: list[str], form: str, options: list[str]) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        args = [option.replace("{dir}", os.path.join(tmp, "flv")) for option in options]
        done = subprocess.run([sys.executable, "-m", "rtmp_inspect", capture, *extra, *args], cwd=ROOT,
                              capture_output=True, timeout=1800)
        stdout = done.stdout.replace(tmp.encode(), b"TMP")
        line = f"{capture} {' '.join(extra)} | {form}: out {digest(stdout)} err {digest(done.stderr)} " \
               f"exit {done.returncode}"
        if form == "flv":
            files = sorted(glob.glob(os.path.join(tmp, "flv", "*")))
            line += " files " + " ".join(
                f"{os.path.basename(f)}={digest(open(f, 'rb').read())}" for f in files)
        return line


def snapshot(bench: bool) -> list[str]:
    jobs = [(capture, extra, form, options) for capture, extra in captures(bench) for form, options in FORMS]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return list(pool.map(lambda job: run_one(*job), jobs))


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("save", "compare"):
        print(__doc__, file=sys.stderr)
        return 2
    verb, manifest = argv[0], argv[1]
    lines = snapshot("--bench" in argv)
    if verb == "save":
        with open(manifest, "w") as out:
            out.write("\n".join(lines) + "\n")
        print(f"{len(lines)} outputs saved to {manifest}")
        return 0
    with open(manifest) as saved_file:
        saved = saved_file.read().splitlines()
    differ = [(old, new) for old, new in zip(saved, lines) if old != new]
    if len(saved) != len(lines):
        print(f"{len(saved)} outputs saved, {len(lines)} now")
    for old, new in differ:
        print(f"- {old}\n+ {new}")
    print(f"{len(lines)} outputs, {len(differ)} differ")
    return 1 if differ or len(saved) != len(lines) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
