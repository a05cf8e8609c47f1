"""GcpControlPlane: the ControlPlane of a stack's GCP regions, driven through the Compute Engine API.

It finds everything by what drkit's Pulumi program builds (drkit.provision.gcp), never by IDs kept
elsewhere, so any machine with credentials can run a failover:

- members: instances labelled drkit-stack, drkit-region and drkit-role=member;
- their client port: cut by a DENY firewall rule of its own, `<prefix>-fence-client` (priority 0, above the
  allow rules' 1000), on the client port of the members' network tag. The rule is the record: a restore,
  days later and from another machine, deletes exactly it and the allow rules were never touched (unlike
  AWS, where security groups have no deny and the revoked rules are kept in tags);
- the endpoint: Route 53 serves GCP regions too, so set_serving goes to the AWS control plane (MixedControlPlane).

Every action returns a FenceAction, also when GCP refused or could not be reached (ok=False, the error in the
detail). GCP's firewall is stateful: a client connection tracked before the cut may outlive it until it
closes or times out (as with AWS security groups), one reason the engine stops the members too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from drkit.failover.control import ControlPlane, ControlPlaneError, FenceAction
from drkit.failover.gcp_api import ComputeApi, GcpApiError
from drkit.provision import tags
from drkit.provision.gcp.registry_cluster import member_tag
from drkit.provision.layout import resource_prefix
from drkit.spec.model import Spec

FENCE_PRIORITY = 0  # GCP evaluates lower numbers first: this deny wins over every drkit allow rule (1000)
_STOPPED = ("STOPPING", "STOPPED", "TERMINATED", "SUSPENDED")
_RUNNING = ("PROVISIONING", "STAGING", "RUNNING")


def fence_rule_name(stack: str, region: str) -> str:
    return f"{resource_prefix(stack, region)}-fence-client"[:63]


@dataclass
class GcpControlPlane:
    """The ControlPlane of stack `stack`'s GCP regions (spec region names) in `project`."""

    stack: str
    project: str
    regions: tuple[str, ...]
    client_port: int
    compute: ComputeApi

    @classmethod
    def from_spec(cls, stack: str, spec: Spec, project: str, compute: ComputeApi) -> GcpControlPlane:
        gcp_regions = tuple(region.name for region in spec.regions if region.provider == "gcp")
        return cls(stack, project, gcp_regions, spec.registry.client_port, compute)

    # Members -------------------------------------------------------------------------------------------------

    def stop_members(self, region: str) -> FenceAction:
        return self._attempt("stop-members", region, lambda: self._set_members(region, running=False))

    def start_members(self, region: str) -> FenceAction:
        return self._attempt("start-members", region, lambda: self._set_members(region, running=True))

    def _members(self, region: str) -> list[dict[str, object]]:
        labels = {
            tags.label_key(tags.STACK): self.stack,
            tags.label_key(tags.REGION): region,
            tags.label_key(tags.ROLE): "member",
        }
        return sorted(self.compute.list_instances(self.project, labels), key=lambda i: str(i["name"]))

    def _set_members(self, region: str, running: bool) -> tuple[bool, str]:
        members = self._members(region)
        if not members:
            return False, f"no member instances labelled for stack {self.stack} in {region}"
        wanted = _RUNNING if running else _STOPPED
        done = []
        for instance in members:
            name, zone, status = str(instance["name"]), str(instance["zone"]), str(instance.get("status", ""))
            if status in wanted:
                done.append(f"{name}: already {status.lower()}")
                continue
            self.compute.set_instance_running(self.project, zone, name, running)
            done.append(f"{name} ({zone}): {'starting' if running else 'stopping'}")
        return True, "; ".join(done)

    # Client port ---------------------------------------------------------------------------------------------

    def cut_client_port(self, region: str) -> FenceAction:
        return self._attempt("cut-client-port", region, lambda: self._cut(region))

    def restore_client_port(self, region: str) -> FenceAction:
        return self._attempt("restore-client-port", region, lambda: self._restore(region))

    def fence_rule(self, region: str) -> dict[str, object]:
        """The deny rule a cut inserts: every source, the client port, the members' network tag only."""
        network = f"projects/{self.project}/global/networks/{resource_prefix(self.stack, region)}"
        return {
            "name": fence_rule_name(self.stack, region),
            "network": network,
            "direction": "INGRESS",
            "priority": FENCE_PRIORITY,
            "denied": [{"IPProtocol": "tcp", "ports": [str(self.client_port)]}],
            "sourceRanges": ["0.0.0.0/0"],
            "targetTags": [member_tag(self.stack)],
            "description": f"drkit failover fence of {region}: no client reaches the old primary (drkit deletes it)",
        }

    def _cut(self, region: str) -> tuple[bool, str]:
        name = fence_rule_name(self.stack, region)
        if self.compute.get_firewall(self.project, name) is not None:
            return True, f"{name}: already cut"
        self.compute.insert_firewall(self.project, self.fence_rule(region))
        return True, f"{name}: inserted, denying tcp:{self.client_port} to {member_tag(self.stack)}"

    def _restore(self, region: str) -> tuple[bool, str]:
        name = fence_rule_name(self.stack, region)
        if self.compute.get_firewall(self.project, name) is None:
            return True, f"{name}: nothing cut"
        self.compute.delete_firewall(self.project, name)
        return True, f"{name}: deleted, the allow rules serve the client port again"

    # Not on GCP yet ------------------------------------------------------------------------------------------

    def set_serving(self, region: str, serving: bool) -> FenceAction:
        return self._unsupported("endpoint-in" if serving else "endpoint-out", region, "Route 53 (the AWS plane)")

    def stop_mirror(self, into: str) -> FenceAction:
        return self._unsupported("stop-mirror", into, "nothing: no make-mirror runs into a GCP region yet")

    def start_mirror(self, source: str, into: str) -> FenceAction:
        return self._unsupported("start-mirror", into, "nothing: no make-mirror runs into a GCP region yet")

    def move_data_aside(self, region: str) -> FenceAction:
        return self._unsupported("move-data-aside", region, "the member playbooks over IAP (docs/provisioning.md)")

    def _unsupported(self, method: str, region: str, instead: str) -> FenceAction:
        self._check(region)
        return FenceAction(method, region, False, f"not done by the GCP control plane; it is done by {instead}")

    # Plumbing ------------------------------------------------------------------------------------------------

    def _check(self, region: str) -> None:
        if region not in self.regions:
            known = ", ".join(sorted(self.regions)) or "none"
            raise ControlPlaneError(f"stack {self.stack} has no GCP region {region!r} (its GCP regions: {known})")

    def _attempt(self, method: str, region: str, action: Callable[[], tuple[bool, str]]) -> FenceAction:
        self._check(region)
        try:
            ok, detail = action()
        except GcpApiError as error:
            return FenceAction(method, region, False, f"GCP error: {error}")
        return FenceAction(method, region, ok, detail)


@dataclass
class MixedControlPlane:
    """One ControlPlane for a stack across clouds: each region's actions go to its cloud's plane, and
    set_serving to the endpoint's (Route 53's, an AWS plane that knows every region's control check)."""

    by_region: Mapping[str, ControlPlane]
    endpoint: ControlPlane

    def _plane(self, region: str) -> ControlPlane:
        try:
            return self.by_region[region]
        except KeyError:
            raise ControlPlaneError(f"no control plane for region {region!r}") from None

    def stop_members(self, region: str) -> FenceAction:
        return self._plane(region).stop_members(region)

    def start_members(self, region: str) -> FenceAction:
        return self._plane(region).start_members(region)

    def cut_client_port(self, region: str) -> FenceAction:
        return self._plane(region).cut_client_port(region)

    def restore_client_port(self, region: str) -> FenceAction:
        return self._plane(region).restore_client_port(region)

    def set_serving(self, region: str, serving: bool) -> FenceAction:
        return self.endpoint.set_serving(region, serving)

    def stop_mirror(self, into: str) -> FenceAction:
        return self._plane(into).stop_mirror(into)

    def start_mirror(self, source: str, into: str) -> FenceAction:
        return self._plane(into).start_mirror(source, into)

    def move_data_aside(self, region: str) -> FenceAction:
        return self._plane(region).move_data_aside(region)


def _conforms(gcp: GcpControlPlane, mixed: MixedControlPlane) -> tuple[ControlPlane, ControlPlane]:
    """mypy checks here that both provide every ControlPlane method with its signature."""
    return gcp, mixed
