"""--jobs N: the same bytes as one process, for every format, on real and synthetic captures."""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import struct
from pathlib import Path

import pytest

from rtmp_inspect import cli, parallel

pytestmark = pytest.mark.slow  # forked --jobs workers: seconds per test

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


def _captures() -> list[tuple[Path, list[str]]]:
    found = []
    for path in sorted(SAMPLES.glob("*.pcap")) + sorted((SAMPLES / "public").glob("*.p*")) \
            + sorted((SAMPLES / "public").glob("*.cap")) + sorted((SAMPLES / "variants").glob("*.pcap")):
        keys = path.with_suffix(".keys")
        found.append((path, ["--tls-keylog", str(keys)] if keys.exists() else []))
    return found


def run(argv: list[str], tmp_path: Path, capsys) -> tuple[int, bytes, str]:
    out = tmp_path / "out"
    status = cli.main(argv + ["-o", str(out)])
    err = capsys.readouterr().err
    return status, out.read_bytes() if out.exists() else b"", err


def _make_inputs():
    spec = importlib.util.spec_from_file_location("make_inputs", ROOT / "benchmarks" / "make_inputs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> dict[str, Path]:
    """Many interleaved sessions (the benchmark generator, small): where a merge by time would go wrong."""
    make_inputs = _make_inputs()
    base = tmp_path_factory.mktemp("synthetic")
    sessions, media = base / "sessions.pcap", base / "media.pcap"
    make_inputs.make_sessions(str(sessions), count=120)
    make_inputs.make_media(str(media), 128, duration=1.5)
    return {"sessions": sessions, "media": media}


def test_every_sample_gives_the_same_bytes_with_two_and_three_jobs(tmp_path, capsys):
    captures = _captures()
    assert len(captures) >= 20
    for path, extra in captures:
        for fmt in ("text", "json", "jsonl"):
            argv = [str(path), "--format", fmt, "--no-colour"] + extra
            single = run(argv + ["--jobs", "1"], tmp_path, capsys)
            assert single[0] == 0 and single[1], (path, fmt)
            for jobs in ("2", "3"):
                assert run(argv + ["--jobs", jobs], tmp_path, capsys) == single, (path, fmt, jobs)


def test_many_interleaved_sessions_merge_in_decoding_order(synthetic, tmp_path, capsys):
    for name, path in synthetic.items():
        for fmt in ("json", "jsonl", "text"):
            argv = [str(path), "--format", fmt, "--no-colour"]
            single = run(argv + ["--jobs", "1"], tmp_path, capsys)
            assert run(argv + ["--jobs", "2"], tmp_path, capsys) == single, (name, fmt)
            assert run(argv + ["--jobs", "5"], tmp_path, capsys) == single, (name, fmt)
    # The lines really interleave flows, so the merge had work to do.
    lines = [json.loads(line) for line in run([str(synthetic["sessions"]), "--format", "jsonl", "--jobs", "2"],
                                              tmp_path, capsys)[1].splitlines()]
    flows = [line["flow"] for line in lines if line["kind"] == "message"]
    assert len(set(flows)) == 120
    assert sum(a != b for a, b in zip(flows, flows[1:])) > 1000


def test_stable_and_gzip_inputs(tmp_path, capsys):
    sample = SAMPLES / "publish_play.pcap"
    packed = tmp_path / "publish_play.pcap.gz"
    packed.write_bytes(gzip.compress(sample.read_bytes()))
    for argv in ([str(sample), "--stable"], [str(packed), "--format", "jsonl"]):
        single = run(argv + ["--jobs", "1"], tmp_path, capsys)
        assert single[0] == 0
        assert run(argv + ["--jobs", "2"], tmp_path, capsys) == single


def test_several_captures_in_one_run(tmp_path, capsys):
    argv = [str(SAMPLES / "publish_play.pcap"), str(SAMPLES / "play_missing.pcap"), "--format", "json"]
    single = run(argv + ["--jobs", "1"], tmp_path, capsys)
    document = json.loads(single[1])  # one document for both captures
    assert single[1].count(b'"tool":"rtmp-inspect"') == 1 and len(document["captures"]) == 2
    assert run(argv + ["--jobs", "2"], tmp_path, capsys) == single


def test_bad_input_is_reported_once(tmp_path, capsys):
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"this is not a capture at all" * 10)
    status, _, err = run([str(junk), "--format", "json", "--jobs", "2"], tmp_path, capsys)
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("rtmp-inspect: ") and "Traceback" not in err


def test_damaged_capture_warnings_once_and_same_output(tmp_path, capsys):
    data = (SAMPLES / "publish_play.pcap").read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[: len(data) * 2 // 3 + 5])  # ends inside a record
    single = run([str(cut), "--format", "jsonl", "--jobs", "1"], tmp_path, capsys)
    double = run([str(cut), "--format", "jsonl", "--jobs", "2"], tmp_path, capsys)
    assert double == single
    lines = single[2].splitlines()
    assert len([line for line in lines if "truncated" in line.lower()]) == 1
    assert all("truncated" in line.lower() or "checksum" in line for line in lines), lines


def test_no_rtmp_is_said_once(tmp_path, capsys):
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))  # a header, no packets
    for fmt in ("text", "json", "jsonl"):
        single = run([str(empty), "--format", fmt, "--jobs", "1"], tmp_path, capsys)
        assert run([str(empty), "--format", fmt, "--jobs", "2"], tmp_path, capsys) == single
        assert single[0] == 0 and single[2].count("no RTMP found") == 1


def test_a_failing_worker_is_an_internal_error_not_a_hang(tmp_path, capsys, monkeypatch):
    from rtmp_inspect.analysis import session as session_module

    original = session_module.FlowSession.feed

    def fail_in_worker_one(self, *args):
        if self.id % 2 == 1:
            raise ValueError("deliberate failure for the test")
        return original(self, *args)

    monkeypatch.setattr(session_module.FlowSession, "feed", fail_in_worker_one)
    status, _, err = run([str(SAMPLES / "publish_play.pcap"), "--format", "jsonl", "--jobs", "2"],
                         tmp_path, capsys)
    assert status == 2
    assert "internal error in a --jobs worker" in err and "deliberate failure for the test" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_worker_count():
    assert parallel.worker_count("-", 4) == 1
    assert parallel.worker_count(str(SAMPLES / "publish_play.pcap"), 3) == 3
    small = SAMPLES / "publish_play.pcap"
    assert os.path.getsize(small) < parallel.AUTO_MIN_BYTES
    assert parallel.worker_count(str(small), None) == 1
    assert parallel.worker_count("/nonexistent/capture.pcap", None) == 1


def test_jobs_zero_is_a_usage_error(capsys):
    assert cli.main([str(SAMPLES / "publish_play.pcap"), "--jobs", "0"]) == 2
    assert "--jobs 0" in capsys.readouterr().err


def test_several_captures_one_process_each_stop_at_the_first_bad_one(tmp_path, capsys):
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"not a capture" * 20)
    good = [str(SAMPLES / name) for name in ("publish_play.pcap", "play_missing.pcap", "connect_rejected.pcap")]
    for fmt in ("text", "json", "jsonl"):
        for argv in (good, good[:2] + [str(junk)] + good[2:], good + [str(tmp_path / "missing.pcap")]):
            argv = argv + ["--format", fmt, "--no-colour"]
            single = run(argv + ["--jobs", "1"], tmp_path, capsys)
            assert run(argv + ["--jobs", "2"], tmp_path, capsys) == single, (fmt, argv)
            assert run(argv + ["--jobs", "4"], tmp_path, capsys) == single, (fmt, argv)
            if argv[2] == str(junk):
                assert single[0] == 2 and single[1].count(b"publish") > 0 and "junk.pcap" in single[2]


def test_check_reports_the_same_with_jobs(tmp_path, capsys):
    captures = _captures()
    statuses = set()
    for path, extra in captures:
        argv = [str(path), "--check"] + extra
        single = run(argv + ["--jobs", "1"], tmp_path, capsys)
        statuses.add(single[0])
        assert run(argv + ["--jobs", "2"], tmp_path, capsys) == single, path
    assert statuses == {0, 1}  # both verdicts occur among the samples
    # several captures at once: one process each, the exit status from all of them
    everything = [str(path) for path, extra in captures if not extra]
    single = run(everything + ["--check", "--jobs", "1"], tmp_path, capsys)
    assert single[0] == 1
    assert run(everything + ["--check", "--jobs", "3"], tmp_path, capsys) == single
    clean = [str(SAMPLES / "publish_play.pcap"), str(SAMPLES / "ipv6.pcap")]
    assert run(clean + ["--check", "--jobs", "2"], tmp_path, capsys) == run(clean + ["--check", "--jobs", "1"],
                                                                              tmp_path, capsys)


def test_extract_flv_writes_the_same_files_with_jobs(tmp_path, capsys):
    paths = [str(path) for path, extra in _captures() if not extra]
    paths.append(paths[0])  # the same capture twice: names made unique across captures
    listings = {}
    for jobs in ("1", "2"):
        directory = tmp_path / f"flv{jobs}"
        status, listing, _ = run(paths + ["--extract-flv", str(directory), "--jobs", jobs], tmp_path, capsys)
        assert status == 0
        listed = listing.decode().replace(str(directory), "DIR").splitlines()
        files = {p.name: p.read_bytes() for p in directory.iterdir()}
        assert sorted(line.removeprefix("DIR/") for line in listed) == sorted(files)
        listings[jobs] = (listed, files)
    assert listings["1"] == listings["2"]
    assert len(listings["1"][0]) > 20 and any(name.endswith("-2.flv") for name in listings["1"][1])
