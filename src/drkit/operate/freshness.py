"""How fresh each backup target's newest verified snapshot is, and where every snapshot has copies: what
`drkit backups check` and `drkit backups list` compute from the catalogs backups-list.yml hands over.

Plain functions over the catalog's plain data (one entry per target: type, snapshots, error, replica).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from drkit.spec.units import format_duration

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)


def verifies(entry: dict[str, Any]) -> bool:
    """A copy that verifies: S3's named version with the manifest's size and sha256; rsync's file complete."""
    return bool(entry.get("verifies", entry.get("complete")))


@dataclass(frozen=True)
class Freshness:
    target: str
    newest: str | None  # snapshot ID
    age_seconds: float | None
    max_age_seconds: float
    error: str | None = None

    @property
    def fresh(self) -> bool:
        return self.error is None and self.age_seconds is not None and self.age_seconds <= self.max_age_seconds

    def line(self) -> str:
        limit = format_duration(self.max_age_seconds)
        if self.error:
            return f"{self.target}: UNREADABLE: {self.error}"
        if self.newest is None or self.age_seconds is None:
            return f"{self.target}: STALE: no verified snapshot (max age {limit})"
        verdict = "ok" if self.fresh else "STALE"
        return (
            f"{self.target}: {verdict}: newest verified {self.newest}, {format_duration(self.age_seconds)} old"
            f" (max age {limit})"
        )


def freshness(catalog: dict[str, Any], now: datetime, max_age_seconds: float) -> list[Freshness]:
    """Per target, in name order: its newest verified snapshot's age against max_age."""
    rows = []
    for target in sorted(catalog):
        entry = catalog[target]
        good = [s for s in entry.get("snapshots") or [] if verifies(s)]
        newest = max(good, key=lambda s: (s["started_at"], s["id"]), default=None)
        age = (now - parse_time(newest["started_at"])).total_seconds() if newest else None
        rows.append(
            Freshness(target, newest["id"] if newest else None, age, max_age_seconds, entry.get("error") or None)
        )
    return rows


@dataclass
class Copy:
    where: str  # "lab-rsync", "lab-s3", "lab-s3 replica drkit-...-us-west-2"
    verifies: bool
    detail: str


def copies(catalog: dict[str, Any]) -> dict[str, tuple[dict[str, Any], list[Copy]]]:
    """Snapshot ID -> (its summary, every copy of it at every target and replica bucket)."""
    result: dict[str, tuple[dict[str, Any], list[Copy]]] = {}
    for target in sorted(catalog):
        entry = catalog[target]
        for snapshot in entry.get("snapshots") or []:
            _, found = result.setdefault(snapshot["id"], (snapshot, []))
            found.append(Copy(target, verifies(snapshot), _detail(entry, snapshot)))
        replica = {s["id"]: s for s in entry.get("replica") or []}
        if entry.get("replica_bucket"):
            for snapshot in entry.get("snapshots") or []:
                status = snapshot.get("replication_status") or "none"
                held = replica.get(snapshot["id"])
                detail = f"ReplicationStatus {status}" + ("" if held else ", not in the replica bucket")
                if entry.get("replica_error"):
                    detail = f"replica unreadable: {entry['replica_error']}"
                where = f"{target} replica {entry['replica_bucket']}"
                result[snapshot["id"]][1].append(Copy(where, bool(held and verifies(held)), detail))
    return dict(sorted(result.items(), key=lambda item: (item[1][0]["started_at"], item[0]), reverse=True))


def _detail(entry: dict[str, Any], snapshot: dict[str, Any]) -> str:
    if entry.get("type") != "s3":
        return "complete" if snapshot.get("complete") else "INCOMPLETE (missing or short)"
    if snapshot.get("problem"):
        return str(snapshot["problem"])
    parts = [f"{snapshot.get('class')}/", f"version {snapshot.get('version_id')}"]
    if snapshot.get("retain_until"):
        parts.append(f"locked until {snapshot['retain_until']}")
    return ", ".join(parts)
