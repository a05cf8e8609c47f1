"""What `pulumi up -s <env>` runs: read drkit:spec, validate it as `drkit validate` does, build, export."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pulumi

from drkit.project import find_project_root
from drkit.provision import gate, topology
from drkit.provision.errors import ProvisionError


def main() -> None:
    stack = pulumi.get_stack()
    root = find_project_root(Path.cwd())
    if root is None:
        raise pulumi.RunError("run `pulumi` from the drkit checkout: no Pulumi.yaml with policies/ found here")
    path = gate.stack_path(root, stack)
    break_glass = os.environ.get(gate.BREAK_GLASS_ENV, "").strip() or None
    report = gate.validate_stack(path, root / "policies", date.today(), str(path.relative_to(root)), break_glass)
    message = gate.rejection(report)
    if message is not None:
        raise pulumi.RunError(message)
    if report.break_glass:
        # Recorded where the update is: the engine's log of this update, and the stack's outputs (state).
        record = gate.break_glass_record(report.break_glass)
        pulumi.log.warn(f"BREAK-GLASS: expired waivers honoured for this update: {record}")
        pulumi.export("breakGlass", record)
    config_spec = pulumi.Config("drkit").require_object("spec")
    mismatch = gate.config_matches_file(config_spec, path)
    if mismatch is not None:
        raise pulumi.RunError(mismatch.render())
    spec = gate.spec_to_build(report, config_spec, root / "policies")
    try:
        outputs = topology.build(spec, stack)
    except ProvisionError as error:
        raise pulumi.RunError(str(error)) from None
    for name, value in outputs.items():
        pulumi.export(name, value)
