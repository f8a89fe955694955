"""The catalogue of findings: every code the program can report, with its severity, meaning and layer.

A finding (`warnings` in a flow's JSON) is an error only when it broke the session, a warning when it put
the session at risk or breaks a rule, info when it is worth knowing. A few codes take another severity in
some cases (for example `command.unanswered` is an info for calls that rarely get answers); `severities`
lists every one a code may have, the first being the usual one.

`python -m rtmp_inspect.findings` prints the catalogue as the README's table.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"  # it broke the session
    WARNING = "warning"  # it put the session at risk, or breaks a rule
    INFO = "info"  # worth knowing

    @property
    def rank(self) -> int:
        """0 for errors, 1 for warnings, 2 for infos: the order reports list them in."""
        return _RANKS[self]


_RANKS = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO

# The layers that raise findings.
CAPTURE, TCP, CHUNKS, TLS, RTMPT, RTMFP, SESSION, COMMANDS, MEDIA, LIMITS, PROFILE = (
    "capture", "tcp", "chunk layer", "tls", "rtmpt", "rtmfp", "session", "commands", "media", "limits",
    "ingest profile")


@dataclass(frozen=True, slots=True)
class FindingKind:
    code: str
    severities: tuple[Severity, ...]  # the usual one first
    layer: str
    meaning: str

    @property
    def severity(self) -> Severity:
        return self.severities[0]


_KINDS = (
    # capture and TCP
    FindingKind("capture.damaged", (W,), CAPTURE,
                "the capture file is damaged or truncated; packets before the damage are decoded"),
    FindingKind("capture.checksum-offload", (I,), CAPTURE,
                "a host's checksums were wrong in every packet: computed after the capture point (checksum "
                "offload), so they are not checked"),
    FindingKind("capture.checksum-bad", (I,), CAPTURE,
                "packets with a wrong checksum matched no flow (a corrupted address or port) and were not used"),
    FindingKind("tcp.gap", (W,), TCP, "bytes of a direction are missing from the capture; decoding resumes after them"),
    FindingKind("tcp.retransmission-differs", (W,), TCP, "a retransmitted copy of bytes differs from the copy used"),
    FindingKind("tcp.checksum-bad", (I,), TCP,
                "segments whose TCP checksum was wrong were not used, as the receiver drops them (corrupted on the "
                "path; their bytes came again in retransmissions)"),
    FindingKind("tcp.sequence-implausible", (I,), TCP,
                "sequence or acknowledgement numbers far beyond anything the connection showed: corrupted "
                "numbers, not used and not taken as bytes missing from the capture"),
    FindingKind("tcp.reset-ignored", (I,), TCP,
                "an RST whose sequence number the receiver would not accept (RFC 5961) was not taken as the end"),
    FindingKind("tcp.zero-window", (W, I), TCP,
                "a receiver advertised a zero TCP window (info: once, before any data)"),
    # handshake
    FindingKind("handshake.missing", (I,), SESSION,
                "the handshake is not in the capture: decoded from the middle, state inferred"),
    FindingKind("handshake.version", (W,), CHUNKS, "the handshake version is not 3; decoded as plain RTMP"),
    FindingKind("handshake.version-mismatch", (W,), SESSION, "C0 and S0 carry different versions"),
    FindingKind("handshake.echo-mismatch", (W,), SESSION, "C2 or S2 does not echo the peer's C1/S1"),
    FindingKind("handshake.digest-invalid", (W,), SESSION,
                "the digest scheme is announced but a digest does not verify"),
    FindingKind("handshake.encrypted", (I,), SESSION, "RTMPE: the rest of this direction is encrypted and not decoded"),
    # chunk layer
    FindingKind("chunk.first-not-fmt0", (W,), CHUNKS,
                "the first chunk on a chunk stream is fmt 1: stream id and timestamp base unknown"),
    FindingKind("chunk.header-mid-message", (E,), CHUNKS,
                "a new message header while a message was incomplete; the partial message is dropped"),
    FindingKind("chunk.unknown-stream", (E,), CHUNKS,
                "a fmt 2/3 chunk on a chunk stream that never had a full header: sync lost"),
    FindingKind("chunk.unknown-length", (E,), CHUNKS, "a chunk whose message length is not known: sync lost"),
    FindingKind("chunk.skipped-unknown", (I,), CHUNKS,
                "a chunk of a message that began before the decodable bytes was skipped"),
    FindingKind("chunk.resynchronised", (I,), CHUNKS,
                "chunk boundaries found again after a gap or a start mid-session"),
    FindingKind("chunk.extended-timestamp-inconsistent", (W,), CHUNKS,
                "a peer both repeats and omits the extended timestamp on fmt 3 chunks"),
    FindingKind("stream.truncated", (I,), CHUNKS, "the capture ends inside a message"),
    # protocol control
    FindingKind("control.short", (E,), CHUNKS, "a Set Chunk Size shorter than 4 bytes"),
    FindingKind("control.chunk-size-zero", (E,), CHUNKS, "Set Chunk Size 0: invalid, the chunk size is unchanged"),
    FindingKind("control.chunk-size-top-bit", (E,), CHUNKS, "Set Chunk Size with the top bit set"),
    FindingKind("control.chunk-size-unusual", (W, I), CHUNKS,
                "Set Chunk Size below 128 (warning: SRS and others refuse it) or above 65536 (info: some "
                "servers and players cap the chunk size there)"),
    FindingKind("control.abort", (I,), CHUNKS, "an Abort dropped a message in progress"),
    FindingKind("control.abort-idle", (W,), CHUNKS, "an Abort for a chunk stream with no message in progress"),
    FindingKind("flow.ack-window-exceeded", (W,), SESSION,
                "more than the announced acknowledgement window was sent without an Acknowledgement"),
    FindingKind("flow.ack-wrapped", (I,), SESSION, "an Acknowledgement sequence number wrapped at 2^32"),
    FindingKind("flow.ack-backwards", (W,), SESSION, "an Acknowledgement sequence number went backwards"),
    FindingKind("flow.window-zero", (W,), SESSION, "a Window Acknowledgement Size or Set Peer Bandwidth of 0"),
    FindingKind("flow.peer-bandwidth-limit-type", (W,), SESSION, "a Set Peer Bandwidth with an undefined limit type"),
    FindingKind("ping.unanswered", (W,), SESSION, "a PingRequest never got its PingResponse"),
    # commands
    FindingKind("command.unanswered", (W, I), COMMANDS,
                "a request never got _result or _error (info for calls often left unanswered)"),
    FindingKind("command.transaction-reused", (W,), COMMANDS,
                "a transaction id reused while its request was still open"),
    FindingKind("command.error", (E,), COMMANDS, "a request answered with _error"),
    FindingKind("command.optional-error", (I, W), COMMANDS,
                "an FMLE call (releaseStream, FCPublish, FCSubscribe, _checkbw) answered with _error: many servers "
                "do not implement them; info when the publish or play that follows starts, else warning"),
    FindingKind("command.auth-required", (W,), COMMANDS, "the server asks for authentication"),
    FindingKind("command.auth-failed", (E,), COMMANDS, "authentication failed"),
    FindingKind("status.error", (E,), COMMANDS, "an onStatus with level error, its code explained"),
    FindingKind("connect.reconnect-requested", (I,), COMMANDS,
                "the server asked the client to reconnect (E-RTMP v2 NetConnection.Connect.ReconnectRequest): the "
                "end of the connection that follows is planned, not a failure"),
    FindingKind("status.warning", (W,), COMMANDS, "an onStatus with level warning"),
    FindingKind("stream.not-created", (W,), COMMANDS,
                "publish or play on stream 0 or on a stream createStream did not make"),
    FindingKind("stream.closed-abruptly", (W,), COMMANDS, "a started stream ended with the connection, without a stop"),
    FindingKind("stream.media-elsewhere", (W,), COMMANDS,
                "the media of a publish or play came on another message stream than the one it was started on "
                "(node-media-server sends a player's media on stream 0)"),
    FindingKind("connect.closed-unanswered", (E,), COMMANDS, "the connection closed after connect without an answer"),
    FindingKind("capability.not-advertised", (W,), COMMANDS,
                "an E-RTMP codec or multitrack sent although connect's fourCcList / FourCcInfoMap / capsEx did not "
                "advertise it (servers that negotiate, e.g. YouTube ingest, may refuse or drop it)"),
    FindingKind("capability.not-accepted", (W,), COMMANDS,
                "an E-RTMP codec or multitrack published although the server's connect _result did not list it"),
    # media
    FindingKind("media.sample-rate-header", (I,), MEDIA,
                "the legacy AAC audio header's rate differs from the AudioSpecificConfig's (which decoders use)"),
    FindingKind("media.timestamp-backwards", (W,), MEDIA, "timestamps of a stream went backwards"),
    FindingKind("media.timestamp-jump", (W, I), MEDIA,
                "a timestamp jumped forward (info: the count of those not listed)"),
    FindingKind("media.stall", (W, I), MEDIA,
                "no media for a long stretch of capture time (info: the count of those not listed)"),
    FindingKind("media.clock-rate", (W,), MEDIA, "RTMP timestamps advance faster or slower than capture time"),
    FindingKind("media.metadata-mismatch", (W,), MEDIA, "onMetaData declares other settings than the stream carries"),
    FindingKind("media.no-sequence-header", (W,), MEDIA, "the first coded frame came before its sequence header"),
    FindingKind("media.keyframe-interval", (W,), MEDIA, "no keyframe for longer than the limit"),
    FindingKind("media.no-keyframe", (W,), MEDIA, "video frames but not one keyframe"),
    FindingKind("media.codec-change", (W,), MEDIA, "the codec of a stream changed mid-stream"),
    # carriers
    FindingKind("tls.no-keys", (I, W), TLS, "RTMPS without keys for it (warning: a key log was given but lacks them)"),
    FindingKind("tls.unsupported-suite", (W,), TLS, "RTMPS with a cipher suite or version that is not decrypted"),
    FindingKind("tls.midstream", (I,), TLS, "the capture starts inside a TLS connection: it cannot be decrypted"),
    FindingKind("tls.gap", (W,), TLS, "TLS records are missing from the capture"),
    FindingKind("tls.bad-record", (W,), TLS, "the TLS record stream is lost"),
    FindingKind("tls.bad-hello", (W,), TLS, "a malformed ClientHello or ServerHello"),
    FindingKind("tls.decrypt-failed", (W,), TLS,
                "a TLS record could not be decrypted: the direction is not decoded further"),
    FindingKind("tls.alert", (W,), TLS, "a TLS alert other than close_notify"),
    FindingKind("rtmpt.gap", (W,), RTMPT, "bytes of an RTMPT connection are missing from the capture"),
    FindingKind("rtmpt.http-error", (W,), RTMPT, "an RTMPT request answered with an HTTP error"),
    FindingKind("rtmfp.not-decoded", (I,), RTMFP, "RTMFP is recognised and listed, not decoded"),
    # limits
    FindingKind("network.too-slow", (W,), TCP,
                "a stream fell behind real time because the path carried less than its bitrate (both measured)"),
    # ingest profiles (--profile): a platform's published rules against what the client sent
    FindingKind("profile.keyframe-interval", (W, I), PROFILE,
                "keyframes further apart than the platform allows (warning) or recommends (info)"),
    FindingKind("profile.video-codec", (W,), PROFILE, "a video codec the platform does not ingest"),
    FindingKind("profile.enhanced-rtmp", (W,), PROFILE,
                "a codec the platform takes only over Enhanced RTMP, sent with a legacy codec id"),
    FindingKind("profile.frame-rate", (W,), PROFILE, "a frame rate the platform does not take"),
    FindingKind("profile.video-bitrate", (W, I), PROFILE,
                "video bitrate above the platform's limit for the resolution (warning) or below its range (info)"),
    FindingKind("profile.bitrate-variation", (I,), PROFILE, "the platform asks for constant bitrate; it varied"),
    FindingKind("profile.audio-codec", (W,), PROFILE, "an audio codec the platform does not ingest"),
    FindingKind("profile.audio-sample-rate", (W,), PROFILE, "an audio sample rate the platform does not take"),
    FindingKind("profile.audio-channels", (W,), PROFILE, "an audio channel count the platform does not take"),
    FindingKind("profile.audio-bitrate", (W,), PROFILE, "audio bitrate above the platform's limit"),
    FindingKind("limit.pending-bytes", (E,), LIMITS,
                "more bytes in incomplete messages than the decoder holds; they were dropped"),
    FindingKind("limit.chunk-streams", (E,), LIMITS, "more chunk streams in use than the decoder tracks"),
    FindingKind("limit.open-flows", (W,), LIMITS,
                "more TCP connections open at once than tracked: the least active was let go"),
)

CATALOGUE: dict[str, FindingKind] = {kind.code: kind for kind in _KINDS}
assert len(CATALOGUE) == len(_KINDS), "a code is listed twice"


class UnknownFinding(ValueError):
    """A finding the catalogue does not list (a bug: every code must be catalogued)."""


# The capture's notes (its `warnings` strings) that are not damage: what they start with.
OFFLOAD_NOTES = ("TCP checksums from ", "IPv4 header checksums were wrong")
UNMATCHED_CHECKSUM_NOTE = " with a wrong checksum matched no flow"


def capture_note_kind(text: str) -> tuple[str, Severity]:
    """(code, severity) of one of the capture's notes: the checksum notes are infos, anything else is damage."""
    if text.startswith(OFFLOAD_NOTES):
        return "capture.checksum-offload", Severity.INFO
    if UNMATCHED_CHECKSUM_NOTE in text:
        return "capture.checksum-bad", Severity.INFO
    return "capture.damaged", Severity.WARNING


def check_finding(code: str, severity: str) -> None:
    """Raise UnknownFinding unless `code` is catalogued with `severity` among its severities."""
    kind = CATALOGUE.get(code)
    if kind is None:
        raise UnknownFinding(f"finding code {code!r} is not in the catalogue (rtmp_inspect/findings.py)")
    if severity not in kind.severities:
        raise UnknownFinding(f"finding {code!r} with severity {severity!r}; the catalogue allows "
                             f"{', '.join(kind.severities)}")


def markdown_table() -> str:
    """The catalogue as the README's table."""
    lines = ["| code | severity | layer | meaning |", "|---|---|---|---|"]
    for kind in _KINDS:
        lines.append(f"| `{kind.code}` | {' / '.join(kind.severities)} | {kind.layer} | {kind.meaning} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown_table())
