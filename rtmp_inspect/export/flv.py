"""`--extract-flv DIR`: one FLV file per (flow, direction, message stream) that carries audio or video.

Written while decoding: each audio, video or script-data message becomes an FLV tag straight away, and
nothing keeps message bodies. A file is opened at the first such message of its (flow, direction, message
stream); by then the publish/play command has named the stream, so the file name says what it is:
`flow0-c2s-stream1-publish-cam1.flv`. A file that ends up with no audio or video (script data only) is
removed when it is closed, so only media streams leave files behind.

What goes in a file:
- audio (8) and video (9) message bodies as they are, with the RTMP timestamp (32 bits: 24 + extended 8);
- script data: data messages (18, and 15 without its leading AMF0 format byte). `@setDataFrame` has that
  first string removed, so the tag starts with "onMetaData" as in a recorded file (ffmpeg, nginx-rtmp do
  the same); `@clearDataFrame` and `|RtmpSampleAccess` are instructions to the peer, not content, and are left out;
- aggregates (22) split into their tags, with the timestamps rebased on the aggregate's.

After a gap in the capture the decoder resynchronises without knowing the message stream id (it reports 0,
marked inferred): see `FlvExtractSink._key` for how such media stays with its stream.

The header's flags (audio 0x04, video 0x01) are patched on close to say what the file really holds.
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from typing import IO

from ..analysis.records import MessageRecord, WarningRecord
from ..analysis.session import FlowSession
from ..rtmp.messages import Aggregate
from ..rtmp.vocabulary import MessageType

FLV_HEADER_SIZE = 9
TAG_AUDIO, TAG_VIDEO, TAG_SCRIPT = 8, 9, 18
FLAG_AUDIO, FLAG_VIDEO = 0x04, 0x01
MAX_NAME = 64  # characters kept from a stream name
MAX_OPEN = 64  # file handles kept open at once; the others are reopened when they get a tag
_SKIPPED_DATA = {"@clearDataFrame", "|RtmpSampleAccess"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_name_part(text: str | None, limit: int = MAX_NAME) -> str:
    """A piece of a file name from capture text: only [A-Za-z0-9._-] (others become '_', runs of them one '_'),
    no '..', not starting or ending with '.', '_' or '-', at most `limit` characters. Empty when nothing is left."""
    if not text:
        return ""
    cleaned = _UNSAFE.sub("_", text)
    cleaned = re.sub(r"\.{2,}", "_", cleaned)
    cleaned = re.sub(r"_{2,}", "_", cleaned).strip("._-")
    return cleaned[:limit].rstrip("._-")


def flv_file_name(flow: int, dir: str, stream_id: int, role: str | None, name: str | None) -> str:
    """The base name (without .flv) for one media stream, e.g. flow0-c2s-stream1-publish-cam1."""
    parts = [f"flow{flow}", dir if dir in ("c2s", "s2c") else "dir", f"stream{stream_id}"]
    role_part = safe_name_part(role, 16)
    if role_part:
        parts.append(role_part)
    name_part = safe_name_part(name)
    if name_part:
        parts.append(name_part)
    return "-".join(parts)


def flv_header(flags: int = FLAG_AUDIO | FLAG_VIDEO) -> bytes:
    return b"FLV\x01" + bytes([flags]) + FLV_HEADER_SIZE.to_bytes(4, "big") + b"\x00\x00\x00\x00"


def tag_header(tag_type: int, size: int, timestamp: int) -> bytes:
    timestamp &= 0xFFFFFFFF
    return (bytes([tag_type]) + size.to_bytes(3, "big") + (timestamp & 0xFFFFFF).to_bytes(3, "big")
            + bytes([timestamp >> 24]) + b"\x00\x00\x00")


def script_body(body: bytes | memoryview, amf3: bool) -> bytes | memoryview | None:
    """The FLV script tag body for a data message body, or None when it is not content."""
    if amf3:
        if not body or body[0] != 0:
            return None  # pure AMF3 values: FLV script data is AMF0, there is nothing faithful to write
        body = body[1:]
    name = _leading_amf0_string(body)
    if name is None:
        return body
    text, end = name
    if text in _SKIPPED_DATA:
        return None
    if text == "@setDataFrame":
        rest = body[end:]
        return rest if rest else None
    return body


def _leading_amf0_string(body: bytes | memoryview) -> tuple[str, int] | None:
    if len(body) < 3 or body[0] != 0x02:
        return None
    end = 3 + int.from_bytes(body[1:3], "big")
    if end > len(body):
        return None
    return bytes(body[3:end]).decode("utf-8", "replace"), end


class _FlvFile:
    __slots__ = ("path", "name", "handle", "flags", "tags", "media_tags", "size", "stream_unknown")

    def __init__(self, path: str, name: str, stream_unknown: bool) -> None:
        self.path = path
        self.name = name
        self.stream_unknown = stream_unknown  # made from messages whose stream id the decoder could not know
        self.handle: IO[bytes] | None = None
        self.flags = 0
        self.tags = 0
        self.media_tags = 0
        self.size = 0


class FlvExtractSink:
    """A pipeline sink (see analysis.pipeline.Sink) that writes FLV files into `directory`.

    `used_names` may be shared between sinks (one per capture) so file names stay unique across captures.
    After `close()`, `written()` lists the paths of the files kept, by flow, message stream and direction.
    """

    def __init__(self, directory: str, used_names: set[str] | None = None) -> None:
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self.used_names: set[str] = used_names if used_names is not None else set()
        self._files: dict[tuple[int, int, str], _FlvFile] = {}  # (flow, stream id, dir) -> file
        self._open: OrderedDict[tuple[int, int, str], None] = OrderedDict()  # LRU of open handles
        self._kept: list[tuple[tuple[int, int, str], str]] = []
        self._current: dict[tuple[int, str], int] = {}  # (flow, dir) -> the message stream last seen with media
        self._closed = False

    # -- the sink interface ---------------------------------------------------------------------

    def flow_started(self, session: FlowSession) -> None:
        pass

    def message(self, session: FlowSession, record: MessageRecord) -> None:
        type_id = record.type_id
        if type_id == MessageType.AUDIO or type_id == MessageType.VIDEO:
            self._tag(session, record, type_id, record.timestamp, record.body)
        elif type_id == MessageType.DATA_AMF0 or type_id == MessageType.DATA_AMF3:
            body = script_body(record.body, type_id == MessageType.DATA_AMF3)
            if body is not None:
                self._tag(session, record, TAG_SCRIPT, record.timestamp, body)
        elif type_id == MessageType.AGGREGATE:
            payload = record.payload
            if not isinstance(payload, Aggregate):
                return
            view = memoryview(record.body)
            for part in payload.parts:
                body = view[part.body_offset : part.body_offset + part.length]
                if part.type_id in (MessageType.AUDIO, MessageType.VIDEO):
                    self._tag(session, record, part.type_id, part.timestamp, body)
                elif part.type_id in (MessageType.DATA_AMF3, MessageType.DATA_AMF0):
                    script = script_body(body, part.type_id == MessageType.DATA_AMF3)
                    if script is not None:
                        self._tag(session, record, TAG_SCRIPT, part.timestamp, script)

    def warning(self, session: FlowSession | None, record: WarningRecord) -> None:
        pass  # a gap leaves the file going: the messages after it are whole; the session keeps the warning

    def flow_finished(self, session: FlowSession) -> None:
        for key in [k for k in self._files if k[0] == session.id]:
            self._finish(key)

    # -- results ----------------------------------------------------------------------------------

    def close(self) -> list[str]:
        """Finish every file still open; returns `written()`."""
        if not self._closed:
            for key in list(self._files):
                self._finish(key)
            self._closed = True
        return self.written()

    def close_keyed(self) -> list[tuple[tuple[int, int, str], str]]:
        """`close()`, with each path's (flow, message stream, direction)."""
        self.close()
        return sorted(self._kept)

    def written(self) -> list[str]:
        """Paths of the files kept so far, ordered by flow, message stream, then c2s before s2c."""
        return [path for _, path in sorted(self._kept)]

    # -- writing ----------------------------------------------------------------------------------

    def _key(self, session: FlowSession, record: MessageRecord) -> tuple[int, int, str]:
        """The file a message goes to. After a gap (or at a mid-session start) the decoder resynchronises with
        header state it cannot know, and reports message stream 0 (marked `inferred`): such media goes on in
        the file of the stream this direction carried before; with none yet, into a stream-0 file that the
        first message with a real stream id adopts (renaming it)."""
        flow, dir, stream_id = session.id, record.dir, record.stream_id
        if record.inferred and stream_id == 0:
            current = self._current.get((flow, dir))
            return (flow, 0 if current is None else current, dir)
        key = (flow, stream_id, dir)
        if stream_id != 0:
            if key not in self._files:
                orphan = self._files.get((flow, 0, dir))
                if orphan is not None and orphan.stream_unknown:
                    self._adopt(session, (flow, 0, dir), key)
            self._current[(flow, dir)] = stream_id
        return key

    def _tag(self, session: FlowSession, record: MessageRecord, tag_type: int, timestamp: int,
             body: bytes | memoryview) -> None:
        key = self._key(session, record)
        flv = self._files.get(key)
        if flv is None:
            flv = self._create(session, key, record.inferred and record.stream_id == 0)
        handle = self._handle(key, flv)
        size = len(body)
        handle.write(tag_header(tag_type, size, timestamp))
        handle.write(body)
        handle.write((11 + size).to_bytes(4, "big"))
        flv.size += 15 + size
        flv.tags += 1
        if tag_type == TAG_AUDIO:
            flv.flags |= FLAG_AUDIO
            flv.media_tags += 1
        elif tag_type == TAG_VIDEO:
            flv.flags |= FLAG_VIDEO
            flv.media_tags += 1

    def _reserve_name(self, session: FlowSession, key: tuple[int, int, str]) -> str:
        flow, stream_id, dir = key
        stream = session.state.streams.get(stream_id)
        role = getattr(stream, "role", None)
        name = getattr(stream, "name", None)
        base = flv_file_name(flow, dir, stream_id, role, name)
        file_name = base + ".flv"
        n = 2
        while file_name.lower() in self.used_names:  # lower: stay distinct on case-insensitive file systems
            file_name = f"{base}-{n}.flv"
            n += 1
        self.used_names.add(file_name.lower())
        return file_name

    def _adopt(self, session: FlowSession, old_key: tuple[int, int, str], key: tuple[int, int, str]) -> None:
        flv = self._files.pop(old_key)
        if flv.handle is not None:
            flv.handle.close()
            flv.handle = None
        self._open.pop(old_key, None)
        file_name = self._reserve_name(session, key)
        path = os.path.join(self.directory, file_name)
        os.replace(flv.path, path)
        self.used_names.discard(flv.name.lower())
        flv.path, flv.name, flv.stream_unknown = path, file_name, False
        self._files[key] = flv

    def _create(self, session: FlowSession, key: tuple[int, int, str], stream_unknown: bool) -> _FlvFile:
        file_name = self._reserve_name(session, key)
        path = os.path.join(self.directory, file_name)
        flv = _FlvFile(path, file_name, stream_unknown)
        self._files[key] = flv
        handle = self._handle(key, flv, create=True)
        handle.write(flv_header())
        flv.size = FLV_HEADER_SIZE + 4
        return flv

    def _handle(self, key: tuple[int, int, str], flv: _FlvFile, create: bool = False) -> IO[bytes]:
        if flv.handle is not None:
            self._open.move_to_end(key)
            return flv.handle
        while len(self._open) >= MAX_OPEN:
            old_key, _ = self._open.popitem(last=False)
            old = self._files[old_key]
            if old.handle is not None:
                old.handle.close()
                old.handle = None
        if create:
            flv.handle = open(flv.path, "wb")
        else:
            flv.handle = open(flv.path, "r+b")
            flv.handle.seek(flv.size)
        self._open[key] = None
        return flv.handle

    def _finish(self, key: tuple[int, int, str]) -> None:
        flv = self._files.pop(key)
        self._open.pop(key, None)
        if flv.media_tags == 0:
            if flv.handle is not None:
                flv.handle.close()
            os.unlink(flv.path)
            self.used_names.discard(flv.name.lower())
            return
        handle = flv.handle
        if handle is None:
            handle = open(flv.path, "r+b")
        handle.seek(4)
        handle.write(bytes([flv.flags]))
        handle.close()
        flv.handle = None
        self._kept.append((key, flv.path))

