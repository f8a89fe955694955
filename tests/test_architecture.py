"""The architecture held by the code: the findings catalogue is complete and agrees with the README and the
schema, and the RTMP decoder uses nothing but the standard library."""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

from rtmp_inspect.findings import CATALOGUE, UnknownFinding, check_finding, markdown_table

PACKAGE = Path(__file__).resolve().parent.parent / "rtmp_inspect"
ROOT = PACKAGE.parent
CODE = re.compile(r"^[a-z]+\.[a-z][a-z0-9]*(-[a-z0-9]+)*$")
PREFIXES = {code.split(".")[0] for code in CATALOGUE}


def _string_literals(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def _code_like_literals() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for value in _string_literals(path):
            if CODE.match(value) and value.split(".")[0] in PREFIXES and not value.endswith((".py", ".json")):
                found.setdefault(value, []).append(str(path.relative_to(ROOT)))
    return found


def test_every_code_in_the_source_is_in_the_catalogue_and_every_catalogued_code_is_raised_somewhere():
    literals = _code_like_literals()
    unknown = {code: where for code, where in literals.items() if code not in CATALOGUE}
    assert unknown == {}
    assert sorted(set(CATALOGUE) - set(literals)) == []


def test_a_finding_outside_the_catalogue_is_refused():
    check_finding("tcp.gap", "warning")
    for code, severity in (("tcp.gapp", "warning"), ("tcp.gap", "error")):
        try:
            check_finding(code, severity)
        except UnknownFinding as exc:
            assert code in str(exc)
        else:
            raise AssertionError(f"{code} {severity} accepted")


def test_the_readme_lists_the_catalogue():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("<!-- findings table: python -m rtmp_inspect.findings -->\n")
    end = readme.index("<!-- end of findings table -->")
    assert readme[start:end].split("\n", 1)[1] == markdown_table()


def test_the_schema_enumerates_the_catalogue():
    schema = json.loads((PACKAGE / "schema" / "rtmp-inspect.schema.json").read_text(encoding="utf-8"))
    assert schema["$defs"]["finding_code"]["enum"] == list(CATALOGUE)
    assert schema["$defs"]["warning"]["properties"]["code"] == {"$ref": "#/$defs/finding_code"}


def test_the_rtmp_decoder_imports_only_the_standard_library_and_itself():
    for path in sorted((PACKAGE / "rtmp").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: must stay inside rtmp/
                    assert node.level == 1, (path.name, node.module)
                    continue
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top == "__future__", (path.name, name)
