#!/usr/bin/python
"""Ansible module: count keys at a revision through etcd's JSON gateway."""

from __future__ import annotations

DOCUMENTATION = r"""
module: key_counts
short_description: Count an etcd cluster's keys, in all and per prefix, at a revision
description:
  - Uses etcd's HTTP/JSON gateway with C(count_only), so no key is listed (etcdctl 3.4 has no --count-only).
options:
  prefixes:
    description: Prefixes to count separately.
    type: list
    elements: str
    default: []
  revision:
    description: Count at this revision; 0 counts now.
    type: int
    default: 0
extends_documentation_fragment:
  - drkit.registry.etcd_gateway
author: drkit maintainers
"""

EXAMPLES = r"""
- name: Count keys at the snapshot's revision
  drkit.registry.key_counts:
    url: http://127.0.0.1:2379
    prefixes: [/services/]
    revision: 1200
"""

RETURN = r"""
total: {description: Keys in the whole keyspace, returned: success, type: int}
prefixes: {description: Prefix to key count, returned: success, type: dict}
revision: {description: The revision counted at (the current one when 0 was asked), returned: success, type: int}
current_revision: {description: The cluster's revision now, returned: success, type: int}
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
            "prefixes": {"type": "list", "elements": "str", "default": []},
            "revision": {"type": "int", "default": 0},
        },
        supports_check_mode=True,
    )
    params = module.params
    gateway = Gateway.from_params(params)
    try:
        total, current = gateway.count(b"", params["revision"])
        per_prefix = {prefix: gateway.count(prefix.encode(), params["revision"])[0] for prefix in params["prefixes"]}
    except GatewayError as error:
        module.fail_json(msg=f"cannot count keys: {error}")
    module.exit_json(
        changed=False,
        total=total,
        prefixes=per_prefix,
        revision=params["revision"] or current,
        current_revision=current,
    )


if __name__ == "__main__":
    main()
