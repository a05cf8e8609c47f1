"""Filters of the drkit.registry collection for the upgrade playbook: where it starts and its refusals, judged
on the controller."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible_collections.drkit.registry.plugins.module_utils.upgrade_rules import source_version, upgrade_refusals


def refusals(
    members: list[dict[str, str]],
    region: str,
    target: str,
    auth_enabled: bool,
    releases: dict[str, Any],
    unsafe_reason: str = "",
    releases_file: str = "policies/data/etcd-releases.yaml",
) -> list[str]:
    """`members | drkit.registry.upgrade_refusals(region, target, ...)`: why the upgrade must not start
    (empty when it may). `releases` is policies/data/etcd-releases.yaml as read (its `lines`)."""
    return upgrade_refusals(
        region, members, str(target), bool(auth_enabled), releases["lines"], unsafe_reason or "", releases_file
    )


def source(running: list[str], target: str) -> str:
    """`versions | drkit.registry.upgrade_source(target)`: the version the upgrade starts from, as the
    refusals judge it."""
    return source_version(running, str(target))


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"upgrade_refusals": refusals, "upgrade_source": source}
