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
healthy:
  description: The endpoints that answered healthy, in the order of I(endpoints).
  returned: success
  type: list
  elements: str
unhealthy: {description: The other endpoints, returned: success, type: list, elements: str}
quorum: {description: How many members make a quorum of I(endpoints), returned: success, type: int}
source_url:
  description: The member to read from (the leader when healthy, else the first healthy one; empty when none).
  returned: success
  type: str
source_role: {description: leader or follower, returned: success, type: str}
cluster_id: {description: The cluster ID (decimal) the first answering member reports, returned: success, type: str}
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.drkit.registry.plugins.module_utils.cluster_gate import (  # noqa: E402
    ETCDCTL_ARGUMENTS,
    Cluster,
    summarize,
)


def main() -> None:
    module = AnsibleModule(argument_spec=ETCDCTL_ARGUMENTS, supports_check_mode=True)
    params = module.params
    cluster = Cluster(module.run_command, params["etcdctl"], params["endpoints"], params["command_timeout"])
    module.exit_json(changed=False, **summarize(cluster.status(), cluster.health(), params["endpoints"]))


if __name__ == "__main__":
    main()
