"""The `--check` report: findings grouped by flow, each flow with its verdict, and the count of errors.

Every string from the capture is escaped (textsafe.escape): the report goes to terminals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..analysis.verdict import verdict
from ..findings import capture_note_kind
from ..textsafe import escape

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


class CheckSink:
    """A pipeline sink that keeps nothing: the sessions hold their warnings and verdicts."""

    def flow_started(self, session: Any) -> None:
        pass

    def message(self, session: Any, record: Any) -> None:
        pass

    def warning(self, session: Any, record: Any) -> None:
        pass

    def flow_finished(self, session: Any) -> None:
        pass


def check_report(path: str, sessions: list[Any], capture_warnings: Sequence[str] = ()) -> tuple[str, int]:
    """The text `--check` prints for one capture (every capture string escaped) and its error count."""
    counts = dict.fromkeys(SEVERITY_ORDER, 0)
    parts = [check_head(path, capture_warnings)]
    for session in sessions:
        text, found = check_flow(session)
        parts.append(text)
        for severity, n in found.items():
            counts[severity] += n
    parts.append(check_tail(len(sessions), counts))
    return "".join(parts), counts["error"]


def check_head(path: str, capture_warnings: Sequence[str] = ()) -> str:
    lines = [f"{escape(path)}:"]
    for warning in capture_warnings:
        code, severity = capture_note_kind(str(warning))
        lines.append(f"  capture: {severity} {code}: {escape(str(warning))}")
    return "\n".join(lines) + "\n"


def check_flow(session: Any) -> tuple[str, dict[str, int]]:
    """One flow's part of the report, and its findings counted by severity."""
    lines = [f"flow #{session.id} {escape(session.client)} -> {escape(session.server)}: {escape(verdict(session))}"]
    counts = dict.fromkeys(SEVERITY_ORDER, 0)
    findings = sorted(session.warnings, key=lambda w: (w.frame is None, w.frame or 0,
                                                        SEVERITY_ORDER.get(w.severity, 3)))
    for finding in findings:
        if finding.severity in counts:
            counts[finding.severity] += 1
        frame = f"frame {finding.frame}" if finding.frame is not None else "end"
        direction = f" {finding.dir}" if finding.dir else ""
        lines.append(f"  {finding.severity:<7} {frame:<12} {finding.code}{direction}: {escape(finding.message)}")
    if not findings:
        lines.append("  no findings")
    return "\n".join(lines) + "\n", counts


def check_json(path: str, sessions: list[Any], capture_warnings: Sequence[str] = ()) -> tuple[dict[str, Any], int]:
    """`--check --format json`: one capture's part of the document (its notes, and per flow the verdict and
    the findings in the report's order) and its error count."""
    counts = dict.fromkeys(SEVERITY_ORDER, 0)
    flows = []
    for session in sessions:
        findings = sorted(session.warnings, key=lambda w: (w.frame is None, w.frame or 0,
                                                            SEVERITY_ORDER.get(w.severity, 3)))
        flow_counts = dict.fromkeys(SEVERITY_ORDER, 0)
        for finding in findings:
            if finding.severity in flow_counts:
                flow_counts[finding.severity] += 1
                counts[finding.severity] += 1
        flows.append({"id": session.id, "client": session.client, "server": session.server,
                      "verdict": verdict(session), "counts": flow_counts,
                      "findings": [{"code": f.code, "severity": f.severity, "frame": f.frame, "dir": f.dir,
                                    "message": f.message} for f in findings]})
    notes = []
    for warning in capture_warnings:
        code, severity = capture_note_kind(str(warning))
        notes.append({"code": code, "severity": str(severity), "message": str(warning)})
    return {"capture": path, "notes": notes, "flows": flows, "counts": counts}, counts["error"]


def check_tail(flows: int, counts: dict[str, int]) -> str:
    return (f"{flows} RTMP flow(s): {counts['error']} error(s), {counts['warning']} warning(s), "
            f"{counts['info']} info\n")
