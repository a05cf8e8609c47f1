"""The lab's inventory and the cloud's (from a stack's outputs) write exactly the contract's variables, and the
validate role checks what the contract requires: the three can no longer drift apart."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from drkit.operate import inventory_contract as contract
from drkit.policy.catalog import PolicySet
from drkit.sandbox.inventory import inventory as lab_inventory
from drkit.sandbox.paths import LabPaths
from drkit.sandbox.plan import plan_lab
from tests.conftest import ROOT
from tests.sandbox.conftest import local_spec


def names(*kinds: type[Any]) -> set[str]:
    return {field.name for kind in kinds for field in dataclasses.fields(kind)}


STACK = names(contract.StackVars, contract.BackupScheduleVars)


@pytest.fixture(scope="module")
def cloud_inventory() -> dict[str, Any]:
    """prod's `inventory` output, from its Pulumi program under mocks."""
    from drkit.provision import gate, offline

    report = gate.validate_stack(gate.stack_path(ROOT, "prod"), ROOT / "policies", date(2026, 11, 22))
    assert report.spec is not None
    document: dict[str, Any] = offline.run_offline(report.spec, "prod").outputs["inventory"]
    return document


@pytest.fixture
def lab_document(policies: PolicySet, tmp_path: Path) -> dict[str, Any]:
    return lab_inventory(plan_lab("local", local_spec(policies), 30000), LabPaths(tmp_path))


def drkit_vars(host: dict[str, Any]) -> set[str]:
    return {name for name in host if name.startswith("drkit_")}


def check(document: dict[str, Any]) -> None:
    everything = document["all"]
    global_vars = drkit_vars(everything["vars"])
    assert global_vars <= STACK, f"not in the contract: {global_vars - STACK}"
    assert set(contract.required(contract.StackVars)) <= global_vars
    regions = everything["children"]["registry"]["children"]
    members = [host for region in regions.values() for host in region["hosts"].values()]
    assert members
    for host in members:
        assert drkit_vars(host) <= names(contract.MemberVars), drkit_vars(host) - names(contract.MemberVars)
        assert set(contract.required(contract.MemberVars)) <= drkit_vars(host)
    targets = everything["children"]["backup_targets"]["hosts"]
    assert targets
    for name, host in targets.items():
        kind = contract.TARGET_TYPES[host.get("drkit_backup_type", "rsync")]
        assert drkit_vars(host) <= names(kind), f"{name}: {drkit_vars(host) - names(kind)}"
        assert set(contract.required(kind)) <= drkit_vars(host), name
    for host in everything["children"].get("endpoint", {}).get("hosts", {}).values():
        assert drkit_vars(host) <= names(contract.EndpointVars)
    for host in everything["children"].get("mirrors", {}).get("hosts", {}).values():
        assert drkit_vars(host) <= names(contract.MirrorVars)


def test_the_labs_inventory_writes_the_contract(lab_document: dict[str, Any]) -> None:
    check(lab_document)
    targets = lab_document["all"]["children"]["backup_targets"]["hosts"]
    assert {host["drkit_backup_type"] for host in targets.values()} == {"rsync", "s3"}


def test_the_clouds_inventory_writes_the_same_contract(cloud_inventory: dict[str, Any]) -> None:
    check(cloud_inventory)
    # The cloud's members reach S3 with their instance role: no keys in the inventory.
    for host in cloud_inventory["all"]["children"]["backup_targets"]["hosts"].values():
        assert "drkit_s3_access_key" not in host and "drkit_s3_secret_key" not in host


def test_the_validate_role_checks_what_the_contract_requires() -> None:
    defaults = yaml.safe_load((ROOT / contract.VALIDATE_DEFAULTS).read_text(encoding="utf-8"))
    assert defaults["drkit_validate_inventory_member_vars"] == ["drkit_stack", *contract.required(contract.MemberVars)]
    assert defaults["drkit_validate_inventory_target_vars"] == {
        "rsync": ["drkit_rsync_url", "drkit_backup_dir"],
        "s3": ["drkit_s3_bucket", "drkit_s3_region"],
    }
