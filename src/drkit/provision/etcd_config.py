"""etcd's flags for a cloud member as ETCD_* variables (etcd reads them as its flags): one for every cloud.

AWS and GCP members boot from the same cloud-init layout; what differs between the clouds is where a member
is and how it is reached, not how etcd is configured, so both clusters (and nothing else) ask this module.
"""

from __future__ import annotations

from collections.abc import Sequence

from drkit.provision import cloud_init
from drkit.provision.layout import MemberPlacement, initial_cluster, join_initial_cluster, joins_running_cluster
from drkit.spec.model import Registry


def cluster_membership(
    placements: Sequence[MemberPlacement], bootstrap_members: int, member: MemberPlacement, port: int, scheme: str
) -> dict[str, str]:
    """Bootstrap members form the cluster together (state new); a member added later joins the running one
    (state existing) once the member playbook has `member add`ed it (cloud_init.MemberBoot.joining)."""
    if joins_running_cluster(member, bootstrap_members):
        return {
            "ETCD_INITIAL_CLUSTER": join_initial_cluster(list(placements), member, port, scheme),
            "ETCD_INITIAL_CLUSTER_STATE": "existing",
        }
    return {
        "ETCD_INITIAL_CLUSTER": initial_cluster(list(placements[:bootstrap_members]), port, scheme),
        "ETCD_INITIAL_CLUSTER_STATE": "new",
    }


def member_environment(
    registry: Registry,
    stack: str,
    region: str,
    scheme: str,
    placements: Sequence[MemberPlacement],
    bootstrap_members: int,
    member: MemberPlacement,
) -> dict[str, str]:
    env = {
        "ETCD_NAME": member.name,
        "ETCD_DATA_DIR": cloud_init.DATA_DIR,
        "ETCD_LISTEN_PEER_URLS": f"{scheme}://0.0.0.0:{registry.peer_port}",
        "ETCD_LISTEN_CLIENT_URLS": f"{scheme}://0.0.0.0:{registry.client_port}",
        "ETCD_LISTEN_METRICS_URLS": f"http://0.0.0.0:{registry.metrics_port}",
        "ETCD_ADVERTISE_CLIENT_URLS": f"{scheme}://{member.private_ip}:{registry.client_port}",
        "ETCD_INITIAL_ADVERTISE_PEER_URLS": f"{scheme}://{member.private_ip}:{registry.peer_port}",
        **cluster_membership(placements, bootstrap_members, member, registry.peer_port, scheme),
        "ETCD_INITIAL_CLUSTER_TOKEN": f"drkit-{stack}-{region}",
        "ETCD_HEARTBEAT_INTERVAL": str(round(registry.heartbeat_interval * 1000)),
        "ETCD_ELECTION_TIMEOUT": str(round(registry.election_timeout * 1000)),
        "ETCD_QUOTA_BACKEND_BYTES": str(registry.quota_backend_bytes),
    }
    if registry.tls:
        env |= cloud_init.etcd_tls_env()
    return env
