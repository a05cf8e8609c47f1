"""`drkit sandbox status` as tables for a terminal."""

from __future__ import annotations

import time
from typing import Any

from drkit.spec.units import format_size


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return [
        "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def _size(value: int | None) -> str:
    if value is None:
        return "-"
    return format_size(value)


def render_status(report: dict[str, Any]) -> str:
    lines = [f"lab {report['stack']}  ({report['stateDir']})  supervisord {report['supervisord']}"]
    failover = report.get("failover")
    if failover:
        fenced = ", ".join(failover["fenced"]) or "none"
        mirrors = ", ".join(failover["mirrors"]) or "none"
        lines.append(f"primary {failover['primary']}, epoch {failover['epoch']}; fenced: {fenced}; mirrors: {mirrors}")
    for region in report["regions"]:
        lines.append(f"region {region['name']} ({region['role']})")
        rows = [["member", "az", "version", "leader", "raft index", "db size", "health", "process"]]
        for member in region["members"]:
            rows.append(
                [
                    member["name"],
                    member["az"],
                    member["version"] or "-",
                    "*" if member["leader"] else "",
                    "-" if member["raftIndex"] is None else str(member["raftIndex"]),
                    _size(member["dbSize"]),
                    "healthy" if member["healthy"] else "UNHEALTHY",
                    f"{member['process']}" + (f" pid {member['pid']}" if member["pid"] else ""),
                ]
            )
        lines.extend(_table(rows))
    for mirror in report["mirrors"]:
        lag = (
            "not arriving"
            if mirror["lagSeconds"] is None
            else (f"{mirror['lagSeconds']:.3f}s, {mirror['lagRevisions']} revisions behind")
        )
        lines.append(f"mirror -> {mirror['standby']}: {mirror['process']}, lag {lag}")
    endpoint = report["endpoint"]
    serving = ", ".join(endpoint["servingRegions"]) or "no region"
    lines.append(
        f"endpoint {endpoint['url']}: {'answers' if endpoint['answers'] else 'DOES NOT ANSWER'}, serving {serving}"
    )
    for target in report.get("backupTargets") or [{"name": "lab-rsync", "type": "rsync", **report["backupTarget"]}]:
        where = f"{target['endpoint']} bucket {target['bucket']}" if target["type"] == "s3" else target["url"]
        state = "reachable" if target["reachable"] else "UNREACHABLE"
        lines.append(f"backup target {target['name']} ({target['type']}) {where}: {state}")
    lines.append(_network_line(report.get("network") or {"mode": "loopback"}))
    lines.extend(_guards_lines(report.get("guards") or {"enabled": False}))
    return "\n".join(lines)


def _guards_lines(guards: dict[str, Any]) -> list[str]:
    if not guards.get("enabled"):
        return ["automatic promotion: off (`drkit sandbox guards start`)"]
    state = "paused (no promotion)" if guards.get("paused") else "on"
    holder = guards.get("holderRegion")
    ttl = guards.get("ttlLeft")
    key = f"held by {holder} ({ttl}s left)" if holder else "not held"
    lines = [f"automatic promotion: {state}; witness {guards['witness']}: key {key}; epoch {guards.get('epoch')}"]
    for region, decision in (guards.get("decisions") or {}).items():
        process = (guards.get("running") or {}).get(region, "?")
        if decision is None:
            lines.append(f"  guard {region} {process}: no decision yet")
            continue
        at = time.strftime("%H:%M:%S", time.localtime(float(decision["at"])))
        lines.append(f"  guard {region} {process}: {decision['decision']} (at {at})")
    return lines


def _network_line(network: dict[str, Any]) -> str:
    if network["mode"] != "namespaces":
        return f"network {network['mode']}: every member on 127.0.0.1 (no partitions or fences)"
    partitioned = ", ".join(network["partitioned"]) or "none"
    fenced = ", ".join(network["fenced"]) or "none"
    return f"network namespaces: partitioned {partitioned}; client port fenced {fenced}"
