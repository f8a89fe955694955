"""`rtmp-inspect diff A B`: compare two captures (or two JSON exports) by their stable form."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from dataclasses import replace
from typing import Any

from .capture.reader import CaptureError
from .export.json_export import JsonDocumentSink
from .export.stable import diff_documents
from .progress import progress_tick
from .runner import RunOptions, run
from .textsafe import escape
from .tls.keylog import KeyLogError, load_keylog


def _document(path: str, options: RunOptions) -> dict[str, Any]:
    """A JSON export as it is, or a capture analysed now."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(64).lstrip()
    except OSError as exc:
        raise CaptureError(f"{path}: {exc.strerror or exc}") from None
    if head.startswith(b"{"):
        try:
            with open(path, encoding="utf-8") as handle:
                document: dict[str, Any] = json.load(handle)
                return document
        except (OSError, ValueError) as exc:
            raise CaptureError(f"{path}: not a JSON export ({exc})") from None
    sink = JsonDocumentSink()
    tick, clear = progress_tick(sys.stderr, f"rtmp-inspect: {escape(path)}")
    try:
        done = run(path, sink, replace(options, tick=tick))
    finally:
        clear()
    buffer = io.StringIO()
    sink.write(buffer, done.capture_json(), done.sessions)
    analysed: dict[str, Any] = json.loads(buffer.getvalue())
    return analysed


def diff_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="rtmp-inspect diff",
                                     description="Compare two captures or JSON exports; exit 1 when they differ.")
    parser.add_argument("a", metavar="A")
    parser.add_argument("b", metavar="B")
    parser.add_argument("--hide-addresses", action="store_true", help="ignore server addresses too")
    parser.add_argument("--decode-as", metavar="PORT", type=int, action="append", default=[],
                        help="also decode this TCP port as RTMP without a visible handshake (repeatable)")
    parser.add_argument("--tls-keylog", metavar="FILE", help="TLS key log (SSLKEYLOGFILE format) for RTMPS")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 2
    try:
        keylog = load_keylog(args.tls_keylog) if args.tls_keylog else None
    except (OSError, KeyLogError) as exc:
        sys.stderr.write(f"rtmp-inspect: --tls-keylog: {escape(str(exc))}\n")
        return 2
    options = RunOptions(decode_as=tuple(args.decode_as), keylog=keylog)
    try:
        a = _document(args.a, options)
        b = _document(args.b, options)
    except CaptureError as exc:
        sys.stderr.write(f"rtmp-inspect: {escape(str(exc))}\n")
        return 2
    differences = list(diff_documents(a, b, args.a, args.b, args.hide_addresses))
    try:
        if not differences:
            sys.stdout.write(f"no differences: {escape(args.a)} and {escape(args.b)} agree in stable form\n")
            return 0
        for line in differences:
            sys.stdout.write(escape(line) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:  # `diff A B | head`: the reader went away; the answer stands
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 1
