"""RTMPS made for real (samples/variants/make_rtmps.sh): ffmpeg (GnuTLS, SSLKEYLOGFILE) -> nginx stream TLS
-> nginx-rtmp. The capture holds the TLS leg and its plain-RTMP twin; decrypted, the two decode the same."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rtmp_inspect.cli import main

VARIANTS = os.path.join(os.path.dirname(__file__), os.pardir, "samples", "variants")


def run_json(tmp_path, *args):
    out = tmp_path / "out.json"
    assert main([*args, "--format", "json", "-o", str(out)]) == 0
    return json.loads(out.read_text())


def messages(flow, dir):
    return [(m["type"], m["length"], m["timestamp"], m["stream_id"], m.get("command"), json.dumps(m.get("args")))
            for m in flow["messages"] if m["dir"] == dir]


@pytest.mark.parametrize("name,version,suite", [
    ("rtmps_tls13", "TLS 1.3", "TLS_AES_256_GCM_SHA384"),
    ("rtmps_tls12", "TLS 1.2", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
])
def test_decrypted_rtmps_decodes_like_its_plain_twin(tmp_path, name, version, suite):
    pcap, keys = os.path.join(VARIANTS, name + ".pcap"), os.path.join(VARIANTS, name + ".keys")
    doc = run_json(tmp_path, pcap, "--tls-keylog", keys)
    [plain] = [f for f in doc["flows"] if f["server"].endswith(":19350")]
    [tls] = [f for f in doc["flows"] if f.get("protocol") == "rtmps"]
    assert tls["tls"]["version"] == version and tls["tls"]["cipher_suite"] == suite and tls["tls"]["decrypted"]
    assert tls["tls"]["sni"] == "localhost" and tls["tls"]["keys"] == "found"
    assert tls["handshake"]["complete"] and tls["handshake"]["version"] == 3
    assert not [w for w in tls["warnings"] if w["code"].startswith("tls.")]
    c2s = messages(tls, "c2s")
    assert len(c2s) > 150 and c2s == messages(plain, "c2s")
    # nginx's TLS proxy stops forwarding when ffmpeg leaves; nginx-rtmp may still answer the last
    # deleteStream on the plain leg: the server's messages over TLS are the plain leg's, or a prefix of them
    s2c_tls, s2c_plain = messages(tls, "s2c"), messages(plain, "s2c")
    assert s2c_tls == s2c_plain[:len(s2c_tls)] and len(s2c_plain) - len(s2c_tls) <= 1
    commands = [m["command"] for m in tls["messages"] if m.get("command")]
    assert commands[:4] == ["connect", "_result", "releaseStream", "FCPublish"] and "publish" in commands
    # frames are those of capture packets on the TLS connection, in order per direction
    frames = [m["frame"] for m in tls["messages"] if m["dir"] == "c2s"]
    assert frames == sorted(frames) and frames[0] > 0


def test_rtmps_without_keys_is_listed_with_tls_details(tmp_path):
    doc = run_json(tmp_path, os.path.join(VARIANTS, "rtmps_tls12.pcap"))
    [tls] = [f for f in doc["flows"] if f.get("protocol") == "rtmps"]
    assert tls["messages"] == [] and tls["tls"]["keys"] == "missing"
    assert tls["tls"]["version"] == "TLS 1.2" and tls["tls"]["sni"] == "localhost"
    assert tls["tls"]["cipher_suite"] == "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
    assert [w["code"] for w in tls["warnings"]] == ["tls.no-keys"]


def test_flv_from_rtmps_is_byte_identical_to_the_plain_twin(tmp_path):
    name = "rtmps_tls13"
    subprocess.run([sys.executable, "-m", "rtmp_inspect", os.path.join(VARIANTS, name + ".pcap"), "--tls-keylog",
                    os.path.join(VARIANTS, name + ".keys"), "--extract-flv", str(tmp_path)],
                   check=True, capture_output=True, timeout=300)
    files = sorted(tmp_path.glob("*.flv"))
    assert len(files) == 2 and files[0].read_bytes() == files[1].read_bytes()


def test_bad_key_log_is_a_usage_error(tmp_path, capsys):
    bad = tmp_path / "bad.keys"
    bad.write_text("nothing here\n")
    assert main([os.path.join(VARIANTS, "rtmps_tls13.pcap"), "--tls-keylog", str(bad)]) == 2
    assert "--tls-keylog" in capsys.readouterr().err
