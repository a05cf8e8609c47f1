"""The known etcd release lines (policies/data/etcd-releases.yaml) and what a version's status is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from drkit.operate.collection import make_importable

make_importable()
from ansible_collections.drkit.registry.plugins.module_utils.upgrade_rules import release_status  # noqa: E402

VersionStatus = Literal["safe", "unsafe", "unknown"]


@dataclass(frozen=True)
class EtcdReleases:
    # Release line ("3.5") -> its entry as the file has it (latest, safeFrom, why; checked by its schema at
    # load): the form drkit.registry's upgrade_rules reads, so validate and the upgrade playbook judge alike.
    lines: Mapping[str, Mapping[str, Any]]

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> EtcdReleases:
        return cls(dict(data["lines"]))

    def status(self, version: str) -> tuple[VersionStatus, str]:
        """Whether a major.minor.patch version is safe, unsafe (known bugs) or unknown, and why."""
        status, why = release_status(self.lines, version)
        return cast(VersionStatus, status), why
