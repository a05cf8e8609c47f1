#!/usr/bin/python
"""Ansible module: re-bind ephemeral registrations to a fresh lease after a restore or a promotion."""

from __future__ import annotations

DOCUMENTATION = r"""
module: lease_rebind
short_description: Re-bind every key under the ephemeral prefixes to one fresh lease
description:
  - After a restore (or a promotion of a mirrored standby) registrations carry leases whose timers were
    reset, or no lease at all. This grants one lease with O(ttl), writes every key under O(prefixes) again
    bound to it (batched transactions that skip a key changed meanwhile), then revokes the old leases.
  - Dead instances' registrations therefore expire within O(ttl); live instances see their lease gone
    (keep-alive fails) and re-register, which every registration client does on a lost lease.
options:
  prefixes:
    description: The spec's ephemeral prefixes.
    type: list
    elements: str
    required: true
  ttl:
    description: The fresh lease's TTL in seconds (the spec's leaseTtl).
    type: int
    required: true
extends_documentation_fragment:
  - drkit.registry.etcd_gateway
author: drkit maintainers
"""

EXAMPLES = r"""
- name: Re-bind registrations
  drkit.registry.lease_rebind:
    url: http://127.0.0.1:2379
    prefixes: [/services/]
    ttl: 30
"""

RETURN = r"""
lease: {description: The fresh lease's ID (0 when there was nothing to re-bind), returned: success, type: int}
keys: {description: Keys found under the prefixes, returned: success, type: int}
rebound: {description: Keys re-bound to the fresh lease, returned: success, type: int}
revoked: {description: Old leases revoked, returned: success, type: int}
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.drkit.registry.plugins.module_utils.etcd_gateway import (  # noqa: E402
    GATEWAY_ARGUMENTS,
    Gateway,
    GatewayError,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **GATEWAY_ARGUMENTS,
            "prefixes": {"type": "list", "elements": "str", "required": True},
            "ttl": {"type": "int", "required": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    if params["ttl"] < 1:
        module.fail_json(msg=f"ttl: {params['ttl']} must be at least 1 second")
    gateway = Gateway.from_params(params)
    try:
        records = [record for prefix in params["prefixes"] for record in gateway.key_values(prefix.encode())]
        old_leases = {int(record["lease"]) for record in records if int(record.get("lease", 0) or 0)}
        if module.check_mode or not records:
            module.exit_json(changed=False, lease=0, keys=len(records), rebound=0, revoked=0)
        lease = gateway.grant(params["ttl"])
        rebound = gateway.put_with_lease(records, lease)
        revoked = sum(1 for old in sorted(old_leases) if gateway.revoke(old))
    except GatewayError as error:
        module.fail_json(msg=f"cannot re-bind leases: {error}")
    module.exit_json(changed=True, lease=lease, keys=len(records), rebound=rebound, revoked=revoked)


if __name__ == "__main__":
    main()
