"""The lab's etcd releases and which one each member runs.

Every installed etcd version gets a directory releases/<version>/ of links to its binaries, and every member
runs its etcd through bin/<member> -> ../releases/<version>. The link is the truth about what a member
runs: the rolling-upgrade playbook re-points it and restarts the member, and `up` never re-points an
existing link (that would be an unsafe, all-at-once upgrade).
"""

from __future__ import annotations

from pathlib import Path

from drkit.sandbox.binaries import installed_releases
from drkit.sandbox.paths import LabPaths
from drkit.sandbox.plan import LabPlan


def _link(target: Path | str, link: Path) -> None:
    """Point `link` at `target`, replacing an older link atomically (rename over it)."""
    if link.is_symlink() and str(link.readlink()) == str(target):
        return
    temporary = link.with_name(f".{link.name}.new")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(target)
    temporary.replace(link)


def link_releases(paths: LabPaths) -> list[str]:
    """(Re)write releases/<version>/ for every installed etcd; returns the versions."""
    versions = []
    for release in installed_releases():
        directory = paths.release(release.version)
        directory.mkdir(parents=True, exist_ok=True)
        for tool in (release.etcd, release.etcdctl, release.etcdutl):
            if tool is not None:
                _link(tool, directory / tool.name)
        versions.append(release.version)
    return versions


def relink_member(paths: LabPaths, member: str, version: str) -> None:
    """Point a member's link at `version` (it runs that after its next start), as the upgrade playbook does."""
    link = paths.member_bin(member)
    link.parent.mkdir(parents=True, exist_ok=True)
    _link(Path("..") / paths.releases.name / version, link)


def link_members(plan: LabPlan, paths: LabPaths) -> None:
    """Give every member without a binary link one to the plan's version; existing links are kept."""
    for member in plan.members:
        if not paths.member_bin(member.name).is_symlink():
            relink_member(paths, member.name, plan.version)


def member_version(paths: LabPaths, member: str) -> str | None:
    """The release a member's link points at (what it runs after its next start), None without a link."""
    link = paths.member_bin(member)
    return link.readlink().name if link.is_symlink() else None
