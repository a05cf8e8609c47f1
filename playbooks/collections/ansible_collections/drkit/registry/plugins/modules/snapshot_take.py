#!/usr/bin/python
"""Ansible module: take a snapshot from a member, check it, hash it, count its keys, write its manifest."""

from __future__ import annotations

DOCUMENTATION = r"""
module: snapshot_take
short_description: Save an etcd snapshot into a staging directory and describe it in a drkit manifest
description:
  - Saves a snapshot from O(url) with C(etcdctl snapshot save), reads it with C(snapshot status) (a file
    that fails is kept as C(<id>.db.rejected) and the module fails: nothing may ship it), then hashes it,
    counts the keys at its revision (in all and per prefix, through the JSON gateway) and writes the
    manifest C(<id>.json) beside it.
options:
  etcdctl:
    description: The etcdctl command with its TLS arguments, without endpoints.
    type: list
    elements: str
    required: true
  status_command:
    description: The command that reads a snapshot file, e.g. C([etcdctl, snapshot, status]) (see O(etcdutl)).
    type: list
    elements: str
    required: true
  staging:
    description: Directory the snapshot and its manifest are written to.
    type: path
    required: true
  snapshot_id:
    description: The snapshot's ID (its file is C(<id>.db)).
    type: str
    required: true
  describe:
    description: What the manifest says about where the snapshot came from (stack, region, cluster, member).
    type: dict
    required: true
  prefixes:
    description: Ephemeral prefixes whose keys are counted separately.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - drkit.registry.etcd_gateway
  - drkit.registry.etcd_tools
author: drkit maintainers
"""

EXAMPLES = r"""
- name: Take the snapshot
  drkit.registry.snapshot_take:
    etcdctl: [/usr/bin/etcdctl]
    url: http://127.0.0.1:2379
    status_command: [/usr/bin/etcdctl, snapshot, status]
    staging: /var/lib/drkit/staging
    snapshot_id: local-lab-east-20261207T114427Z
    describe: {stack: local, region: lab-east}
"""

RETURN = r"""
manifest: {description: The snapshot's manifest, as written beside it, returned: success, type: dict}
"""

from pathlib import Path  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.drkit.registry.plugins.module_utils.etcd_gateway import (  # noqa: E402
    GATEWAY_ARGUMENTS,
    Gateway,
    GatewayError,
)
from ansible_collections.drkit.registry.plugins.module_utils.etcd_tools import (  # noqa: E402
    ETCDUTL_ARGUMENT,
    snapshot_command,
)
from ansible_collections.drkit.registry.plugins.module_utils.snapshot_take import (  # noqa: E402
    SnapshotError,
    take_snapshot,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **GATEWAY_ARGUMENTS,
            **ETCDUTL_ARGUMENT,
            "etcdctl": {"type": "list", "elements": "str", "required": True},
            "status_command": {"type": "list", "elements": "str", "required": True},
            "staging": {"type": "path", "required": True},
            "snapshot_id": {"type": "str", "required": True},
            "describe": {"type": "dict", "required": True},
            "prefixes": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=False,
    )
    params = module.params
    gateway = Gateway.from_params(params)
    try:
        manifest = take_snapshot(
            [*params["etcdctl"], f"--endpoints={params['url']}", "snapshot", "save"],
            snapshot_command(params["status_command"], params["etcdutl"]),
            Path(params["staging"]),
            params["snapshot_id"],
            params["describe"],
            params["prefixes"],
            count=lambda prefix, revision: gateway.count(prefix.encode(), revision)[0],
        )
    except (SnapshotError, GatewayError, OSError) as error:
        module.fail_json(msg=str(error))
    module.exit_json(changed=True, manifest=manifest)


if __name__ == "__main__":
    main()
