"""Checks across values that JSON Schema cannot express: what etcd or AWS would refuse to run or build.

One implementation, run by `drkit validate` on the schema-valid spec with its defaults (and so by
`drkit plan` and `pulumi up`, which validate first): ports that collide, an election timeout etcd rejects,
CIDRs that are not networks or have the wrong size, subnet lists that do not match the AZs.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from typing import Any

from drkit.errors import InputError, KeyPath, Location
from drkit.spec.units import format_duration, parse_duration

Locate = Callable[..., Location]

# etcd refuses to start unless --election-timeout is at least 5 x --heartbeat-interval and below 50 s; it
# takes both in whole milliseconds.
ELECTION_TO_HEARTBEAT = 5
MAX_ELECTION_TIMEOUT_SECONDS = 50.0
# A VPC drkit creates is cut into 16 subnets (layout.py): /16 leaves /20 subnets, /22 leaves /26 ones, the
# smallest that holds the reserved addresses and nine members.
VPC_PREFIXES = range(16, 23)
# The VPC of the n-th region when the spec names no CIDR: 10.40.0.0/16, 10.41.0.0/16, ... (provision.layout).
DEFAULT_VPC_BASE = 40
# The VPC of the n-th witness region (placement region or cluster): a /20 each from 10.39.0.0/16, below the
# regions' defaults, so adding a standby never moves a witness (provision.layout.witness_vpc_cidr).
WITNESS_VPC_BLOCK = ipaddress.IPv4Network("10.39.0.0/16")
WITNESS_VPC_PREFIX = 20


def check(spec: dict[str, Any], locate: Locate, prefix: KeyPath) -> list[InputError]:
    """Every cross-value problem of a schema-valid, defaults-filled spec, located in its file."""

    def error(path: KeyPath, message: str, hint: str = "") -> InputError:
        return InputError(locate(path), message, (*prefix, *path), hint)

    return [
        *_ports(spec["registry"], error),
        *_timing(spec["registry"], error),
        *_client_cidrs(spec["registry"], error),
        *_clients(spec["registry"], error),
        *_networks(spec["regions"], error),
        *_witness(spec["recovery"], spec["regions"], error),
    ]


def witness_vpc_cidr(index: int) -> str:
    """The VPC drkit creates for the `index`th witness region."""
    return str(list(WITNESS_VPC_BLOCK.subnets(new_prefix=WITNESS_VPC_PREFIX))[index])


Report = Callable[..., InputError]


def _ports(registry: dict[str, Any], error: Report) -> Iterator[InputError]:
    seen: dict[int, str] = {}
    for key in ("clientPort", "peerPort", "metricsPort"):
        port = registry[key]
        if port in seen:
            yield error(
                ("registry", key),
                f"{key} {port} is also the {seen[port]}: etcd cannot listen for both on one port",
                "give clientPort, peerPort and metricsPort three different ports (default 2379, 2380, 2381)",
            )
        seen.setdefault(port, key)


def _timing(registry: dict[str, Any], error: Report) -> Iterator[InputError]:
    heartbeat = parse_duration(registry["heartbeatInterval"])
    election = parse_duration(registry["electionTimeout"])
    if round(heartbeat * 1000) < 1:
        yield error(("registry", "heartbeatInterval"), "expected at least 1ms: etcd takes whole milliseconds")
    if election < ELECTION_TO_HEARTBEAT * heartbeat:
        yield error(
            ("registry", "electionTimeout"),
            f"electionTimeout {format_duration(election)} is less than {ELECTION_TO_HEARTBEAT} x heartbeatInterval"
            f" {format_duration(heartbeat)}: etcd refuses to start",
            f"raise it to at least {format_duration(ELECTION_TO_HEARTBEAT * heartbeat)}, or lower heartbeatInterval",
        )
    if election > MAX_ELECTION_TIMEOUT_SECONDS:
        yield error(
            ("registry", "electionTimeout"),
            f"electionTimeout {format_duration(election)} is above etcd's limit of 50s: etcd refuses to start",
        )


def _network(text: str) -> tuple[ipaddress.IPv4Network | None, str]:
    """The network a CIDR names, or why it names none."""
    try:
        network = ipaddress.IPv4Network(text, strict=False)
    except ValueError as problem:
        return None, f"not an IPv4 network ({problem})"
    if str(network) != text:
        return None, f"host bits are set: the network is {network}"
    return network, ""


def _client_cidrs(registry: dict[str, Any], error: Report) -> Iterator[InputError]:
    for index, cidr in enumerate(registry["clientCidrs"]):
        path = ("registry", "clientCidrs", index)
        network, problem = _network(cidr)
        if network is None:
            yield error(path, f"{cidr}: {problem}", "write a network like 10.0.0.0/16")
        elif network.prefixlen == 0:
            yield error(
                path,
                f"{cidr} opens the registry's client port to the whole internet (DR405 rejects it at plan time)",
                "name the client networks, or use network.clientSecurityGroupIds",
            )


def _clients(registry: dict[str, Any], error: Report) -> Iterator[InputError]:
    if registry.get("clients") and not registry["tls"]:
        yield error(
            ("registry", "clients"),
            "client certificates need TLS: with registry.tls false the registry takes no certificate",
            "set registry.tls: true, or remove registry.clients",
        )


def _networks(regions: list[dict[str, Any]], error: Report) -> Iterator[InputError]:
    created: list[tuple[ipaddress.IPv4Network, int]] = []
    for index, region in enumerate(regions):
        if region["provider"] == "local":
            continue  # the lab's regions are processes on this machine: no VPC
        network_spec = region.get("network", {})
        subnets = network_spec.get("subnetIds")
        if subnets is not None and len(subnets) != region["availabilityZones"]:
            yield error(
                ("regions", index, "network", "subnetIds"),
                f"{len(subnets)} subnets for {region['availabilityZones']} availabilityZones",
                "give one private subnet per AZ (member n goes to subnet n mod AZs), or change availabilityZones",
            )
        if "vpcId" in network_spec:
            continue
        cidr = network_spec.get("cidr", f"10.{DEFAULT_VPC_BASE + index}.0.0/16")
        path = ("regions", index, "network", "cidr")
        network, problem = _network(cidr)
        if network is None:
            yield error(path, f"{cidr}: {problem}", "write a network like 10.40.0.0/16")
            continue
        if network.prefixlen not in VPC_PREFIXES:
            yield error(
                path,
                f"{cidr} is a /{network.prefixlen}: a VPC drkit creates is /16 to /22",
                "one private and one public subnet per AZ are cut from it, 16 slices in all",
            )
            continue
        for other, other_index in created:
            if network.overlaps(other):
                yield error(
                    path,
                    f"{cidr} overlaps regions[{other_index}]'s VPC {other}: the mirror peers the VPCs",
                    "give each region's VPC its own range (network.cidr)",
                )
        created.append((network, index))


def _witness(recovery: dict[str, Any], regions: list[dict[str, Any]], error: Report) -> Iterator[InputError]:
    """What the guards and etcd would refuse: etcd grants leases in whole seconds (the guards take --ttl as
    an integer), a loop of 0s would spin, a request timeout of 0s never waits for an answer. And a witness VPC
    drkit creates must not overlap a region's, since it is peered with each of them."""
    witness = recovery.get("witness")
    if witness is None:
        return
    path = ("recovery", "witness")
    ttl = parse_duration(witness["leaseTtl"])
    if ttl < 1 or ttl != int(ttl):
        yield error(
            (*path, "leaseTtl"),
            f"leaseTtl {format_duration(ttl)} is not a whole number of seconds: etcd grants leases in whole seconds",
            f"write it in whole seconds, like {max(1, round(ttl))}s",
        )
    for key in ("loopWait", "retryTimeout"):
        if parse_duration(witness[key]) <= 0:
            yield error(
                (*path, key), f"{key} must be longer than 0s", "Patroni's defaults are loopWait 10s, retryTimeout 10s"
            )
    if witness["placement"] == "lab":
        return
    block = WITNESS_VPC_BLOCK
    for index, region in enumerate(regions):
        if region["provider"] == "local" or "vpcId" in region.get("network", {}):
            continue
        cidr = region.get("network", {}).get("cidr", f"10.{DEFAULT_VPC_BASE + index}.0.0/16")
        network, _ = _network(cidr)
        if network is not None and network.overlaps(block):
            yield error(
                ("regions", index, "network", "cidr"),
                f"{cidr} overlaps {block}, where drkit creates the witness VPCs: each is peered with every"
                " region's VPC",
                "give the region's VPC a range outside 10.39.0.0/16",
            )
