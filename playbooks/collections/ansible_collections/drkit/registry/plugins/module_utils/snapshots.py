"""drkit's snapshot manifests, and the catalog of a backup directory built from them.

Every snapshot `<id>.db` has a manifest `<id>.json` beside it, written only after the copy was verified at
that target. A manifest is drkit's when it carries FORMAT and `written_by: drkit`; drkit never deletes a
file that no such manifest names. Standard library only: this file ships to the hosts a module runs on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

FORMAT = "drkit.snapshot/v1"
SNAPSHOT_SUFFIX = ".db"
MANIFEST_SUFFIX = ".json"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=timezone.utc)


def format_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime(TIME_FORMAT)


def is_drkit_manifest(manifest: Any, stack: str | None = None, region: str | None = None) -> bool:
    """A manifest drkit wrote (for that stack and region's cluster, when given)."""
    if not isinstance(manifest, dict):
        return False
    if manifest.get("format") != FORMAT or manifest.get("written_by") != "drkit":
        return False
    if not isinstance(manifest.get("id"), str) or not isinstance(manifest.get("started_at"), str):
        return False
    return (stack is None or manifest.get("stack") == stack) and (region is None or manifest.get("region") == region)


def sha256_of(path: str, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Snapshot:
    """One entry of a backup directory: a drkit manifest and what is actually on disk beside it."""

    id: str
    manifest: dict[str, Any]
    snapshot_size: int | None  # None: the .db file is missing

    @property
    def created(self) -> datetime:
        return parse_time(self.manifest["started_at"])

    @property
    def complete(self) -> bool:
        """The snapshot file is there with the size the manifest records (a cheap check; restore
        re-verifies the sha256 before using it)."""
        return self.snapshot_size is not None and self.snapshot_size == self.manifest.get("size")

    def summary(self) -> dict[str, Any]:
        keys = (
            "stack",
            "region",
            "started_at",
            "revision",
            "key_count",
            "size",
            "sha256",
            "source_member",
            "etcd_version",
        )
        return {"id": self.id, "complete": self.complete, **{key: self.manifest.get(key) for key in keys}}


@dataclass(frozen=True)
class Catalog:
    snapshots: list[Snapshot]  # newest first
    unmanaged: list[str]  # files in the directory no drkit manifest names: never touched

    def newest_complete(self) -> Snapshot | None:
        return next((snapshot for snapshot in self.snapshots if snapshot.complete), None)


def read_catalog(directory: str, stack: str, region: str | None = None) -> Catalog:
    """The snapshots of the stack (and region's cluster) in `directory`, newest first. Anything else, other
    clusters' snapshots included, is listed as unmanaged so nothing acts on it."""
    try:
        names = sorted(path.name for path in Path(directory).iterdir())
    except FileNotFoundError:
        return Catalog([], [])
    snapshots: list[Snapshot] = []
    claimed: set[str] = set()
    for name in names:
        if not name.endswith(MANIFEST_SUFFIX):
            continue
        try:
            manifest = json.loads((Path(directory) / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not is_drkit_manifest(manifest, stack, region) or manifest["id"] + MANIFEST_SUFFIX != name:
            continue
        snapshot_path = Path(directory) / (manifest["id"] + SNAPSHOT_SUFFIX)
        size = snapshot_path.stat().st_size if snapshot_path.is_file() else None
        snapshots.append(Snapshot(manifest["id"], manifest, size))
        claimed.update({name, manifest["id"] + SNAPSHOT_SUFFIX})
    snapshots.sort(key=lambda snapshot: (snapshot.created, snapshot.id), reverse=True)
    unmanaged = [name for name in names if name not in claimed and not name.startswith(".")]
    return Catalog(snapshots, unmanaged)
