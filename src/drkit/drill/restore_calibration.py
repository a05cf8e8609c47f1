"""What the restore drill measures for `drkit validate`'s data estimate: the restore throughput (MiB/s of
fetch, verify and `snapshot restore`, every member at once, as the estimate counts it) and how long the
restored members took to answer healthy once started, both from the restore playbook's own task timings
(ansible-runner's job events), and the ballast that makes the database big enough for a throughput to mean
something (a fresh lab's is well under 1 MiB: fixed costs, not bytes, would be measured).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from drkit.sandbox import etcd_client
from drkit.sandbox.etcd_client import EtcdUnavailableError
from drkit.sandbox.lab import Lab

MIB = 1024**2
BALLAST_VALUE_BYTES = MIB  # etcd takes requests up to 1.5 MiB by default
# The restore playbook's tasks (playbooks/roles/drkit_restore) that move the snapshot's bytes: fetch and verify
# on every member, then move aside, restore with the new token and start; and the wait for health after it.
DATA_TASKS = (
    "Pick the snapshot and fetch it to",
    "Fetch and verify the same snapshot on every other member",
    "Move the data dir aside",
)
HEALTH_TASK = "Wait until every member is healthy"


def task_spans(events: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """Task name -> seconds from its first host's start to its last host's end (hosts run at once)."""
    starts: dict[str, datetime] = {}
    ends: dict[str, datetime] = {}
    for event in events:
        if event.get("event") not in ("runner_on_ok", "runner_on_changed"):
            continue
        data = event.get("event_data") or {}
        task, start, end = data.get("task"), data.get("start"), data.get("end")
        if not (task and start and end):
            continue
        try:
            began, ended = datetime.fromisoformat(start), datetime.fromisoformat(end)
        except (TypeError, ValueError):
            continue
        starts[task] = min(starts.get(task, began), began)
        ends[task] = max(ends.get(task, ended), ended)
    return {task: (ends[task] - starts[task]).total_seconds() for task in starts}


def read_events(artifacts: Path) -> list[dict[str, Any]]:
    """A playbook run's job events (none when the directory has none or they do not parse)."""
    events = []
    for path in sorted((artifacts / "job_events").glob("*.json")):
        try:
            events.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return events


def restore_constants(spans: Mapping[str, float], snapshot_bytes: int) -> dict[str, float]:
    """restoreMiBPerSecond, restoreDatabaseMiB and memberStartSeconds from the restore run's task spans
    (those whose tasks are missing are left out)."""
    constants: dict[str, float] = {}
    data = sum(seconds for task, seconds in spans.items() if task.startswith(DATA_TASKS))
    if data > 0 and snapshot_bytes > 0:
        constants["restoreMiBPerSecond"] = snapshot_bytes / MIB / data
        constants["restoreDatabaseMiB"] = snapshot_bytes / MIB
    health = [seconds for task, seconds in spans.items() if task.startswith(HEALTH_TASK)]
    if health:
        constants["memberStartSeconds"] = max(health)
    return constants


def ballast_keys(total_bytes: int) -> int:
    """How many 1 MiB values make at least `total_bytes`."""
    return max(1, -(-total_bytes // BALLAST_VALUE_BYTES))


def write_ballast(endpoint: str, prefix: str, total_bytes: int) -> int:
    """Write incompressible values (rsync compresses) under `prefix`; returns how many."""
    count = ballast_keys(total_bytes)
    for index in range(count):
        value = base64.b64encode(os.urandom(BALLAST_VALUE_BYTES * 3 // 4)).decode()
        etcd_client.put(endpoint, f"{prefix}{index:05d}", value, timeout=30)
    return count


def drop_ballast(lab: Lab, endpoint: str, prefix: str) -> None:
    """Delete the ballast from every region's cluster, then compact and defragment each, so the lab's databases
    are as small as before. Deleted in the standby too, not left to the mirror: the restore made the primary a
    new cluster, and a make-mirror that restarted on it syncs puts, never deletes."""
    etcd_client.delete_prefix(endpoint, prefix, timeout=30)
    for region in lab.plan.regions:
        if region.name in lab.network.unreachable():
            continue
        url = region.members[0].client_url
        etcd_client.delete_prefix(url, prefix, timeout=30)
        etcd_client.compact(url, etcd_client.status(url).revision, timeout=30)
        endpoints = f"--endpoints={region.client_endpoints}"
        defrag = [str(lab.binaries.etcdctl), endpoints, "--command-timeout=60s", "defrag"]
        result = subprocess.run(defrag, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            raise EtcdUnavailableError(f"defrag of {region.name} failed: {(result.stderr or result.stdout).strip()}")
