"""The known etcd release lines (policies/data/etcd-releases.yaml) and what a version's status is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

VersionStatus = Literal["safe", "unsafe", "unknown"]


@dataclass(frozen=True)
class ReleaseLine:
    minor: str
    latest: int
    safe_from: int
    why: str


@dataclass(frozen=True)
class EtcdReleases:
    lines: dict[str, ReleaseLine]

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> EtcdReleases:
        return cls(
            {
                minor: ReleaseLine(minor, line["latest"], line["safeFrom"], line["why"])
                for minor, line in data["lines"].items()
            }
        )

    def status(self, version: str) -> tuple[VersionStatus, str]:
        """Whether a major.minor.patch version is safe, unsafe (known bugs) or unknown, and why."""
        major, minor, patch = version.split(".")
        line = self.lines.get(f"{int(major)}.{int(minor)}")
        if line is None:
            known = ", ".join(sorted(self.lines, key=lambda minor: tuple(int(part) for part in minor.split("."))))
            return "unknown", f"etcd {version} is not a release line drkit knows ({known})"
        if int(patch) > line.latest:
            return (
                "unknown",
                f"etcd {version} is newer than the newest {line.minor} release drkit knows"
                f" ({line.minor}.{line.latest})",
            )
        if int(patch) < line.safe_from:
            return "unsafe", f"etcd {version}: {line.why}"
        return "safe", f"etcd {version} is at or above {line.minor}.{line.safe_from}"
