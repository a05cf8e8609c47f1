"""What a rolling upgrade may do, as pure functions: the release table (DR101) and etcd's upgrade paths.

One copy for both sides: `drkit validate` and `drkit upgrade` judge versions with release_status (through
drkit.policy.releases), and the upgrade playbook's preflight asks upgrade_refusals (through the
drkit.registry.upgrade_refusals filter, on the controller: no round trip). Each refusal says what is wrong
and how to get through; the playbook adds that nothing was changed.
Standard library only: module_utils may ship to the hosts a module runs on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# A release line as policies/data/etcd-releases.yaml has it: latest (newest patch known), safeFrom (first
# patch without known data-inconsistency bugs), why (what is wrong below safeFrom).
Lines = Mapping[str, Mapping[str, Any]]


def parse_version(version: str) -> tuple[int, int, int]:
    major, minor, patch = (int(part) for part in version.split("."))
    return major, minor, patch


def release_status(lines: Lines, version: str) -> tuple[str, str]:
    """("safe" | "unsafe" | "unknown", why) for a major.minor.patch version."""
    major, minor, patch = parse_version(version)
    line_name = f"{major}.{minor}"
    line = lines.get(line_name)
    if line is None:
        known = ", ".join(sorted(lines, key=lambda name: tuple(int(part) for part in name.split("."))))
        return "unknown", f"etcd {version} is not a release line drkit knows ({known})"
    if patch > int(line["latest"]):
        return (
            "unknown",
            f"etcd {version} is newer than the newest {line_name} release drkit knows ({line_name}.{line['latest']})",
        )
    if patch < int(line["safeFrom"]):
        return "unsafe", f"etcd {version}: {line['why']}"
    return "safe", f"etcd {version} is at or above {line_name}.{line['safeFrom']}"


def source_version(running: Sequence[str], target: str) -> str:
    """The version an upgrade starts from: what members run that is not the target (the target when all do)."""
    others = [version for version in running if version != target]
    return others[0] if others else target


def mixed_refusal(region: str, members: Sequence[Mapping[str, str]], target: str) -> str | None:
    """Members may run two versions only while an upgrade to one of them is under way."""
    running = {member["version"] for member in members}
    if len(running - {target}) <= 1:
        return None
    listing = ", ".join(f"{member['url']} runs {member['version']}" for member in members)
    return (
        f"the {region} cluster's members run different versions ({listing}), none of them being {target}."
        " An upgrade may only continue toward the version some members already run: finish the interrupted"
        " one with that version, or restore the pre-upgrade backup."
    )


def path_refusal(source: str, target: str) -> str | None:
    """etcd upgrades one minor version at a time within a major version, and never rolls back a minor."""
    (source_major, source_minor, _), (target_major, target_minor, _) = parse_version(source), parse_version(target)
    lead = f"etcd {source} to {target} is not a supported rolling path:"
    if target_major != source_major:
        return f"{lead} a major version change needs a new cluster restored from a snapshot."
    if target_minor < source_minor:
        return (
            f"{lead} etcd has no rolling downgrade across minor versions ({source} members may already have"
            f" written {source_major}.{source_minor} data); to go back, restore the backup taken before the"
            " upgrade (drkit restore --snapshot <id> --yes)."
        )
    if target_minor > source_minor + 1:
        return (
            f"{lead} upgrade one minor version at a time: first to the newest"
            f" {source_major}.{source_minor + 1}.x, then on."
        )
    return None


def auth_refusal(region: str, auth_enabled: bool, source: str, target: str) -> str | None:
    """3.4 -> 3.5 with authentication enabled is not supported by etcd (mixed members disagree on auth)."""
    if not (auth_enabled and parse_version(source) < (3, 5, 0) <= parse_version(target)):
        return None
    return (
        f"authentication is enabled on the {region} cluster, and a rolling upgrade from 3.4 to 3.5 with"
        " authentication enabled is not supported by etcd (mixed 3.4/3.5 members disagree on auth revisions)."
        " Disable authentication for the upgrade (etcdctl auth disable, then enable it again after), or build a"
        " 3.5 cluster and restore a snapshot into it."
    )


def release_refusal(lines: Lines, source: str, target: str, unsafe_reason: str, releases_file: str) -> str | None:
    """DR101 on the target: a release with known data-inconsistency bugs, or one drkit does not know, needs
    the reason a waiver gives. Staying on the running version (a restart) is never refused here."""
    if target == source or unsafe_reason:
        return None
    status, why = release_status(lines, target)
    if status == "safe":
        return None
    major, minor, _ = parse_version(target)
    line_name = f"{major}.{minor}"
    line = lines.get(line_name, {})
    described = f"etcd {target} is unsafe: {line['why']}" if status == "unsafe" else why
    safe_from = line.get("safeFrom", "x")
    return (
        f"{described} (policy DR101, {releases_file}). Pick {line_name}.{safe_from} or later, or waive DR101 in"
        " the stack with a reason (`drkit upgrade` passes it on; with ansible-playbook set"
        " drkit_upgrade_unsafe_release_reason)."
    )


def upgrade_refusals(
    region: str,
    members: Sequence[Mapping[str, str]],
    target: str,
    auth_enabled: bool,
    lines: Lines,
    unsafe_reason: str = "",
    releases_file: str = "policies/data/etcd-releases.yaml",
) -> list[str]:
    """Every reason to refuse this upgrade before anything changes, in the order a person would fix them."""
    mixed = mixed_refusal(region, members, target)
    if mixed:
        return [mixed]  # the rest would judge a source version that is not one
    source = source_version([member["version"] for member in members], target)
    refusals = [
        path_refusal(source, target),
        auth_refusal(region, auth_enabled, source, target),
        release_refusal(lines, source, target, unsafe_reason, releases_file),
    ]
    return [refusal for refusal in refusals if refusal]
