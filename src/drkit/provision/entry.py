"""What `pulumi up -s <env>` runs: read drkit:spec, validate it as `drkit validate` does, build, export."""

from __future__ import annotations

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
    report = gate.validate_stack(path, root / "policies", date.today(), str(path.relative_to(root)))
    message = gate.rejection(report)
    if message is not None:
        raise pulumi.RunError(message)
    mismatch = gate.config_matches_file(pulumi.Config("drkit").require_object("spec"), path)
    if mismatch is not None:
        raise pulumi.RunError(mismatch.render())
    assert report.spec is not None
    try:
        outputs = topology.build(report.spec, stack)
    except ProvisionError as error:
        raise pulumi.RunError(str(error)) from None
    for name, value in outputs.items():
        pulumi.export(name, value)
