"""--jobs: one capture decoded by several processes at once, merged into exactly the output of one process.

Every worker reads the whole capture, reassembles every TCP flow and recognises every RTMP session, so all
of them number the sessions alike; each one decodes (the costly part: chunks, AMF, media, analysis, output)
only the sessions whose id is its index modulo the number of workers. The analyzer counts a `step` each
time it addresses any session, decoded here or not, so the same step means the same moment in every worker.
A worker tags what it writes with the step (the timeline) or with the flow id (per-flow parts), and this
process merges the workers' records by that tag. Records travel through pipes: a worker that runs ahead
waits on a full pipe, and memory stays flat.
"""

from __future__ import annotations

import heapq
import io
import json
import os
import shutil
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import IO, Any, BinaryIO, Protocol, TypeVar

from .analysis.pipeline import Analyzer, Partition
from .capture.reader import CaptureError
from .export.json_export import jsonl_capture_warning
from .progress import progress_tick
from .runner import Reader, Run, RunOptions, open_reader, run
from .textsafe import escape

# A record: key (u64), payload length (u32), payload. Keys at the top of the range are markers.
_HEADER_SIZE = 12
_SEPARATOR = 2**64 - 1  # ends a run of records merged by key
_INFO = 2**64 - 2  # JSON: the capture's description and the number of flows
_FAILED = 2**64 - 3  # the worker failed: the payload says why
_RECORD_BYTES = 1 << 20  # text buffered under one key before it becomes a record
_PIPE_BYTES = 1 << 20
# Below this size a capture decodes in about a second: workers that each read it buy little.
AUTO_MIN_BYTES = 32 * 1024 * 1024


def available_cores() -> int:
    """Cores this process may use; 1 where processes cannot be forked (the workers are forked)."""
    if not hasattr(os, "fork"):
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def worker_count(path: str, jobs: int | None) -> int:
    """How many processes decode `path`: --jobs when given, else every core for a large regular file."""
    if path == "-" or not hasattr(os, "fork"):
        return 1  # standard input can be read once only
    if jobs is not None:
        return max(1, jobs)
    cores = available_cores()
    try:
        large = os.path.getsize(path) >= AUTO_MIN_BYTES
    except OSError:
        return 1
    return cores if large else 1


# -- the worker side --------------------------------------------------------------------------------

class _RecordWriter:
    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw

    def record(self, key: int, payload: bytes) -> None:
        self.raw.write(key.to_bytes(8, "little") + len(payload).to_bytes(4, "little"))
        self.raw.write(payload)

    def info(self, capture: dict[str, Any], flows: int, counts: dict[str, int] | None = None) -> None:
        self.record(_INFO, json.dumps({"capture": capture, "flows": flows, "counts": counts}).encode())


class _KeyedOutput:
    """A text file for the sinks whose writes become records, keyed by `key()` at the time of the write."""

    def __init__(self, writer: _RecordWriter, key: Callable[[], int]) -> None:
        self.writer = writer
        self.key = key
        self._current = -1
        self._parts: list[str] = []
        self._size = 0

    def write(self, text: str) -> int:
        key = self.key()
        if key != self._current:
            self.flush()
            self._current = key
        self._parts.append(text)
        self._size += len(text)
        if self._size > _RECORD_BYTES:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self._parts:
            self.writer.record(self._current, "".join(self._parts).encode())
            self._parts.clear()
            self._size = 0

    def isatty(self) -> bool:
        return False


class _Worker:
    """One worker's run: decode the sessions of its partition and write its part of the output as records."""

    def __init__(self, path: str, options: RunOptions, partition: Partition, writer: _RecordWriter) -> None:
        self.path = path
        self.options = options
        self.partition = partition
        self.writer = writer
        self.analyzer: Analyzer | None = None  # its step keys the timeline's records
        self.flow = 0  # the flow whose part is being written (the key of per-flow records)

    def step(self) -> int:
        assert self.analyzer is not None
        return self.analyzer.step

    def flow_id(self) -> int:
        return self.flow

    def analyze(self, sink: Any) -> Run:
        """The run of this worker's partition; worker 0 shows the progress line."""
        def started(analyzer: Analyzer, reader: Reader) -> None:
            self.analyzer = analyzer

        first = self.partition.index == 0
        tick, done = progress_tick(sys.stderr if first else None, f"rtmp-inspect: {escape(self.path)}")
        try:
            return run(self.path, sink, replace(self.options, partition=self.partition, tick=tick, on_start=started))
        finally:
            done()

    def info(self, done: Run, counts: dict[str, int] | None = None) -> None:
        self.writer.info(done.capture_json(), done.analyzer.next_id, counts)

    def end_run(self) -> None:
        self.writer.record(_SEPARATOR, b"")

    def jsonl(self) -> None:
        """The lines keyed by step; worker 0 also writes the capture's first and closing lines."""
        from .export.json_export import JsonLinesSink

        out = _KeyedOutput(self.writer, self.step)
        sink = JsonLinesSink(out)  # type: ignore[arg-type]
        done = self.analyze(sink)
        if self.partition.index == 0:  # after every worker's last step
            last = done.analyzer.step + 1
            out.key = lambda: last
            for warning in done.reader.warnings:
                out.write(jsonl_capture_warning(warning))
            sink.end(done.capture_json(), [], done.analyzer.next_id)
        out.flush()
        self.end_run()
        self.info(done)

    def json(self) -> None:
        """The capture's description, then each flow object keyed by flow id."""
        from .export.json_export import JsonDocumentSink

        sink = JsonDocumentSink()
        done = self.analyze(sink)
        self.info(done)
        out = _KeyedOutput(self.writer, self.flow_id)
        for session in done.sessions:
            self.flow = session.id
            sink.write_flow(out, session)  # type: ignore[arg-type]  # (a file-like _KeyedOutput)
        out.flush()
        self.end_run()
        sink.close()

    def text(self, colour: bool) -> None:
        """The capture's description, the flow headers keyed by flow id, then the timeline keyed by step."""
        from .export.text import TextSink

        with tempfile.TemporaryFile() as spool_file:
            spool = _KeyedOutput(_RecordWriter(spool_file), self.step)
            sink = TextSink(colour, spool=spool)
            done = self.analyze(sink)
            self.info(done)
            out = _KeyedOutput(self.writer, self.flow_id)
            for session in done.kept_sessions:
                self.flow = session.id
                out.write(sink.flow_header_text(session))
            out.flush()
            self.end_run()
            spool.flush()
            spool_file.seek(0)
            shutil.copyfileobj(spool_file, self.writer.raw)
            self.end_run()

    def check(self) -> None:
        """The capture's description with this worker's findings by severity, then each flow's report."""
        from .export.check_report import SEVERITY_ORDER, CheckSink, check_flow

        done = self.analyze(CheckSink())
        sessions = done.kept_sessions
        counts = dict.fromkeys(SEVERITY_ORDER, 0)
        for session in sessions:
            for warning in session.warnings:
                if warning.severity in counts:
                    counts[warning.severity] += 1
        self.info(done, counts)
        out = _KeyedOutput(self.writer, self.flow_id)
        for session in sessions:
            self.flow = session.id
            out.write(check_flow(session)[0])
        out.flush()
        self.end_run()

    def flv(self, directory: str, used_names: set[str]) -> None:
        """The paths of the files written (NUL-terminated, keyed by flow id), then the capture's description."""
        from .export.flv import FlvExtractSink

        sink = FlvExtractSink(directory, used_names)
        out = _KeyedOutput(self.writer, self.flow_id)
        try:
            done = self.analyze(sink)
        finally:  # as in one process: the files so far are finished and listed even when the capture fails
            for key, written in sink.close_keyed():
                self.flow = key[0]
                out.write(written + "\0")
            out.flush()
            self.end_run()
        self.info(done)


def _work(path: str, fmt: str, options: RunOptions, colour: bool, partition: Partition,
          writer: _RecordWriter, flv: tuple[str, set[str]] | None = None) -> None:
    worker = _Worker(path, options, partition, writer)
    if fmt == "jsonl":
        worker.jsonl()
    elif fmt in ("json", "json-part"):
        worker.json()
    elif fmt == "text":
        worker.text(colour)
    elif fmt == "check":
        worker.check()
    elif fmt == "flv" and flv is not None:
        worker.flv(*flv)
    else:
        raise ValueError(f"no parallel form of {fmt!r}")


def _child(path: str, fmt: str, options: RunOptions, colour: bool, partition: Partition, fd: int,
           flv: tuple[str, set[str]] | None) -> None:
    """The forked worker: never returns."""
    status = 0
    raw = os.fdopen(fd, "wb", buffering=_PIPE_BYTES)
    writer = _RecordWriter(raw)
    try:
        _work(path, fmt, options, colour, partition, writer, flv)
    except BaseException as exc:  # reported by the parent, which decides what the user sees
        status = 1
        kind = "capture" if isinstance(exc, CaptureError) else "internal"
        why = str(exc) if kind == "capture" else "".join(traceback.format_exception(exc))
        try:
            writer.record(_FAILED, json.dumps({"kind": kind, "message": why}).encode())
        except OSError:
            pass
    finally:
        try:
            raw.flush()
            sys.stderr.flush()
        except OSError:
            pass
        os._exit(status)


# -- the parent side --------------------------------------------------------------------------------

class WorkerFailed(Exception):
    pass


def _read_record(stream: BinaryIO) -> tuple[int, bytes]:
    header = stream.read(_HEADER_SIZE)
    if len(header) < _HEADER_SIZE:
        raise WorkerFailed("a worker ended without finishing its output")
    key = int.from_bytes(header[:8], "little")
    payload = stream.read(int.from_bytes(header[8:], "little"))
    if key == _FAILED:
        failure = json.loads(payload)
        if failure["kind"] == "capture":
            raise CaptureError(failure["message"])
        raise WorkerFailed(failure["message"])
    return key, payload


def _keyed_run(stream: BinaryIO, worker: int) -> Iterator[tuple[int, int, bytes]]:
    """The records of one worker up to its next separator, as (key, worker, payload)."""
    while True:
        key, payload = _read_record(stream)
        if key == _SEPARATOR:
            return
        yield key, worker, payload


def _merged(streams: list[BinaryIO]) -> Iterator[tuple[int, bytes]]:
    """One run from every worker, merged by key (a key is only ever written by one worker)."""
    runs = [_keyed_run(stream, n) for n, stream in enumerate(streams)]
    for key, _, payload in heapq.merge(*runs):
        yield key, payload


def _read_info(stream: BinaryIO) -> dict[str, Any]:
    key, payload = _read_record(stream)
    if key != _INFO:
        raise WorkerFailed("a worker's output is out of order")
    info: dict[str, Any] = json.loads(payload)
    return info


def run_parallel(path: str, fmt: str, options: RunOptions, colour: bool, jobs: int,
                 out: IO[str], flv: tuple[str, set[str]] | None = None
                 ) -> tuple[dict[str, Any], int, dict[str, int] | None]:
    """Decode `path` with `jobs` worker processes and write the `fmt` output (text, json, jsonl, check, or
    flv: the paths of the FLV files written into flv[0], names unique against flv[1], which is updated) to
    `out`, byte for byte what one process writes. Returns the capture's description, its number of flows
    and (check) its findings by severity."""
    open_reader(path, options).close()  # unusable input is reported once, here
    out.flush()  # nothing buffered may be written twice by the forked workers
    sys.stderr.flush()
    workers: list[tuple[int, BinaryIO]] = []
    try:
        for index in range(jobs):
            read_fd, write_fd = os.pipe()
            _grow_pipe(write_fd)
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child's exit is os._exit
                os.close(read_fd)
                for _, stream in workers:
                    stream.close()
                _child(path, fmt, options, colour, Partition(index, jobs), write_fd, flv)
            os.close(write_fd)
            workers.append((pid, os.fdopen(read_fd, "rb", buffering=_PIPE_BYTES)))
        streams = [stream for _, stream in workers]
        capture, flows, counts = _WRITERS[fmt](streams, out, path, colour, flv)
        _wait_all(workers)
        workers = []
        return capture, flows, counts
    finally:
        for pid, stream in workers:  # stopped early (an error, a closed pipe, Ctrl-C): stop the rest
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            except OSError:
                pass
            stream.close()


# The parent's side of each form: merge the workers' records into `out`; (capture, flows, counts).

def _write_jsonl(streams: list[BinaryIO], out: IO[str], *_rest: Any) -> tuple[dict[str, Any], int, None]:
    for _, payload in _merged(streams):
        out.write(payload.decode())
    info = [_read_info(stream) for stream in streams][0]
    return info["capture"], info["flows"], None


def _write_flv(streams: list[BinaryIO], out: IO[str], path: str, colour: bool,
               flv: tuple[str, set[str]] | None) -> tuple[dict[str, Any], int, None]:
    assert flv is not None
    for _, payload in _merged(streams):
        for written in payload.decode().split("\0")[:-1]:
            out.write(escape(written) + "\n")
            flv[1].add(os.path.basename(written).lower())  # taken, for the next captures
    info = [_read_info(stream) for stream in streams][0]
    return info["capture"], info["flows"], None


def _write_json(streams: list[BinaryIO], out: IO[str], *_rest: Any, part: bool = False
                ) -> tuple[dict[str, Any], int, None]:
    from .export.json_export import DOCUMENT_TAIL, PART_TAIL, document_head, part_head

    info = [_read_info(stream) for stream in streams][0]
    out.write(part_head(info["capture"]) if part else document_head(info["capture"]))
    previous = None
    for key, payload in _merged(streams):
        if key != previous:  # a new flow
            out.write(("," if previous is not None else "") + "\n")
            previous = key
        out.write(payload.decode())
    out.write(PART_TAIL if part else DOCUMENT_TAIL)
    return info["capture"], info["flows"], None


def _write_json_part(streams: list[BinaryIO], out: IO[str], *rest: Any) -> tuple[dict[str, Any], int, None]:
    return _write_json(streams, out, *rest, part=True)


def _write_check(streams: list[BinaryIO], out: IO[str], path: str, *_rest: Any
                 ) -> tuple[dict[str, Any], int, dict[str, int]]:
    from .export.check_report import check_head, check_tail

    infos = [_read_info(stream) for stream in streams]
    capture, flows = infos[0]["capture"], infos[0]["flows"]
    counts = {severity: sum(info["counts"][severity] for info in infos) for severity in infos[0]["counts"]}
    out.write(check_head(path, capture["warnings"]))
    for _, payload in _merged(streams):
        out.write(payload.decode())
    out.write(check_tail(flows, counts))
    return capture, flows, counts


def _write_text(streams: list[BinaryIO], out: IO[str], path: str, colour: bool, *_rest: Any
                ) -> tuple[dict[str, Any], int, None]:
    from .export.text import COLUMNS, TextSink

    info = [_read_info(stream) for stream in streams][0]
    TextSink(colour, spool=io.StringIO()).write_head(out, info["capture"], info["flows"])
    for _, payload in _merged(streams):  # the flow headers
        out.write(payload.decode())
    out.write(COLUMNS)
    for _, payload in _merged(streams):  # the timeline
        out.write(payload.decode())
    return info["capture"], info["flows"], None


# (streams, out, path, colour, flv) -> (capture, flows, counts)
_Writer = Callable[[list[BinaryIO], IO[str], str, bool, tuple[str, set[str]] | None],
                   tuple[dict[str, Any], int, dict[str, int] | None]]
_WRITERS: dict[str, _Writer] = {"jsonl": _write_jsonl, "flv": _write_flv, "json": _write_json, "check": _write_check,
            "text": _write_text, "json-part": _write_json_part}


def _wait_all(workers: list[tuple[int, BinaryIO]]) -> None:
    for pid, stream in workers:
        stream.close()
        _, status = os.waitpid(pid, 0)
        if status != 0:
            raise WorkerFailed(f"a worker process ended with status {status:#x}")


# -- several captures: one process each ----------------------------------------------------------

_R = TypeVar("_R")
_R_co = TypeVar("_R_co", covariant=True)


class CaptureJob(Protocol[_R_co]):
    """One capture's work: its output into `out` and `err`, with `jobs` worker processes of its own."""

    def __call__(self, path: str, out: IO[str], err: IO[str], jobs: int = 1, /) -> _R_co: ...


_CAPTURE_JOB: CaptureJob[Any] | None = None  # set before the pool forks


def run_captures(paths: list[str], run_one: CaptureJob[_R], jobs: int, out: IO[str], err: IO[str],
                 between: str = "") -> list[_R]:
    """Several captures at once, one process each (at most `jobs` at a time): `run_one(path, out, err)` writes
    each one's output to files, and they are copied out in the order given, as one process would write them.
    Returns what each `run_one` returned. The first capture that fails stops the run there, raising what
    one process would have raised. `between` is written between two captures' outputs."""
    import multiprocessing

    global _CAPTURE_JOB
    out.flush()
    sys.stderr.flush()
    _CAPTURE_JOB = run_one
    results: list[_R] = []
    with tempfile.TemporaryDirectory(prefix="rtmp-inspect-") as scratch:
        jobs_list = [(path, os.path.join(scratch, str(n))) for n, path in enumerate(paths)]
        with multiprocessing.get_context("fork").Pool(min(jobs, len(paths)), _ignore_interrupts) as pool:
            for n, ((_, base), (failure, value)) in enumerate(zip(jobs_list, pool.imap(_capture_job, jobs_list))):
                if n and between:
                    out.write(between)
                for name, stream in ((".out", out), (".err", err)):
                    with open(base + name, encoding="utf-8", newline="") as written:
                        shutil.copyfileobj(written, stream)
                if failure is not None:
                    pool.terminate()
                    kind, details = failure
                    if kind == "capture":
                        raise CaptureError(details[0])
                    if kind == "os":
                        raise OSError(details[0], details[1], details[2])
                    raise WorkerFailed(details[0])
                results.append(value)
    return results


def _ignore_interrupts() -> None:
    """Pool processes leave Ctrl-C to the parent, which stops them (no traceback from each)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _capture_job(job: tuple[str, str]) -> tuple[tuple[str, tuple[Any, ...]] | None, Any]:
    """In a pool process: one capture's output into BASE.out and BASE.err; (what went wrong or None, what
    the job returned)."""
    path, base = job
    assert _CAPTURE_JOB is not None
    with open(base + ".out", "w", encoding="utf-8", newline="\n") as out, \
            open(base + ".err", "w", encoding="utf-8", newline="\n") as err:
        saved = sys.stderr
        sys.stderr = err  # no progress line from several processes at once (a file is not a terminal)
        try:
            return None, _CAPTURE_JOB(path, out, err)
        except CaptureError as exc:
            return ("capture", (str(exc),)), None
        except OSError as exc:
            return ("os", (exc.errno, exc.strerror, exc.filename)), None
        except Exception:
            return ("internal", (traceback.format_exc(),)), None
        finally:
            sys.stderr = saved


def _grow_pipe(fd: int) -> None:
    """A larger pipe lets a worker run further ahead of the merge before it waits (Linux only)."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), _PIPE_BYTES)
    except (ImportError, OSError):
        pass
