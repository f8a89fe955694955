"""An output file that is never half-written and never takes the place of an input.

The text goes to a temporary file beside the target (same directory, so the final rename is atomic) and is
renamed into place only when the run succeeded; a failed or interrupted run leaves the target as it was (or
absent). A target that is one of the run's inputs, by any name (hard or symbolic links included), is refused
before anything is opened for writing.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from typing import IO


class OutputRefused(Exception):
    """The target may not be written (it is an input); str() is a one-line message."""


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): compare the resolved paths
        return os.path.realpath(a) == os.path.realpath(b)


def refuse_inputs(target: str, inputs: Iterable[str], option: str = "-o") -> None:
    """Raise OutputRefused when `target` is one of `inputs` ("-", standard input, is never a file here)."""
    for path in inputs:
        if path != "-" and _same_file(target, path):
            raise OutputRefused(f"{option} {target}: that is an input of this run ({path}); it would be overwritten")


class AtomicOutput:
    """`file` is written; `commit()` renames it onto the target, `discard()` (or leaving the `with` block on an
    exception) removes it."""

    def __init__(self, target: str) -> None:
        self.target = target
        directory = os.path.dirname(os.path.abspath(target))
        handle, self._temporary = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(target)}.",
                                                   suffix=".partial")
        self.file: IO[str] = os.fdopen(handle, "w", encoding="utf-8", newline="\n")
        self._done = False

    def _mode(self) -> int:
        """The target's permissions if it exists, else what a new file gets under the umask."""
        try:
            return os.stat(self.target).st_mode & 0o7777
        except OSError:
            umask = os.umask(0)
            os.umask(umask)
            return 0o666 & ~umask

    def commit(self) -> None:
        if self._done:
            return
        self._done = True
        self.file.close()
        os.chmod(self._temporary, self._mode())
        os.replace(self._temporary, self.target)

    def discard(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            self.file.close()
        except OSError:
            pass
        try:
            os.unlink(self._temporary)
        except OSError:
            pass

    def __enter__(self) -> AtomicOutput:
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        if kind is not None:
            self.discard()
