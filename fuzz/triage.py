"""Replay crashing inputs through a harness (no atheris needed) and group them by exception and place.
Usage: python fuzz/triage.py HARNESS FILE..."""

from __future__ import annotations

import collections
import importlib
import sys
import traceback

sys.modules.setdefault("atheris_disabled", None)


def main() -> None:
    harness, files = sys.argv[1], sys.argv[2:]
    import _common

    _common.instrument = lambda: __import__("contextlib").nullcontext()
    module = importlib.import_module(f"fuzz_{harness}")
    groups: dict = collections.defaultdict(list)
    for name in files:
        data = open(name, "rb").read()
        try:
            module.test_one_input(data)
        except Exception as exc:  # noqa: BLE001
            frames = traceback.extract_tb(exc.__traceback__)
            where = " <- ".join(f"{f.filename.split('/')[-1]}:{f.lineno}" for f in frames[::-1][:3])
            groups[(type(exc).__name__, str(exc)[:150], where)].append(name)
        else:
            groups[("no crash", "", "")].append(name)
    for (kind, text, where), names in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        smallest = min(names, key=lambda n: len(open(n, "rb").read()))
        print(f"{len(names):3d}  {kind}: {text}\n     at {where}\n     e.g. {smallest}")


if __name__ == "__main__":
    main()
