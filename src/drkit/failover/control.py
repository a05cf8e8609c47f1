"""What a failover needs from the place the regions run (the lab, AWS), beyond talking to etcd itself.

The engine (drkit.failover.engine) decides what to do and in which order; a ControlPlane carries out one
action and says what it did. Every fencing action returns a FenceAction, successful or not, because the
report must show the evidence: a failover that could not stop the old primary's members must say so, and
the engine decides from the evidence whether promoting is still safe.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class FenceAction:
    """One fencing (or unfencing) attempt and its outcome.

    method: stop-members, cut-client-port, endpoint-out (and their reverses: start-members,
    restore-client-port, endpoint-in); target: the region; ok: whether it took effect; detail: the
    evidence in a sentence (which instances stopped, which rules revoked, what failed and why)."""

    method: str
    target: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class ControlPlaneError(Exception):
    """An action could not even be attempted (no such region, credentials missing): a refusal, exit 1."""


class ControlPlane(Protocol):
    """The control actions of one deployment. Each call is idempotent: running it again after an
    interruption does no harm (a failover re-run resumes by repeating the step it was in)."""

    def stop_members(self, region: str) -> FenceAction:
        """Stop every etcd member of `region` (lab: supervisor; AWS: stop the instances)."""
        ...

    def start_members(self, region: str) -> FenceAction:
        """Start them again (failback, switchover's reverse mirror)."""
        ...

    def cut_client_port(self, region: str) -> FenceAction:
        """Refuse client connections to `region`'s members from outside (lab: firewall rule in the region's
        network namespace; AWS: revoke the members' security-group ingress on the client port)."""
        ...

    def restore_client_port(self, region: str) -> FenceAction:
        """Undo cut_client_port (failback, once the region has been re-seeded as a standby)."""
        ...

    def set_serving(self, region: str, serving: bool) -> FenceAction:
        """Put `region` into the global endpoint's rotation, or take it out (lab: HAProxy runtime API;
        AWS: the region's promotion control behind the Route 53 failover records, or its Global Accelerator
        traffic dial)."""
        ...

    def stop_mirror(self, into: str) -> FenceAction:
        """Stop the mirror that writes into standby `into` (it runs in the standby region, so it is always
        reachable when that region is)."""
        ...

    def move_data_aside(self, region: str) -> FenceAction:
        """Move every (stopped) member's data dir of `region` aside, renamed with a timestamp, never deleted:
        failback re-seeds the region from the new primary."""
        ...

    def start_mirror(self, source: str, into: str) -> FenceAction:
        """Run the mirror from `source` (the primary) into `into` (a standby)."""
        ...
