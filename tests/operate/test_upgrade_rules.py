"""The upgrade's refusals, one table: release status (DR101), paths, mixed versions, authentication."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible_collections.drkit.registry.plugins.module_utils.upgrade_rules import (
    path_refusal,
    release_status,
    source_version,
    upgrade_refusals,
)

ROOT = Path(__file__).resolve().parents[2]
LINES = yaml.safe_load((ROOT / "policies" / "data" / "etcd-releases.yaml").read_text())["lines"]


def members(*versions: str) -> list[dict[str, str]]:
    return [{"url": f"http://127.0.0.1:{2379 + i}", "version": v} for i, v in enumerate(versions)]


@pytest.mark.parametrize(
    ("version", "status", "why"),
    [
        ("3.4.23", "safe", "at or above 3.4.22"),
        ("3.4.21", "unsafe", "3.4 below 3.4.22 has known data-inconsistency bugs"),
        ("3.5.2", "unsafe", "diverging data after a crash"),
        ("3.5.6", "safe", "at or above 3.5.6"),
        ("3.4.99", "unknown", "newer than the newest 3.4 release drkit knows (3.4.41)"),
        ("3.7.0", "unknown", "not a release line drkit knows (3.4, 3.5, 3.6)"),
    ],
)
def test_release_status(version: str, status: str, why: str) -> None:
    got, reason = release_status(LINES, version)
    assert got == status and why in reason


@pytest.mark.parametrize(
    ("source", "target", "refusal"),
    [
        ("3.4.23", "3.5.17", None),
        ("3.4.23", "3.4.24", None),
        ("3.4.23", "3.4.23", None),  # a restart
        ("3.4.23", "3.6.0", "upgrade one minor version at a time: first to the newest 3.5.x"),
        ("3.5.17", "3.4.23", "no rolling downgrade across minor versions"),
        ("3.5.17", "4.0.0", "a major version change needs a new cluster"),
        ("3.5.17", "3.5.6", None),  # a patch downgrade within a line is a rolling path
    ],
)
def test_paths(source: str, target: str, refusal: str | None) -> None:
    got = path_refusal(source, target)
    assert (got is None) if refusal is None else (got is not None and refusal in got)


def test_the_source_is_what_members_run_that_is_not_the_target() -> None:
    assert source_version(["3.4.23", "3.5.17"], "3.5.17") == "3.4.23"
    assert source_version(["3.5.17"], "3.5.17") == "3.5.17"


def test_a_safe_minor_upgrade_is_not_refused() -> None:
    assert upgrade_refusals("lab-east", members("3.4.23", "3.4.23", "3.4.23"), "3.5.17", False, LINES) == []


def test_members_on_two_versions_neither_the_target_refuse_first_and_alone() -> None:
    refusals = upgrade_refusals("lab-east", members("3.4.22", "3.4.23", "3.4.23"), "3.6.0", True, LINES)
    assert len(refusals) == 1
    assert "members run different versions (http://127.0.0.1:2379 runs 3.4.22" in refusals[0]


def test_an_interrupted_upgrade_toward_the_target_may_continue() -> None:
    assert upgrade_refusals("lab-east", members("3.4.23", "3.5.17", "3.5.17"), "3.5.17", False, LINES) == []


def test_authentication_blocks_3_4_to_3_5_only() -> None:
    blocked = upgrade_refusals("lab-east", members("3.4.23"), "3.5.17", True, LINES)
    assert len(blocked) == 1 and "authentication is enabled on the lab-east cluster" in blocked[0]
    assert upgrade_refusals("lab-east", members("3.5.6"), "3.5.17", True, LINES) == []


def test_an_unsafe_target_needs_a_reason_and_names_the_fix() -> None:
    refusals = upgrade_refusals("lab-east", members("3.4.23"), "3.5.2", False, LINES, releases_file="r.yaml")
    assert len(refusals) == 1
    assert refusals[0].startswith("etcd 3.5.2 is unsafe: 3.5.0-3.5.2 can leave members")
    assert "(policy DR101, r.yaml). Pick 3.5.6 or later, or waive DR101" in refusals[0]
    assert upgrade_refusals("lab-east", members("3.4.23"), "3.5.2", False, LINES, unsafe_reason="waived: test") == []


def test_an_unknown_target_is_refused_too_but_a_restart_never() -> None:
    assert "not a release line drkit knows" in upgrade_refusals("e", members("3.6.16"), "3.7.0", False, LINES)[-1]
    assert upgrade_refusals("e", members("3.4.21"), "3.4.21", False, LINES) == []  # restart on what runs
