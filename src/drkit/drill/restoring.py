"""After a region or partition drill: turn the fenced old primary back into a standby (failback through the
engine), so the next run, or the next drill, starts from a healthy primary and standby again. Not measured."""

from __future__ import annotations

from drkit.drill.session import DrillError, Progress
from drkit.failover.engine import FailoverRefusedError, Request, carry_out
from drkit.failover.lab import lab_deployment
from drkit.failover.registry import RegistryError
from drkit.sandbox.lab import Lab


def fail_back(lab: Lab, region: str, progress: Progress) -> Lab:
    current = Lab.existing(lab.paths.root)
    try:
        report = carry_out(lab_deployment(current), Request("failback", region, confirm=True), lambda _: None)
    except (FailoverRefusedError, RegistryError) as error:
        raise DrillError(
            f"failback of {region} after the drill failed: {error} (`drkit failback --yes` retries)"
        ) from None
    progress(f"after the drill: {report.message}")
    return Lab.existing(lab.paths.root)
