"""Making strings from a capture safe to show on a terminal.

Capture bytes are attacker-controlled: an AMF string can hold ESC sequences that move the cursor,
rewrite the screen or the window title, or bidi overrides that reorder what a reader sees.
Every string from a capture goes through `escape` before it reaches a terminal.
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls, bidi embeddings/overrides/isolates, line/paragraph separators, BOM.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e"}


def _replace(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str) -> str:
    """The text with every control or reordering character shown as an escape (\\e, \\x9b, \\u202e...)."""
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_replace, text.replace("\\", "\\\\"))
