"""DR005: health-check settings the endpoint can run."""

from collections.abc import Iterator

from drkit.policy import Finding, RuleContext, rule
from drkit.spec.units import format_duration

# Route 53 health checks and Global Accelerator endpoint-group checks run every 10 or 30 seconds only.
_CLOUD_INTERVALS = (10.0, 30.0)


@rule(
    id="DR005",
    name="Ensure the global endpoint's health check uses an interval the endpoint supports",
    category="availability",
    severity="medium",
    remediation="Use healthCheck.interval: 10s or 30s for route53-failover and global-accelerator.",
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """Route 53 health checks (RequestInterval) and Global Accelerator endpoint groups
    (HealthCheckIntervalSeconds) accept only 10 or 30 seconds. Any other value fails at `pulumi up`, and
    the RTO estimate built on it would be wrong."""
    endpoint = ctx.spec.global_endpoint
    if endpoint is None or endpoint.type == "haproxy":
        return
    interval = endpoint.health_check.interval
    if interval not in _CLOUD_INTERVALS:
        yield Finding(
            f"{endpoint.type} health checks run every 10s or 30s, not {format_duration(interval)}",
            ("globalEndpoint", "healthCheck", "interval"),
        )
