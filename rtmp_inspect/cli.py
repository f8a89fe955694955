"""Command line: parses arguments, opens files, and picks the output. The only module that does I/O by name."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from dataclasses import replace
from typing import IO, Any, NoReturn, TypeVar, cast

from . import __version__
from .analysis.ingest_profiles import ProfileError, load_profile
from .capture.reader import CaptureError
from .core import core_name, native_by_default
from .display_filter import FilterError, compile_filter
from .export.json_export import (
    CAPTURES_BETWEEN,
    CAPTURES_HEAD,
    CAPTURES_TAIL,
    JsonDocumentSink,
    JsonLinesSink,
    jsonl_capture_warning,
)
from .export.stable import stabilize
from .export.text import TextSink
from .findings import Severity, capture_note_kind
from .output_file import AtomicOutput, OutputRefused, refuse_inputs
from .parallel import CaptureJob, WorkerFailed, available_cores, run_captures, run_parallel, worker_count
from .progress import progress_tick
from .runner import Run, RunOptions, run
from .textsafe import escape
from .tls.keylog import KeyLogError, load_keylog

EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT = 0, 1, 2
MAX_JOBS = 64  # --jobs beyond this (or 4 per core) only costs memory: each process reads the whole capture

_R = TypeVar("_R")


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, as the contract says
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rtmp-inspect",
        description="Analyze RTMP sessions in pcap/pcapng captures: timeline, JSON, FLV extraction, checks.",
    )
    parser.add_argument("captures", nargs="*", metavar="CAPTURE", help="pcap or pcapng file (gzip ok); - for stdin")
    parser.add_argument("-r", "--read-file", metavar="CAPTURE", dest="read_files", action="append", default=[],
                        help="tshark's spelling of a capture to read (repeatable; after the positional ones)")
    parser.add_argument("--format", choices=("text", "json", "jsonl"), help="output format (default: the TUI on a "
                        "terminal, text when piped)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the output to FILE instead of stdout")
    parser.add_argument("--extract-flv", metavar="DIR", help="write one FLV file per media stream into DIR and "
                        "print their paths, one per line")
    parser.add_argument("--check", action="store_true", help="protocol checks: print the findings of every flow "
                        "with a verdict; exit status 1 when any error was found")
    parser.add_argument("-Y", "--filter", metavar="FILTER", dest="display_filter",
                        help="show only the messages FILTER matches (tshark's display filter syntax over the "
                        "message JSON: type == video && media.keyframe, command in {publish, play}, "
                        "summary contains \"Publish\"); flows and findings are all kept")
    parser.add_argument("--profile", metavar="NAME|FILE",
                        help="also check what the client published against a platform's ingest rules: youtube, "
                        "twitch, facebook, generic, or your own TOML file (findings profile.*, \"profile\" in the "
                        "JSON)")
    parser.add_argument("--decode-as", metavar="PORT", type=int, action="append", default=[],
                        help="treat TCP PORT as RTMP even without a visible handshake (repeatable)")
    parser.add_argument("--tls-keylog", metavar="FILE", help="decrypt RTMPS with this TLS key log (NSS format, "
                        "as written through SSLKEYLOGFILE)")
    parser.add_argument("--stable", action="store_true",
                        help="JSON without what changes between two captures of one scenario (times, frames, "
                        "client ports, handshake randoms), each direction's messages listed apart")
    parser.add_argument("--hide-addresses", action="store_true", help="with --stable: hide addresses too")
    parser.add_argument("--jobs", "-j", metavar="N", type=int, default=None,
                        help="decode each capture with N processes (default: all cores for captures over 32 MB; "
                             "the output is the same); text, json, jsonl, --check and --extract-flv")
    parser.add_argument("--no-colour", "--no-color", dest="colour", action="store_false", default=None,
                        help="never colour the text output")
    parser.add_argument("--version", action="version",
                        version=f"rtmp-inspect {__version__} ({core_name(native_by_default())})")
    return parser


def run_options(args: argparse.Namespace, **more: Any) -> RunOptions:
    """The command line's inputs to a run (more: the tick, on_start or partition of one run)."""
    return RunOptions(decode_as=tuple(args.decode_as), keylog=args.keylog,
                      display_filter=getattr(args, "display_filter", None),
                      profile=getattr(args, "loaded_profile", None), **more)


def analyze(path: str, sink: Any, options: RunOptions, show_progress: bool = True) -> Run:
    """Run one capture into `sink` with a progress line on stderr (on a terminal, for long runs)."""
    tick, done = progress_tick(sys.stderr if show_progress else None, f"rtmp-inspect: {escape(path)}")
    try:
        return run(path, sink, replace(options, tick=tick))
    finally:
        done()


def run_command(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    if args.extract_flv is not None and (args.check or args.format is not None):
        # Both asked for: the files first (their paths on stderr: stdout is the other output's), then the rest.
        run_extract_flv(args, cast(IO[str], _PrefixedLines(err, "rtmp-inspect: wrote ")), err)
        args = argparse.Namespace(**{**vars(args), "extract_flv": None})
    if getattr(args, "check", False):
        return run_check_json(args, out, err) if args.format == "json" else run_check(args, out, err)
    if args.extract_flv is not None:
        return run_extract_flv(args, out, err)
    fmt = args.format or "text"
    colour = bool(args.colour if args.colour is not None else (out.isatty() and not os.environ.get("NO_COLOR")))

    # Several captures as JSON: one document holding each capture's object (CONTRACT: "captures").
    parts = fmt == "json" and not args.stable and len(args.captures) > 1
    run_fmt = "json-part" if parts else fmt

    def run_one(path: str, out: IO[str], err: IO[str], jobs: int = 1) -> None:
        if jobs > 1:
            run_in_parallel(args, path, run_fmt, colour, jobs, out, err)
        else:
            run_single(args, path, run_fmt, colour, out, err)

    if parts:
        out.write(CAPTURES_HEAD)
    for_each_capture(args, run_one, out, err, CAPTURES_BETWEEN if parts else "")
    if parts:
        out.write(CAPTURES_TAIL)
    return EXIT_OK


def for_each_capture(args: argparse.Namespace, run_one: CaptureJob[_R], out: IO[str], err: IO[str],
                     between: str = "") -> list[_R]:
    """`run_one(path, out, err, jobs)` for every capture, in order, and what each returned, with `between`
    written between two captures' outputs. Several captures: one process each (--jobs at a time); one
    capture: its own workers (parallel.worker_count)."""
    jobs = args.jobs if args.jobs is not None else available_cores()
    if len(args.captures) > 1 and jobs > 1 and "-" not in args.captures and hasattr(os, "fork"):
        return run_captures(args.captures, run_one, jobs, out, err, between)
    results = []
    for n, path in enumerate(args.captures):
        if n and between:
            out.write(between)
        results.append(run_one(path, out, err, worker_count(path, args.jobs)))
    return results


def run_single(args: argparse.Namespace, path: str, fmt: str, colour: bool, out: IO[str], err: IO[str]) -> None:
    """One capture in one process; fmt "json-part": its object in a document of several captures."""
    part = fmt == "json-part"
    if part:
        fmt = "json"
    if fmt == "json":
        sink: Any = JsonDocumentSink()
    elif fmt == "jsonl":
        sink = JsonLinesSink(out)
    else:
        sink = TextSink(colour)
    done = analyze(path, sink, run_options(args))
    capture = done.capture_json()
    sessions = done.sessions
    if fmt == "jsonl":
        for warning in done.reader.warnings:
            out.write(jsonl_capture_warning(warning))
        sink.end(capture, sessions)
    elif args.stable:
        buffer = io.StringIO()
        sink.write(buffer, capture, sessions)
        stable = stabilize(json.loads(buffer.getvalue()), args.hide_addresses)
        out.write(json.dumps(stable, ensure_ascii=True, indent=1, sort_keys=True) + "\n")
    elif part:
        sink.write(out, capture, sessions, part=True)
    else:
        sink.write(out, capture, sessions)
    _capture_notes(path, capture, len(sessions), err)


def run_in_parallel(args: argparse.Namespace, path: str, fmt: str, colour: bool, jobs: int,
                    out: IO[str], err: IO[str]) -> None:
    """--jobs: the same output, decoded by `jobs` processes (parallel.py)."""
    if args.stable:
        buffer = io.StringIO()
        capture, flows, _ = run_parallel(path, fmt, run_options(args), colour, jobs, buffer)
        stable = stabilize(json.loads(buffer.getvalue()), args.hide_addresses)
        out.write(json.dumps(stable, ensure_ascii=True, indent=1, sort_keys=True) + "\n")
    else:
        capture, flows, _ = run_parallel(path, fmt, run_options(args), colour, jobs, out)
    _capture_notes(path, capture, flows, err)


def _capture_notes(path: str, capture: dict[str, Any], flows: int, err: IO[str]) -> None:
    """What stderr says about a capture once it is decoded: its damage (and notes), or that it holds no RTMP."""
    for warning in capture["warnings"]:
        note = "note: " if capture_note_kind(warning)[1] == Severity.INFO else ""
        err.write(f"rtmp-inspect: {escape(path)}: {note}{escape(warning)}\n")
    if not flows:
        hint = "; no RTMP handshake seen: if the capture starts mid-session, name the server's TCP port with " \
            "--decode-as PORT" if capture["tcp_flows"] else ""
        err.write(f"rtmp-inspect: {escape(path)}: no RTMP found ({capture['packets']} packets, "
                  f"{capture['tcp_flows']} TCP flows){hint}\n")


def run_check(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """--check: findings grouped by flow with each flow's verdict; exit 1 when any error-severity finding."""
    from .export.check_report import CheckSink, check_report

    def check_one(path: str, out: IO[str], err: IO[str], jobs: int = 1) -> int:
        if jobs > 1:
            capture, flows, counts = run_parallel(path, "check", run_options(args), False, jobs, out)
            _capture_notes(path, capture, flows, err)
            return counts["error"] if counts else 0
        done = analyze(path, CheckSink(), run_options(args))
        text, found = check_report(path, done.sessions, list(done.reader.warnings))
        out.write(text)
        _capture_notes(path, done.capture_json(), len(done.sessions), err)
        return found

    errors = sum(for_each_capture(args, check_one, out, err))
    return EXIT_FINDINGS if errors else EXIT_OK


def run_check_json(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """--check --format json: one document with every capture's notes and flows (verdict, findings); the exit
    status of --check. Each capture in one process."""
    from .export.check_report import CheckSink, check_json
    from .export.json_export import SCHEMA_VERSION
    from .export.message_json import dumps

    parts = []
    errors = 0
    for path in args.captures:
        done = analyze(path, CheckSink(), run_options(args))
        part, found = check_json(path, done.sessions, list(done.reader.warnings))
        parts.append(part)
        errors += found
        _capture_notes(path, done.capture_json(), len(done.sessions), err)
    counts = {severity: sum(part["counts"][severity] for part in parts) for severity in ("error", "warning", "info")}
    out.write(dumps({"tool": "rtmp-inspect", "schema_version": SCHEMA_VERSION, "check": parts,
                     "counts": counts}) + "\n")
    return EXIT_FINDINGS if errors else EXIT_OK


class _PrefixedLines:
    """A text output that puts `prefix` before each line written to `out` (whole lines only)."""

    def __init__(self, out: IO[str], prefix: str) -> None:
        self.out, self.prefix = out, prefix

    def write(self, text: str) -> int:
        self.out.write("".join(self.prefix + line for line in text.splitlines(keepends=True)))
        return len(text)

    def flush(self) -> None:
        self.out.flush()


def run_extract_flv(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """--extract-flv DIR: the FLV files only (no timeline); their paths on `out`, one per line."""
    from .export.flv import FlvExtractSink

    used_names: set[str] = set()  # file names stay unique across captures
    # Captures one after the other (their file names depend on the ones before), each with its own workers.
    for path in args.captures:
        jobs = worker_count(path, args.jobs)
        before = set(used_names)
        if jobs > 1:
            target = (args.extract_flv, used_names)
            capture, flows, _ = run_parallel(path, "flv", run_options(args), False, jobs, out, target)
        else:
            sink = FlvExtractSink(args.extract_flv, used_names)
            try:
                done = analyze(path, sink, run_options(args))
            finally:  # even when the capture turns out damaged: the files so far are finished and listed
                for written_path in sink.close():
                    out.write(escape(written_path) + "\n")
            capture, flows = done.capture_json(), len(done.sessions)
        _capture_notes(path, capture, flows, err)
        _flv_notes(path, args.extract_flv, sorted(used_names - before), flows, err)
    return EXIT_OK


def _flv_notes(path: str, directory: str, names: list[str], flows: int, err: IO[str]) -> None:
    """On stderr: what each file written lacks for a player, or that the capture gave no file at all."""
    from .export.flv_check import check_flv

    on_disk = {entry.lower(): entry for entry in os.listdir(directory)}  # the sink keeps names lower-cased
    written = [os.path.join(directory, on_disk[name]) for name in names if name in on_disk]
    if not written and flows:  # (without flows, the capture's notes already say that no RTMP was found)
        err.write(f"rtmp-inspect: {escape(path)}: no FLV file written: no audio or video decoded in its "
                  f"{flows} RTMP flow(s)\n")
    for file in written:
        missing, notes = check_flv(file)
        for what in missing:
            err.write(f"rtmp-inspect: {escape(file)}: warning: {what}\n")
        for what in notes:
            err.write(f"rtmp-inspect: {escape(file)}: note: {what}\n")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["diff"]:
        from .diff_command import diff_main

        return diff_main(argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        args.captures = [*args.captures, *args.read_files]
        if not args.captures:
            raise UsageError("no capture given (try --help)")
        if args.stable and args.format not in (None, "json"):
            raise UsageError("--stable applies to --format json")
        if args.hide_addresses and not args.stable:
            raise UsageError("--hide-addresses applies to --stable (the stable JSON)")
        if args.check and (args.format == "jsonl" or args.stable):
            raise UsageError("--check writes text or, with --format json, one JSON document: not "
                             + ("--format jsonl" if args.format == "jsonl" else "--stable"))
        if args.extract_flv is not None and (args.check or args.format is not None or args.stable) \
                and "-" in args.captures:
            raise UsageError("--extract-flv with another output reads each capture twice: not possible from "
                             "standard input (-)")
        if args.stable:
            args.format = "json"
        if args.jobs is not None and args.jobs < 1:
            raise UsageError(f"--jobs {args.jobs}: needs at least 1")
        if args.display_filter is not None:
            if args.check:
                raise UsageError("-Y filters the messages shown; --check reports every flow's findings: not both")
            if args.extract_flv is not None and args.format is None and not args.stable:
                raise UsageError("-Y filters the messages shown; --extract-flv writes every tag (add --format to "
                                 "filter the output beside the files)")
            try:
                compile_filter(args.display_filter)
            except FilterError as exc:
                raise UsageError(f"-Y: {exc}") from None
        most = max(MAX_JOBS, 4 * available_cores())
        if args.jobs is not None and args.jobs > most:
            raise UsageError(f"--jobs {args.jobs}: this machine gives {available_cores()} core(s); at most {most}")
        for port in args.decode_as:
            if not 0 < port < 65536:
                raise UsageError(f"--decode-as {port}: not a TCP port")
        args.loaded_profile = None
        if args.profile:
            try:
                args.loaded_profile = load_profile(args.profile)
            except ProfileError as exc:
                raise UsageError(f"--profile: {exc}") from None
        args.keylog = None
        if args.tls_keylog:
            try:
                args.keylog = load_keylog(args.tls_keylog)
            except (OSError, KeyLogError) as exc:
                raise UsageError(f"--tls-keylog: {exc}") from None
    except UsageError as exc:
        sys.stderr.write(f"rtmp-inspect: {exc}\n")
        return EXIT_BAD_INPUT
    if args.format is None and args.output is None and not getattr(args, "extract_flv", None) \
            and not getattr(args, "check", False) and not args.stable and args.display_filter is None \
            and sys.stdout.isatty() \
            and sys.stdin.isatty() and "-" not in args.captures:
        from .ui.app import run_tui  # only the TUI path imports Textual

        return run_tui(args.captures, run_options(args))
    out: IO[str]
    opened: AtomicOutput | None = None
    try:
        if args.output:
            try:
                refuse_inputs(args.output, [*args.captures, *([args.tls_keylog] if args.tls_keylog else [])])
            except OutputRefused as exc:
                sys.stderr.write(f"rtmp-inspect: {escape(str(exc))}\n")
                return EXIT_BAD_INPUT
            # Written beside the target and renamed into place only when the run succeeds: a failed run
            # leaves an existing file as it was.
            opened = AtomicOutput(args.output)
            out = opened.file
        else:
            out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n", write_through=False) \
                if hasattr(sys.stdout, "buffer") else sys.stdout
        status = EXIT_BAD_INPUT
        try:
            status = run_command(args, out, sys.stderr)
            return status
        finally:
            try:
                out.flush()
            except BrokenPipeError:
                pass
            if opened is not None:
                if status != EXIT_BAD_INPUT:
                    opened.commit()
                else:
                    opened.discard()
    except CaptureError as exc:
        sys.stderr.write(f"rtmp-inspect: {escape(str(exc))}\n")
        return EXIT_BAD_INPUT
    except WorkerFailed as exc:  # a bug, not bad input: one line, the worker's exception (its last line)
        lines = [line for line in str(exc).splitlines() if line.strip()]
        sys.stderr.write(f"rtmp-inspect: internal error in a --jobs worker: {escape(lines[-1] if lines else '')}\n")
        return EXIT_BAD_INPUT
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            # `rtmp-inspect x.pcap | head`: the reader went away; that is not an error.
            _silence_stdout()
            return EXIT_OK
        sys.stderr.write(f"rtmp-inspect: {escape(exc.filename or '')}: {exc.strerror or exc}\n")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
