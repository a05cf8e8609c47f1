"""What `pulumi up` runs (drkit.provision.entry) under Pulumi mocks, and the gate's message."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import pulumi
import pytest
from click.testing import CliRunner

from drkit.cli import main as drkit
from drkit.provision import entry, gate, offline
from tests.conftest import ROOT, committed_spec, write_stack


def run_entry(stack: str, spec: dict[str, Any], config: dict[str, Any] | None = None) -> offline.Plan:
    def program() -> dict[str, Any]:
        pulumi.runtime.set_config("drkit:spec", json.dumps(spec))
        entry.main()
        return {}

    previous = Path.cwd()
    os.chdir(ROOT)
    try:
        return offline.record(program, stack, config)
    finally:
        os.chdir(previous)


def test_pulumi_up_of_prod_builds_the_stack() -> None:
    plan = run_entry("prod", committed_spec("prod"))
    assert len([r for r in plan.of_type("aws:ec2/instance:Instance") if r.tags.get("drkit:role") == "member"]) == 10


def test_pulumi_up_of_the_mixed_stack_builds_both_clouds() -> None:
    plan = run_entry("hybrid", committed_spec("hybrid"), {"gcp:project": "drkit-hybrid-example"})
    members = {
        kind: len([r for r in plan.of_type(kind) if r.tags.get("drkit:role") == "member"])
        for kind in ("aws:ec2/instance:Instance", "gcp:compute/instance:Instance")
    }
    assert members == {"aws:ec2/instance:Instance": 3, "gcp:compute/instance:Instance": 3}
    providers = sorted({r.name for r in plan.resources if r.type.startswith("pulumi:providers:")})
    assert "gcp-us-central1" in providers and "aws-us-east-1" in providers


def test_a_spec_overridden_outside_the_stack_file_is_refused() -> None:
    spec = committed_spec("prod")
    spec["registry"]["members"] = 3
    with pytest.raises(pulumi.RunError, match="differs from the one in this file"):
        run_entry("prod", spec)


def test_a_violation_stops_the_program_with_the_validate_report(tmp_path: Path) -> None:
    spec = committed_spec("prod")
    spec["regions"] = [{**region, "availabilityZones": 1} for region in spec["regions"]]
    path = write_stack(tmp_path, "prod", spec)
    report = gate.validate_stack(path, ROOT / "policies", date(2026, 11, 22), str(path))
    message = gate.rejection(report)
    assert message is not None
    validate = CliRunner().invoke(drkit, ["validate", "--today", "2026-11-22", str(path)])
    assert validate.exit_code == 1
    # The program's message is `drkit validate`'s report, word for word, and then what to do.
    assert message.startswith(validate.output.rsplit("\n\n", 1)[0])
    assert "FAIL      DR002" in message and "fix the spec or waive the rule" in message


class _AfterDevsWaiver(date):
    @classmethod
    def today(cls) -> _AfterDevsWaiver:
        return cls(2027, 6, 15)  # dev waives DR202 until 2027-05-31


def test_an_expired_waiver_stops_pulumi_up_unless_the_glass_is_broken_and_recorded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(entry, "date", _AfterDevsWaiver)
    monkeypatch.delenv(gate.BREAK_GLASS_ENV, raising=False)
    with pytest.raises(pulumi.RunError, match=r"DR901(.|\n)*DRKIT_BREAK_GLASS=\"reason\" pulumi up"):
        run_entry("dev", committed_spec("dev"))

    monkeypatch.setenv(gate.BREAK_GLASS_ENV, "INC-4711: rebuilding dev during the outage")
    monkeypatch.setenv("USER", "oncall")
    exported: dict[str, Any] = {}  # the mocks keep no stack outputs: the exports, as the engine would get them
    monkeypatch.setattr(pulumi, "export", lambda name, value: exported.__setitem__(name, value))
    plan = run_entry("dev", committed_spec("dev"))
    assert plan.of_type("aws:ec2/instance:Instance"), "built"
    record = exported["breakGlass"]
    assert record["reason"] == "INC-4711: rebuilding dev during the outage" and record["by"] == "oncall"
    assert record["at"].startswith("20")


def test_pulumi_up_builds_from_the_decrypted_secret_the_file_only_holds_encrypted() -> None:
    """The stack file has the record name as a Pulumi secret; the engine hands the program its plain value."""
    text = (ROOT / "stacks" / "Pulumi.prod.yaml").read_text(encoding="utf-8")
    secret = text.replace("name: registry.example.com", "name: {secure: v1:AAAB}", 1)
    path = ROOT / "stacks" / "Pulumi.secretname.yaml"  # entry reads stacks/ of the project, as pulumi up does
    path.write_text(secret, encoding="utf-8")
    try:
        decrypted = committed_spec("prod")
        decrypted["globalEndpoint"]["name"] = "registry.internal.example.com"
        plan = run_entry("secretname", decrypted)
        records = [r.props.get("name") for r in plan.of_type("aws:route53/record:Record")]
        assert "registry.internal.example.com" in records and "[secret]" not in records

        decrypted["registry"]["members"] = 3  # anything else differing is still an override, refused
        with pytest.raises(pulumi.RunError, match="differs from the one in this file"):
            run_entry("secretname", decrypted)
    finally:
        path.unlink()
