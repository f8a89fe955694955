"""Where the test inputs are: the project's samples, inside the checkout (no machine paths)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
PUBLIC = SAMPLES / "public"  # public captures from elsewhere (see samples/public/README.md)
VARIANTS = SAMPLES / "variants"  # RTMPS, RTMPT, RTMFP
DATA = ROOT / "tests" / "data"


def public(name: str) -> Path:
    """A public capture by file name; it is committed, so a missing one is an error, not a skip."""
    path = PUBLIC / name
    if not path.is_file():
        raise FileNotFoundError(f"{path}: a public sample is missing from the checkout")
    return path


def public_captures() -> list[Path]:
    """Every public capture, by name."""
    return sorted(p for p in PUBLIC.iterdir() if p.suffix in (".pcap", ".pcapng", ".cap", ".gz"))
