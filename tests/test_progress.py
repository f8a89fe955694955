"""The progress line: only on a terminal, drawn in place, erased at the end."""

from __future__ import annotations

import io

from rtmp_inspect.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_in_place_on_a_terminal_and_erases_itself():
    screen = Terminal()
    progress = Progress(screen, lambda: (50_000_000, 200_000_000), "rtmp-inspect: x.pcap")
    progress.next_update = 0  # as if the first moment had passed
    progress.tick(1234)
    text = screen.getvalue()
    assert text.startswith("\r") and "25%" in text and "50/200 MB" in text and "1,234 packets" in text
    progress.done()
    assert screen.getvalue().endswith("\r\x1b[K")


def test_no_progress_when_not_a_terminal_or_quick():
    piped = io.StringIO()
    progress = Progress(piped, lambda: (1, 2), "x")
    progress.next_update = 0
    progress.tick(1)
    progress.done()
    assert piped.getvalue() == ""
    screen = Terminal()
    quick = Progress(screen, lambda: (1, 2), "x")
    quick.tick(1)  # within the first moment: nothing drawn
    quick.done()
    assert screen.getvalue() == ""
