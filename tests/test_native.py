"""The native core against the pure-Python reference: the same output, byte for byte.

Every sample through every output form with both cores; the same on captures mutated at random (bit flips,
cuts, bytes inserted or deleted), on random RTMP chunk streams fed to both connection decoders whole and in
random pieces, and with the engine fed the capture one byte at a time. Without the extension these tests
skip, unless RTMP_INSPECT_REQUIRE_NATIVE=1 (as in .ci/run), where a missing native core is a failure.
"""

from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtmp_inspect import cli, core
from rtmp_inspect.capture.reader import CaptureError
from rtmp_inspect.rtmp.connection import ConnectionDecoder as PureConnectionDecoder
from rtmp_inspect.rtmp.vocabulary import Direction, MessageType
from tests.support import rtmp_builder as rb
from tests.support.paths import ROOT, SAMPLES

REQUIRED = os.environ.get("RTMP_INSPECT_REQUIRE_NATIVE", "") not in ("", "0")


def test_native_core_is_built() -> None:
    """Where the native core is required (CI), it must have been built and be the default."""
    if core.native is None:
        if REQUIRED:
            pytest.fail("RTMP_INSPECT_REQUIRE_NATIVE=1 but rtmp_inspect._native is not built "
                        "(pip install -e . needs cargo; see README)")
        pytest.skip("rtmp_inspect._native is not built (no Rust toolchain at install): the pure core only")
    assert core.native.CORE == "native core"


needs_native = pytest.mark.skipif(core.native is None and not REQUIRED,
                                  reason="rtmp_inspect._native is not built (no Rust toolchain at install)")
pytestmark = needs_native


def _captures() -> list[tuple[Path, list[str]]]:
    """Every capture of the project with the options it needs (key logs for RTMPS)."""
    found: list[tuple[Path, list[str]]] = []
    patterns = ["*.pcap", "public/*.cap", "public/*.pcap*", "rerun/*.pcap", "variants/*.pcap"]
    for pattern in patterns:
        for path in sorted(SAMPLES.glob(pattern)):
            keys = path.with_suffix(".keys")
            found.append((path, ["--tls-keylog", str(keys)] if keys.exists() else []))
    found += [(p, []) for p in sorted((ROOT / "tests/data/fuzz_regressions/pipeline").glob("*.pcap"))]
    found.append((SAMPLES / "midsession.pcap", ["--decode-as", "1935"]))
    return found


CAPTURES = _captures()
FORMS = {
    "text": ["--format", "text", "--no-colour"],
    "json": ["--format", "json"],
    "jsonl": ["--format", "jsonl"],
    "check": ["--check"],
    "stable-hidden": ["--stable", "--hide-addresses"],
}


def _run(argv: list[str], tmp: Path, pure: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[int, bytes]:
    """The command line in this process with one core: (exit status, what it wrote to -o)."""
    monkeypatch.setenv("RTMP_INSPECT_PURE", "1" if pure else "0")
    out = tmp / ("pure.out" if pure else "native.out")
    status = cli.main([*argv, "-o", str(out)])
    return status, out.read_bytes() if out.exists() else b""


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("capture,extra", CAPTURES, ids=[f"{p.parent.name}/{p.name}{'+' if e else ''}"
                                                           for p, e in CAPTURES])
def test_every_sample_every_form_same(capture: Path, extra: list[str], form: str, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    argv = [str(capture), *extra, *FORMS[form]]
    pure = _run(argv, tmp_path, True, monkeypatch)
    native = _run(argv, tmp_path, False, monkeypatch)
    assert native == pure
    assert pure[1], "the run wrote nothing: nothing was compared"


@pytest.mark.parametrize("capture", [SAMPLES / "publish_play.pcap", SAMPLES / "chunk128.pcap",
                                     SAMPLES / "ext_timestamp.pcap"], ids=lambda p: p.name)
def test_flv_extraction_same(capture: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trees = {}
    for pure in (True, False):
        monkeypatch.setenv("RTMP_INSPECT_PURE", "1" if pure else "0")
        target = tmp_path / ("pure" if pure else "native")
        assert cli.main([str(capture), "--extract-flv", str(target), "-o", str(tmp_path / "paths.txt")]) == 0
        trees[pure] = {p.name: p.read_bytes() for p in sorted(target.iterdir())}
    assert trees[True] == trees[False]
    assert trees[True], "no FLV written: nothing was compared"


def test_jobs_workers_use_the_native_core_alike(tmp_path: Path) -> None:
    """--jobs 2 (forked workers, outputs merged by step) gives the pure core's single-process output."""
    capture = str(SAMPLES / "publish_play.pcap")
    outputs = []
    for pure, jobs in (("1", "1"), ("0", "2")):
        env = {**os.environ, "RTMP_INSPECT_PURE": pure}
        done = subprocess.run([sys.executable, "-m", "rtmp_inspect", capture, "--format", "jsonl", "--jobs", jobs],
                              capture_output=True, env=env, cwd=ROOT, check=True)
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] and outputs[0]


def test_version_names_the_core(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for pure, name in (("1", "pure Python"), ("0", "native core")):
        monkeypatch.setenv("RTMP_INSPECT_PURE", pure)
        with pytest.raises(SystemExit):
            cli.main(["--version"])
        assert f"({name})" in capsys.readouterr().out


# -- mutated captures --------------------------------------------------------------------------------------


def _mutate(data: bytes, rng: random.Random) -> bytes:
    """A damaged copy of a capture: bit flips, a cut, bytes inserted or removed (past the file header)."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        what = rng.random()
        at = rng.randrange(24, len(buf)) if len(buf) > 24 else 0
        if what < 0.5:
            buf[at] ^= 1 << rng.randrange(8)
        elif what < 0.65:
            del buf[at:]
        elif what < 0.8:
            buf[at:at] = rng.randbytes(rng.randint(1, 64))
        elif what < 0.9:
            del buf[at:at + rng.randint(1, 64)]
        else:  # a record length or TCP field made large
            buf[at:at + 4] = struct.pack("<I", rng.choice([0, 0xFFFF, 0x10000, 0x7FFFFFFF, 0xFFFFFFFF]))
    return bytes(buf)


MUTATION_SOURCES = [SAMPLES / "publish_play.pcap", SAMPLES / "chunk128.pcap", SAMPLES / "midsession.pcap",
                    SAMPLES / "variants/rtmpt.pcap", ROOT / "samples/public/ndpi_rtmp_gtp_vlan.pcapng"]


@pytest.mark.parametrize("source", MUTATION_SOURCES, ids=lambda p: p.name)
def test_mutated_captures_same(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(f"native-{source.name}")
    original = source.read_bytes()
    compared = 0
    for round_ in range(24):
        mutated = tmp_path / f"m{round_}{source.suffix}"
        mutated.write_bytes(_mutate(original, rng))
        for form in ("json", "check"):
            argv = [str(mutated), *FORMS[form]]
            pure = _run(argv, tmp_path, True, monkeypatch)
            native = _run(argv, tmp_path, False, monkeypatch)
            assert native == pure, f"round {round_} ({form}) differs; the input is {mutated}"
            compared += bool(pure[1])
    assert compared > 0


# -- the connection decoders ---------------------------------------------------------------------------------


def _as_tuple(event: Any) -> tuple[Any, ...]:
    """An event of either core as (kind, its fields by name)."""
    names = [n for n in dir(event) if not n.startswith("_") and n not in ("KIND", "length")]
    return (event.KIND, *((n, getattr(event, n)) for n in sorted(names)))


def _session_bytes(rng: random.Random) -> tuple[bytes, bytes]:
    """Both directions of a random RTMP session: a handshake, then messages over a few chunk streams with
    chunk size changes, extended timestamps, aborts and stray bytes."""
    c0c1, s0s1 = rb.handshake_part(3, 0), rb.handshake_part(3, 1, fill=0x33)
    client = [c0c1[0] + c0c1[1], rb.echo(s0s1[1])]
    server = [s0s1[0] + s0s1[1], rb.echo(c0c1[1])]
    for out in (client, server):
        chunk_size = 128
        for _ in range(rng.randint(1, 25)):
            pick = rng.random()
            if pick < 0.15:
                chunk_size = rng.choice([1, 64, 4096, 60000, 0x7FFFFFFF])
                out.append(rb.message_chunks(2, 1, struct.pack(">I", chunk_size)))
                chunk_size = min(chunk_size, 1 << 16)
            elif pick < 0.2:
                out.append(rng.randbytes(rng.randint(1, 40)))  # garbage: violations, resynchronisation
            else:
                body = rng.randbytes(rng.randint(0, 3000))
                timestamp = rng.choice([0, 40, 0xFFFFFF, 0x1000000, 0xFFFFFFFF])
                out.append(rb.message_chunks(rng.choice([3, 4, 6, 64, 320]), rng.choice([8, 9, 18, 20]),
                                             body, timestamp, stream_id=1, chunk_size=chunk_size))
    return b"".join(client), b"".join(server)


def _decode(decoder: Any, pieces: list[tuple[int, bytes]]) -> list[Any]:
    out: list[Any] = []
    for frame, (direction, data) in enumerate(pieces):
        if data:
            events, late = decoder.feed(direction, frame, frame / 10, data)
            out += [_as_tuple(e) for e in events]
            out.append(late)
        else:
            out += [_as_tuple(e) for e in decoder.gap(direction, frame, frame / 10, 700)]
    for direction in (0, 1):
        out += [_as_tuple(e) for e in decoder.finish(direction)]
    out.append((decoder.bytes[0], decoder.bytes[1], decoder.first_frame, decoder.last_frame,
                decoder.chunk_size(0), decoder.chunk_size(1), decoder.received_offset(0)))
    return out


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32), st.booleans(), st.booleans())
def test_connection_decoders_agree(seed: int, handshake: bool, gaps: bool) -> None:
    rng = random.Random(seed)
    client, server = _session_bytes(rng)
    if not handshake:
        client, server = client[3073:], server[3073:]
    pieces: list[tuple[int, bytes]] = []
    positions = [0, 0]
    streams = (client, server)
    while positions[0] < len(client) or positions[1] < len(server):
        direction = rng.randrange(2)
        if positions[direction] >= len(streams[direction]):
            direction = 1 - direction
        size = rng.choice([1, 2, 7, 100, 1448, 65536])
        start = positions[direction]
        pieces.append((direction, streams[direction][start:start + size]))
        positions[direction] += size
        if gaps and rng.random() < 0.03:
            pieces.append((direction, b""))
    native = _decode(core.native.ConnectionDecoder(handshake), pieces)  # type: ignore[union-attr]
    pure = _decode(PureConnectionDecoder(handshake), pieces)
    assert native == pure


# -- the engine ----------------------------------------------------------------------------------------------


def _engine_events(data: bytes, piece: int) -> list[Any]:
    """Every engine event for `data` fed `piece` bytes at a time, as plain values (flows never attached)."""
    engine = core.native.Engine("capture")  # type: ignore[union-attr]
    out: list[Any] = []
    pos = 0
    opened = False
    while not opened:
        chunk = data[pos:pos + piece]
        pos += len(chunk)
        opened = engine.open(chunk, pos >= len(data))
    while pos < len(data):
        out += engine.feed(data[pos:pos + piece])
        pos += piece
    out += engine.finish()
    return [engine.format, engine.packets, engine.start, engine.warnings, out]


@pytest.mark.parametrize("capture", [SAMPLES / "publish_play.pcap", SAMPLES / "variants/rtmps_tls12.pcap",
                                     ROOT / "samples/public/ndpi_rtmp_gtp_vlan.pcapng"], ids=lambda p: p.name)
def test_engine_fed_whole_and_one_byte_at_a_time(capture: Path) -> None:
    data = capture.read_bytes()
    whole = _engine_events(data, len(data))
    assert whole[-1], "no events"
    assert _engine_events(data, 1) == whole
    assert _engine_events(data, 1000) == whole


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=3000))
def test_engine_on_hostile_bytes(noise: bytes) -> None:
    """Random bytes after a valid pcap header (Ethernet): events or a CaptureError, never a crash."""
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for data in (noise, header + noise):
        try:
            _engine_events(data, 512)
        except core.native.CaptureError:  # type: ignore[union-attr]
            pass


def test_reader_errors_are_capture_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unusable input gets the same one-line error from both cores."""
    flv = tmp_path / "x.flv"
    flv.write_bytes((SAMPLES / "publish_play.ffmpeg.flv").read_bytes()[:4096])
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    cut = tmp_path / "cut.pcap"
    cut.write_bytes((SAMPLES / "publish_play.pcap").read_bytes()[:10])
    for path in (flv, empty, cut):
        messages = []
        for use_native in (False, True):
            from rtmp_inspect.runner import RunOptions, open_reader

            with pytest.raises(CaptureError) as raised:
                open_reader(str(path), RunOptions(native=use_native)).close()
            messages.append(str(raised.value))
        assert messages[0] == messages[1]


# -- the JSON writer -----------------------------------------------------------------------------------------

_PYTHON_ENCODE = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text()
    | st.sampled_from([Direction.C2S, MessageType.VIDEO, 2**63, -2**63 - 1, 1e16, 1e-5, -0.0, "\x7f\ud7ff\U0001f600"]),
    lambda children: st.lists(children, max_size=4) | st.tuples(children, children)
    | st.dictionaries(st.text() | st.sampled_from([Direction.S2C]), children, max_size=4),
    max_leaves=30)


@settings(max_examples=3000, deadline=None)
@given(_json_values)
def test_json_writer_writes_what_python_writes(value: Any) -> None:
    """_native.dumps gives json's text, or None where Python must decide (then Python's own encoder runs)."""
    text = core.native.dumps(value)  # type: ignore[union-attr]
    try:
        expected = _PYTHON_ENCODE(value)
    except ValueError:  # a float that is not finite
        assert text is None
        return
    if text is None:  # only for what Python must decide: here, a string with a lone surrogate
        assert _has_surrogate(value)
    else:
        assert text == expected


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, (list, tuple)):
        return any(_has_surrogate(v) for v in value)
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    return False


def test_json_writer_leaves_the_odd_cases_to_python() -> None:
    dumps = core.native.dumps  # type: ignore[union-attr]
    assert dumps({1: "int key"}) is None and dumps(float("nan")) is None and dumps("\udc80") is None
    assert dumps(object()) is None and dumps({"a": [1, 2.5, None, True, "é"]}) == '{"a":[1,2.5,null,true,"\\u00e9"]}'
