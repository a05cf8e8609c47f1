"""DR404: the global endpoint checks every region with the spec's interval and failure threshold."""

from __future__ import annotations

from collections.abc import Iterator

from drkit.policy import Finding, ResourceContext, rule
from drkit.provision import tags
from drkit.spec.units import format_duration

HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
RECORD = "aws:route53/record:Record"
ENDPOINT_GROUP = "aws:globalaccelerator/endpointGroup:EndpointGroup"
_ENDPOINT_CHECK_TYPES = ("HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP")


@rule(
    id="DR404",
    scope="resources",
    name="Ensure the global endpoint health-checks every region with the spec's interval and threshold",
    category="availability",
    severity="high",
    remediation="Build the endpoint from globalEndpoint.healthCheck (interval, failureThreshold): one health check"
    " (route53-failover) or endpoint group (global-accelerator) per region, with PRIMARY and SECONDARY records.",
)
def check(ctx: ResourceContext) -> Iterator[Finding]:
    """The failover time the estimates promise is interval x failureThreshold: a check that runs slower, or
    waits for more failures, fails over later than the spec says. Route 53: each region served by the
    endpoint (the primary and the first standby) has an endpoint health check with RequestInterval and
    FailureThreshold as the spec says, and the name has a PRIMARY and a SECONDARY record, each with a health
    check. Global Accelerator: each region has an endpoint group with HealthCheckIntervalSeconds and
    ThresholdCount as the spec says."""
    endpoint = ctx.spec.global_endpoint
    if endpoint is None or endpoint.type == "haproxy":
        return
    interval, threshold = int(endpoint.health_check.interval), endpoint.health_check.failure_threshold
    wanted = f"every {format_duration(endpoint.health_check.interval)}, {threshold} failures"
    if endpoint.type == "route53-failover":
        regions = [region.name for region in (ctx.spec.primary, *ctx.spec.standbys)][:2]
        checks = [c for c in ctx.of_type(HEALTH_CHECK) if c.props.get("type") in _ENDPOINT_CHECK_TYPES]
        for region in regions:
            found = [c for c in checks if c.tags.get(tags.REGION) == region]
            if not found:
                yield Finding(f"region {region} has no Route 53 health check")
            for health_check in found:
                got = (health_check.props.get("requestInterval"), health_check.props.get("failureThreshold"))
                if got != (interval, threshold):
                    yield Finding(
                        f"health check {health_check.name} runs every {got[0]}s with threshold {got[1]}; the spec"
                        f" says {wanted}",
                        urn=health_check.urn,
                    )
        policies = {
            policy.get("type"): record
            for record in ctx.of_type(RECORD)
            for policy in record.props.get("failoverRoutingPolicies") or []
        }
        for role in ("PRIMARY", "SECONDARY")[: len(regions)]:
            record = policies.get(role)
            if record is None:
                yield Finding(f"no {role} failover record for {endpoint.name}")
            elif not record.props.get("healthCheckId"):
                yield Finding(f"the {role} record {record.name} has no health check", urn=record.urn)
        return
    groups = {str(group.props.get("endpointGroupRegion")): group for group in ctx.of_type(ENDPOINT_GROUP)}
    for spec_region in ctx.spec.regions:
        group = groups.get(spec_region.name)
        if group is None:
            yield Finding(f"region {spec_region.name} has no Global Accelerator endpoint group")
            continue
        got = (group.props.get("healthCheckIntervalSeconds"), group.props.get("thresholdCount"))
        if got != (interval, threshold):
            yield Finding(
                f"endpoint group {group.name} checks every {got[0]}s with threshold {got[1]}; the spec says {wanted}",
                urn=group.urn,
            )
