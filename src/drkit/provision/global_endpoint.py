"""GlobalEndpoint: the one address clients use, failing over between regions.

route53-failover: per region an HTTP health check of etcd's /health (the spec's interval and threshold), a
control check that only drkit's failover flips, and a calculated check that needs both; PRIMARY and
SECONDARY records (the spec's TTL) use the calculated ones: a CNAME to an AWS region's internal NLB, an A
record with a GCP region's internal load balancer address. A standby is therefore never answered
before a failover has promoted it, whatever its own health says.

The control is a CALCULATED check with no children, a threshold of 0 and Disabled: Route 53 documents that
it treats a disabled check as always healthy and that Inverted is how to stop routing to it, so its status
is exactly `not Inverted`, set by drkit.failover.aws (AwsControlPlane.set_serving). The primary's starts
serving, standbys' not; `pulumi up` ignores later changes to Inverted, so it keeps what a failover set.

global-accelerator: one accelerator, a TCP listener on the client port, an endpoint group per region with the
members as endpoints and the spec's health check; the standby's traffic dial starts at 0 and only a
promotion turns it up (`pulumi up` leaves dials as the last failover set them).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from drkit.provision import tags
from drkit.provision.client_access import AnyCluster
from drkit.spec.model import GlobalEndpoint as EndpointSpec
from drkit.spec.model import Registry

TYPE = "drkit:provision:GlobalEndpoint"


@dataclass(frozen=True)
class GlobalEndpointArgs:
    stack: str
    endpoint: EndpointSpec
    registry: Registry
    clusters: list[AnyCluster]  # primary first, then standbys in spec order (AWS or GCP, behind one interface)
    # global-accelerator: built before the clusters (create_accelerator), whose server certificates name its
    # DNS name, since that is the address clients reach the members through.
    accelerator: aws.globalaccelerator.Accelerator | None = None


def create_accelerator(stack: str, primary_region: str, provider: aws.Provider) -> aws.globalaccelerator.Accelerator:
    """The stack's accelerator alone (no listener or endpoints yet): its DNS name is known before the members."""
    return aws.globalaccelerator.Accelerator(
        "endpoint",
        name=f"drkit-{stack}",
        ip_address_type="IPV4",
        enabled=True,
        tags=tags.tags(stack, primary_region, "global-endpoint", "endpoint"),
        opts=pulumi.ResourceOptions(provider=provider),
    )


class GlobalEndpoint(pulumi.ComponentResource):
    url: pulumi.Output[str]

    def __init__(
        self, name: str, args: GlobalEndpointArgs, provider: aws.Provider, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        """`provider`: Route 53's (any region; the primary's) or Global Accelerator's (its API lives in us-west-2)."""
        super().__init__(TYPE, name, None, opts)
        self.args = args
        self.provider = provider
        if args.endpoint.type == "route53-failover":
            self._route53()
        else:
            self._accelerator(name)
        self.register_outputs({"url": self.url})

    def _opts(
        self, provider: aws.Provider | None = None, ignore_changes: list[str] | None = None
    ) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, provider=provider or self.provider, ignore_changes=ignore_changes)

    def _tags(self, region: str, name: str, **extra: str) -> dict[str, str]:
        return tags.tags(self.args.stack, region, "global-endpoint", name, **extra)

    def _route53(self) -> None:
        endpoint, registry = self.args.endpoint, self.args.registry
        zone = aws.route53.get_zone(
            name=endpoint.zone, private_zone=False, opts=pulumi.InvokeOptions(provider=self.provider)
        )
        record_name = str(endpoint.name)
        # Route 53 allows one PRIMARY and one SECONDARY per name: the first standby is the failover target.
        for cluster, failover in zip(self.args.clusters[:2], ("PRIMARY", "SECONDARY"), strict=False):
            region = cluster.args.region.name
            # The public health listener in front of the region's members: an NLB's name on AWS, an external
            # address on GCP (its internal load balancer is out of Route 53's reach, as an internal NLB is).
            fqdn, ip_address = cluster.health_check_target()
            reachable = aws.route53.HealthCheck(
                f"{region}-health",
                type="HTTP",
                fqdn=fqdn,
                ip_address=ip_address,
                port=registry.metrics_port,
                resource_path=endpoint.health_check.path,
                request_interval=int(endpoint.health_check.interval),
                failure_threshold=endpoint.health_check.failure_threshold,
                tags=self._tags(region, f"{region}-health"),
                opts=self._opts(),
            )
            control = aws.route53.HealthCheck(
                f"{region}-control",
                type="CALCULATED",
                child_healthchecks=[],
                child_health_threshold=0,
                disabled=True,
                invert_healthcheck=cluster.args.region.role != "primary",
                tags=self._tags(region, f"{region}-control", role=tags.ENDPOINT_CONTROL_ROLE),
                # A failover flips Inverted; a later `pulumi up` must not flip it back.
                opts=self._opts(ignore_changes=["invertHealthcheck"]),
            )
            serving = aws.route53.HealthCheck(
                f"{region}-serving",
                type="CALCULATED",
                child_healthchecks=[reachable.id, control.id],
                child_health_threshold=2,
                tags=self._tags(region, f"{region}-serving"),
                opts=self._opts(),
            )
            record_type, target = cluster.dns_record()  # CNAME to an NLB on AWS, A to a GCP internal address
            aws.route53.Record(
                f"{region}-{failover.lower()}",
                zone_id=zone.zone_id,
                name=record_name,
                type=record_type,
                ttl=int(endpoint.ttl),
                records=[target],
                set_identifier=region,
                failover_routing_policies=[{"type": failover}],
                health_check_id=serving.id,
                opts=self._opts(),
            )
        self.url = pulumi.Output.from_input(f"{self._scheme}://{record_name}:{registry.client_port}")

    @property
    def _scheme(self) -> str:
        return "https" if self.args.registry.tls else "http"

    def _accelerator(self, name: str) -> None:
        endpoint, registry = self.args.endpoint, self.args.registry
        primary_region = self.args.clusters[0].args.region.name
        accelerator = self.args.accelerator or create_accelerator(self.args.stack, primary_region, self.provider)
        listener = aws.globalaccelerator.Listener(
            name,
            accelerator_arn=accelerator.arn,
            protocol="TCP",
            client_affinity="SOURCE_IP",
            port_ranges=[{"from_port": registry.client_port, "to_port": registry.client_port}],
            opts=self._opts(),
        )
        for cluster in self.args.clusters:
            region = cluster.args.region.name
            aws.globalaccelerator.EndpointGroup(
                f"{region}-endpoints",
                listener_arn=listener.arn,
                endpoint_group_region=region,
                endpoint_configurations=[
                    {"endpoint_id": instance.id, "weight": 128, "client_ip_preservation_enabled": True}
                    for instance in cluster.instances
                ],
                health_check_protocol="HTTP",
                health_check_port=registry.metrics_port,
                health_check_path=endpoint.health_check.path,
                health_check_interval_seconds=int(endpoint.health_check.interval),
                threshold_count=endpoint.health_check.failure_threshold,
                traffic_dial_percentage=100 if cluster.args.region.role == "primary" else 0,
                # A failover turns the dials; a later `pulumi up` must not turn them back.
                opts=self._opts(ignore_changes=["trafficDialPercentage"]),
            )
        self.url = pulumi.Output.concat(self._scheme, "://", accelerator.dns_name, f":{registry.client_port}")
