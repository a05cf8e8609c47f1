"""The known etcd release lines (policies/data/etcd-releases.yaml) and what a version's status is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

from drkit.operate.collection import make_importable

make_importable()
from ansible_collections.drkit.registry.plugins.module_utils.upgrade_rules import release_status  # noqa: E402

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
        """Whether a major.minor.patch version is safe, unsafe (known bugs) or unknown, and why: the upgrade
        playbook's own function (drkit.registry's upgrade_rules), so validate and the playbook agree."""
        lines = {
            minor: {"latest": line.latest, "safeFrom": line.safe_from, "why": line.why}
            for minor, line in self.lines.items()
        }
        status, why = release_status(lines, version)
        return cast(VersionStatus, status), why
