"""DR405: no registry port is open to the whole internet."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from drkit.policy import Finding, ResourceContext, rule
from drkit.provision.resources import PlannedResource

INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
WORLD = ("0.0.0.0/0", "::/0")
GCP_FIREWALL = "gcp:compute/firewall:Firewall"
GCP_FORWARDING_RULE = "gcp:compute/forwardingRule:ForwardingRule"


@rule(
    id="DR405",
    scope="resources",
    name="Ensure no registry port is open to the whole internet",
    category="security",
    severity="critical",
    remediation="Name the client networks in registry.clientCidrs (never 0.0.0.0/0) or the client security groups"
    " in regions[].network.clientSecurityGroupIds; keep the client load balancer internal (GCP: an INTERNAL"
    " forwarding rule, and firewall rules with source ranges or tags).",
)
def check(ctx: ResourceContext) -> Iterator[Finding]:
    """No ingress rule (standalone, inline or legacy) admits 0.0.0.0/0 or ::/0 to the client, peer or metrics
    port (or to all ports), and no internet-facing load balancer listens on the client or peer port. An
    open etcd port hands out every registration and, without client certificates, the power to rewrite them.
    On GCP: no enabled ingress firewall rule admits 0.0.0.0/0 or ::/0 to those ports (a rule with no source
    ranges, tags or service accounts admits everyone, as GCP defaults it), and no EXTERNAL forwarding rule
    serves the client or peer port."""
    registry = ctx.spec.registry
    ports = {registry.client_port: "client", registry.peer_port: "peer", registry.metrics_port: "metrics"}
    for ingress in ctx.of_type(INGRESS_RULE):
        sources = [ingress.props.get("cidrIpv4"), ingress.props.get("cidrIpv6")]
        yield from _open(ingress.name, ingress.urn, ingress.props, sources, ports)
    for group in ctx.of_type(SECURITY_GROUP):
        for inline in group.props.get("ingress") or []:
            sources = [*(inline.get("cidrBlocks") or []), *(inline.get("ipv6CidrBlocks") or [])]
            yield from _open(f"{group.name} (inline rule)", group.urn, inline, sources, ports)
    for ingress in ctx.of_type(GROUP_RULE):
        if ingress.props.get("type") == "ingress":
            sources = [*(ingress.props.get("cidrBlocks") or []), *(ingress.props.get("ipv6CidrBlocks") or [])]
            yield from _open(ingress.name, ingress.urn, ingress.props, sources, ports)
    yield from _gcp(ctx, ports)
    registry_ports = {registry.client_port, registry.peer_port}
    for lb in ctx.of_type(LOAD_BALANCER):
        if lb.props.get("internal") is True:
            continue
        for listener in ctx.of_type(LISTENER):
            if _listens_on(listener, lb) and listener.props.get("port") in registry_ports:
                yield Finding(
                    f"load balancer {lb.name} is internet-facing and listens on registry port"
                    f" {listener.props.get('port')}",
                    urn=lb.urn,
                )


def _listens_on(listener: PlannedResource, lb: PlannedResource) -> bool:
    """By ARN where both are known; in a preview ARNs are not, and drkit names a listener after its NLB."""
    arn = lb.props.get("arn")
    if arn and listener.props.get("loadBalancerArn"):
        return bool(listener.props.get("loadBalancerArn") == arn)
    return listener.name == lb.name and listener.parent == lb.parent


def _open(
    name: str, urn: str, props: Mapping[str, Any], sources: list[Any], ports: dict[int, str]
) -> Iterator[Finding]:
    world = [source for source in sources if source in WORLD]
    if not world:
        return
    protocol = str(props.get("ipProtocol", props.get("protocol", "tcp")))
    low, high = props.get("fromPort"), props.get("toPort")
    if protocol in ("-1", "all") or low is None or high is None:
        exposed = sorted(ports)
    else:
        exposed = [port for port in sorted(ports) if int(low) <= port <= int(high)]
    for port in exposed:
        yield Finding(f"{name} opens the {ports[port]} port {port} to {world[0]}", urn=urn)


def _gcp(ctx: ResourceContext, ports: dict[int, str]) -> Iterator[Finding]:
    for firewall in ctx.of_type(GCP_FIREWALL):
        props = firewall.props
        if props.get("direction", "INGRESS") != "INGRESS" or props.get("disabled") is True:
            continue
        sources = list(props.get("sourceRanges") or [])
        if not sources and not props.get("sourceTags") and not props.get("sourceServiceAccounts"):
            sources = ["0.0.0.0/0 (no source given: GCP's default)"]
        world = [source for source in sources if source.split(" ")[0] in WORLD]
        if not world:
            continue
        for port in sorted(ports):
            if any(_gcp_allows(allow, port) for allow in props.get("allows") or []):
                yield Finding(
                    f"firewall rule {firewall.name} opens the {ports[port]} port {port} to {world[0]}",
                    urn=firewall.urn,
                )
    registry_ports = {port for port, kind in ports.items() if kind != "metrics"}
    for rule_ in ctx.of_type(GCP_FORWARDING_RULE):
        if rule_.props.get("loadBalancingScheme") not in ("EXTERNAL", "EXTERNAL_MANAGED"):
            continue
        served = {int(str(port)) for port in rule_.props.get("ports") or [] if str(port).isdigit()}
        if rule_.props.get("allPorts") is True or served & registry_ports:
            yield Finding(
                f"forwarding rule {rule_.name} is external and serves a registry port ({sorted(served) or 'all'})",
                urn=rule_.urn,
            )


def _gcp_allows(allow: Mapping[str, Any], port: int) -> bool:
    if allow.get("protocol") not in ("tcp", "all", "6"):
        return False
    ranges = allow.get("ports") or []
    if not ranges:
        return True  # no ports: every port of the protocol
    for entry in ranges:
        low, _, high = str(entry).partition("-")
        if int(low) <= port <= int(high or low):
            return True
    return False
