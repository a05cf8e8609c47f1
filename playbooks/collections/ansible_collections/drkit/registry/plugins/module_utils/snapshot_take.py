"""Take a snapshot and describe it: save, check with `snapshot status`, hash, count keys, write the manifest.

One module call on the member backed up from, where these were eight Ansible tasks. The order is the
safety: nothing is described, let alone shipped, until `snapshot status` has read the file; a file it
cannot read is kept beside the staging copy as `<id>.db.rejected` for inspection, never deleted.
Standard library only: this file ships to the hosts a module runs on.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ansible_collections.drkit.registry.plugins.module_utils.snapshots import (
    MANIFEST_SUFFIX,
    SNAPSHOT_SUFFIX,
    sha256_of,
)

Count = Callable[[str, int], int]  # (prefix, revision) -> keys under it at that revision ('' for all)


class SnapshotError(Exception):
    pass


def _run(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SnapshotError(f"{argv[0]} {' '.join(argv[1:3])} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return done.stdout


def take_snapshot(
    save_command: list[str],
    status_command: list[str],
    staging: Path,
    snapshot_id: str,
    describe: dict[str, Any],
    prefixes: list[str],
    count: Count,
    run: Callable[[list[str]], str] = _run,
) -> dict[str, Any]:
    """The manifest of a new snapshot in `staging` (written beside it). `save_command` ends before the file
    name, `status_command` too; `describe` holds what the manifest says about where it came from."""
    staging.mkdir(mode=0o700, parents=True, exist_ok=True)
    snapshot = staging / (snapshot_id + SNAPSHOT_SUFFIX)
    if not snapshot.exists():  # a re-run of the same ID keeps the file it saved
        run([*save_command, str(snapshot)])
    try:
        status = json.loads(run([*status_command, str(snapshot), "-w", "json"]))
        revision = int(status["revision"])
    except (SnapshotError, ValueError, KeyError, TypeError) as error:
        rejected = snapshot.with_name(snapshot.name + ".rejected")
        snapshot.replace(rejected)
        raise SnapshotError(
            f"the snapshot failed `snapshot status` ({error}); nothing was shipped. It is kept as {rejected}."
        ) from None
    manifest = {
        "format": "drkit.snapshot/v1",
        "written_by": "drkit",
        "id": snapshot_id,
        "file": snapshot.name,
        **describe,
        "revision": revision,
        "key_count": count("", revision),
        "ephemeral_key_counts": {prefix: count(prefix, revision) for prefix in prefixes},
        "snapshot_hash": int(status["hash"]),
        "snapshot_total_keys": int(status["totalKey"]),
        "sha256": sha256_of(str(snapshot)),
        "size": snapshot.stat().st_size,
        "finished_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    manifest_file = staging / (snapshot_id + MANIFEST_SUFFIX)
    partial = manifest_file.with_name(manifest_file.name + ".partial")
    partial.write_text(json.dumps(manifest, indent=4, sort_keys=True) + "\n", "utf-8")
    partial.chmod(0o600)
    partial.replace(manifest_file)
    return manifest
