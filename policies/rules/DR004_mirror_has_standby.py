"""DR004: a mirror has somewhere to mirror to."""

from collections.abc import Iterator

from drkit.policy import Finding, RuleContext, rule


@rule(
    id="DR004",
    name="Ensure mirror replication has a standby region to mirror into",
    category="availability",
    severity="high",
    remediation="Add a region with role: standby, or set replication.mode: none.",
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """replication.mode: mirror runs etcdctl make-mirror from the primary into each standby. With no
    standby the spec promises a replica that does not exist."""
    if ctx.spec.replication.mode == "mirror" and not ctx.spec.standbys:
        yield Finding("replication.mode is mirror but no region has role: standby", ("replication", "mode"))
