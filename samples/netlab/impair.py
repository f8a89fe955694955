#!/usr/bin/env python3
"""A lossy wire between two network namespaces, in user space (this kernel has no netem).

    python samples/netlab/impair.py NS_A NS_B [--corrupt P] [--loss P] [--duplicate P] [--reorder P]
                                    [--direction a2b|b2a|both] [--seed N] [--ready FILE]

Makes two TAP devices, `ritap-a` in namespace NS_A and `ritap-b` in NS_B (both namespaces must exist), and
copies every Ethernet frame from one to the other, impaired on the way with the given probabilities (0..1):

  --corrupt    one bit flipped anywhere in the frame (headers included, as a bad cable or radio would)
  --loss       the frame dropped
  --duplicate  the frame sent twice
  --reorder    the frame held back and sent after the next one

A TAP device without IFF_VNET_HDR offers the kernel neither checksum offload nor segmentation offload, so the
frames read here are wire-sized with their checksums computed: a receiver's stack sees exactly what the
impairment made of them. When --ready is given, the file is written once both devices are in place. Ends on
SIGTERM or SIGINT and prints what it did to stderr. Needs root.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import random
import select
import signal
import struct
import subprocess
import sys

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
MAX_FRAME = 65536
NAMES = ("ritap-a", "ritap-b")


def open_tap(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


class Wire:
    """One direction: frames in, impaired frames out."""

    def __init__(self, out_fd: int, args: argparse.Namespace, rng: random.Random, active: bool) -> None:
        self.out_fd = out_fd
        self.args = args
        self.rng = rng
        self.active = active
        self.held: bytes | None = None
        self.counts = {"frames": 0, "corrupted": 0, "lost": 0, "duplicated": 0, "reordered": 0}

    def _send(self, frame: bytes) -> None:
        try:
            os.write(self.out_fd, frame)
        except OSError:
            pass  # the device went down (the namespace is being deleted): nothing to deliver to

    def frame(self, frame: bytes) -> None:
        self.counts["frames"] += 1
        if not self.active:
            self._send(frame)
            return
        args, rng = self.args, self.rng
        if rng.random() < args.loss:
            self.counts["lost"] += 1
            return
        if rng.random() < args.corrupt and frame:
            flipped = bytearray(frame)
            bit = rng.randrange(len(flipped) * 8)
            flipped[bit // 8] ^= 1 << (bit % 8)
            frame = bytes(flipped)
            self.counts["corrupted"] += 1
        copies = 2 if rng.random() < args.duplicate else 1
        self.counts["duplicated"] += copies - 1
        if self.held is None and rng.random() < args.reorder:
            self.held = frame
            self.counts["reordered"] += 1
            return
        for _ in range(copies):
            self._send(frame)
        if self.held is not None:
            self._send(self.held)
            self.held = None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ns_a")
    parser.add_argument("ns_b")
    for name in ("corrupt", "loss", "duplicate", "reorder"):
        parser.add_argument(f"--{name}", type=float, default=0.0)
    parser.add_argument("--direction", choices=("a2b", "b2a", "both"), default="both")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ready")
    args = parser.parse_args()

    fds = [open_tap(name) for name in NAMES]
    for name, ns in zip(NAMES, (args.ns_a, args.ns_b)):
        subprocess.run(["ip", "link", "set", name, "netns", ns], check=True)
    rng = random.Random(args.seed)
    wires = {fds[0]: Wire(fds[1], args, rng, args.direction in ("a2b", "both")),
             fds[1]: Wire(fds[0], args, rng, args.direction in ("b2a", "both"))}
    if args.ready:
        with open(args.ready, "w") as ready:
            ready.write("ready\n")

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        try:
            readable, _, _ = select.select(fds, [], [], 0.5)
        except InterruptedError:
            continue
        for fd in readable:
            try:
                frame = os.read(fd, MAX_FRAME)
            except OSError:
                stopping = True
                break
            wires[fd].frame(frame)
    for fd, wire in wires.items():
        direction = "a2b" if fd == fds[0] else "b2a"
        print(f"impair {direction}: " + ", ".join(f"{k} {v}" for k, v in wire.counts.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
