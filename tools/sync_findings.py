#!/usr/bin/env python3
"""Write the findings catalogue (rtmp_inspect/findings.py) into the README's table and the JSON schema's
`finding_code` enum, after a code was added or changed. tests/test_architecture.py checks that both agree.

    python tools/sync_findings.py
"""

from __future__ import annotations

import os
import re
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from rtmp_inspect.findings import CATALOGUE, markdown_table  # noqa: E402

README = os.path.join(ROOT, "README.md")
SCHEMA = os.path.join(ROOT, "rtmp_inspect", "schema", "rtmp-inspect.schema.json")
TABLE_START = "<!-- findings table: python -m rtmp_inspect.findings -->\n"
TABLE_END = "<!-- end of findings table -->"


def main() -> int:
    with open(README, encoding="utf-8") as f:
        readme = f.read()
    start = readme.index(TABLE_START) + len(TABLE_START)
    end = readme.index(TABLE_END)
    readme = readme[:start] + markdown_table() + readme[end:]
    with open(README, "w", encoding="utf-8") as f:
        f.write(readme)

    with open(SCHEMA, encoding="utf-8") as f:
        schema = f.read()
    codes = ", ".join(f'"{code}"' for code in CATALOGUE)
    body = textwrap.fill(codes, width=114, initial_indent="      ", subsequent_indent="      ",
                         break_on_hyphens=False, break_long_words=False)
    pattern = re.compile(r'("finding_code": \{\n\s*"description": [^\n]*\n\s*"enum": \[\n)(.*?)(\n\s*\])', re.S)
    schema, count = pattern.subn(lambda m: m.group(1) + body + m.group(3), schema)
    if count != 1:
        print("the schema's finding_code enum was not found", file=sys.stderr)
        return 1
    with open(SCHEMA, "w", encoding="utf-8") as f:
        f.write(schema)
    print(f"{len(CATALOGUE)} codes written to README.md and the schema")
    return 0


if __name__ == "__main__":
    sys.exit(main())
