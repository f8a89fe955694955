"""Fixtures every test module may use. Paths come from tests/support/paths.py: the samples inside the
checkout, never a path of one machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.paths import PUBLIC, SAMPLES


@pytest.fixture(scope="session")
def public_samples() -> Path:
    """samples/public: the public captures from elsewhere (Wireshark's sample, nDPI's, Twinx's)."""
    return PUBLIC


@pytest.fixture(scope="session")
def samples() -> Path:
    """samples/: the captures this project made with real peers, and the FLV files they wrote."""
    return SAMPLES
