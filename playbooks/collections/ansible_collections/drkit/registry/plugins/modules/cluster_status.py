#!/usr/bin/python
"""Ansible module: every member's status, leader and health, as etcdctl reports them."""

from __future__ import annotations

DOCUMENTATION = r"""
module: cluster_status
short_description: Report each etcd member's ID, version, leader flag, indexes, revision and health
description:
  - One C(etcdctl endpoint status) and one C(endpoint health) over all endpoints; members that do not answer
    are listed in C(not_answering) rather than failing the task.
extends_documentation_fragment:
  - drkit.registry.etcdctl
author: drkit maintainers
"""

EXAMPLES = r"""
- name: Read the cluster's state
  drkit.registry.cluster_status:
    etcdctl: "{{ drkit_etcd_ctl }}"
    endpoints: "{{ drkit_cluster_endpoints.split(',') }}"
  register: drkit_upgrade_cluster
"""

RETURN = r"""
members:
  description: One entry per member that answered (url, id, id_hex, leader, version, raft_index, applied_index,
    revision, healthy), in the order of I(endpoints).
  returned: success
  type: list
  elements: dict
leader_url: {description: The leader's client URL, empty when no member names one, returned: success, type: str}
versions: {description: The distinct versions the members run, returned: success, type: list, elements: str}
# Not "unreachable": Ansible takes a result with that key for an unreachable host.
not_answering: {description: Endpoints that gave no status, returned: success, type: list, elements: str}
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.drkit.registry.plugins.module_utils.cluster_gate import (  # noqa: E402
    ETCDCTL_ARGUMENTS,
    Cluster,
)


def main() -> None:
    module = AnsibleModule(argument_spec=ETCDCTL_ARGUMENTS, supports_check_mode=True)
    params = module.params
    cluster = Cluster(module.run_command, params["etcdctl"], params["endpoints"], params["command_timeout"])
    statuses = {status.url: status for status in cluster.status()}
    health = cluster.health()
    members = [
        {**statuses[url].as_dict(), "healthy": health.get(url, False)} for url in params["endpoints"] if url in statuses
    ]
    leader = next((member["url"] for member in members if member["leader"]), "")
    module.exit_json(
        changed=False,
        members=members,
        leader_url=leader,
        versions=sorted({member["version"] for member in members}),
        not_answering=[url for url in params["endpoints"] if url not in statuses],
    )


if __name__ == "__main__":
    main()
