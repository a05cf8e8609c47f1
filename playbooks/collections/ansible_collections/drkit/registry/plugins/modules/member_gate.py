#!/usr/bin/python
"""Ansible module: wait until a restarted member is healthy, on its version, caught up and consistent."""

from __future__ import annotations

DOCUMENTATION = r"""
module: member_gate
short_description: Gate on a restarted etcd member before the next one is touched
description:
  - Waits, within I(timeout) seconds in all, until the member answers healthy, runs I(version), has applied
    every entry the leader had committed when the gate began, every member's C(hashkv) agrees at a revision
    all of them have, and every member is healthy.
  - Fails naming the first check that did not pass and what it saw last.
options:
  member:
    description: The restarted member's client URL (one of I(endpoints)).
    type: str
    required: true
  version:
    description: The etcd version the member must report; any version when omitted (a replaced member).
    type: str
    default: ""
  timeout:
    description: Seconds to wait for all checks together.
    type: int
    default: 60
extends_documentation_fragment:
  - drkit.registry.etcdctl
author: drkit maintainers
"""

EXAMPLES = r"""
- name: Gate on the upgraded member
  drkit.registry.member_gate:
    etcdctl: "{{ drkit_etcd_ctl }}"
    endpoints: "{{ drkit_cluster_endpoints.split(',') }}"
    member: "{{ drkit_client_url }}"
    version: 3.5.1
"""

RETURN = r"""
seconds: {description: Seconds from the gate's start until each check passed, returned: success, type: dict}
applied_index: {description: The member's applied index when it caught up, returned: success, type: int}
leader_index: {description: The leader's raft index it had to reach, returned: success, type: int}
hashkv_revision: {description: The revision all members' hashkv agreed at, returned: success, type: int}
hash: {description: That hash, returned: success, type: int}
check: {description: The check that failed, returned: failure, type: str}
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.drkit.registry.plugins.module_utils.cluster_gate import (  # noqa: E402
    ETCDCTL_ARGUMENTS,
    Cluster,
    GateError,
    run_gate,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **ETCDCTL_ARGUMENTS,
            "member": {"type": "str", "required": True},
            "version": {"type": "str", "default": ""},
            "timeout": {"type": "int", "default": 60},
        },
        supports_check_mode=False,
    )
    params = module.params
    if params["member"] not in params["endpoints"]:
        module.fail_json(msg=f"member {params['member']} is not one of the endpoints {params['endpoints']}")
    cluster = Cluster(module.run_command, params["etcdctl"], params["endpoints"], params["command_timeout"])
    try:
        result = run_gate(cluster, params["member"], params["version"], params["timeout"])
    except GateError as failure:
        module.fail_json(msg=f"{params['member']} failed its gate at '{failure}'", check=failure.check)
    module.exit_json(changed=False, **result.as_dict())


if __name__ == "__main__":
    main()
