#!/usr/bin/python
"""Ansible module: list a stack's snapshots in a backup directory."""

from __future__ import annotations

DOCUMENTATION = r"""
module: backup_catalog
short_description: List a stack's drkit snapshots in a backup directory
description:
  - Reads the drkit manifests in O(path) and reports each snapshot, newest first, with whether its file is
    there at the size the manifest records; files no drkit manifest names are listed as unmanaged.
options:
  region:
    description: Only snapshots of this region's cluster (all regions when unset).
    type: str
extends_documentation_fragment:
  - drkit.registry.backup_dir
author: drkit maintainers
"""

EXAMPLES = r"""
- name: List the snapshots at a target
  drkit.registry.backup_catalog:
    path: /srv/registry-backups
    stack: prod
"""

RETURN = r"""
snapshots: {description: One summary per snapshot, newest first, returned: always, type: list}
unmanaged: {description: Files that are not drkit snapshots or manifests, returned: always, type: list}
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.drkit.registry.plugins.module_utils.snapshots import read_catalog  # noqa: E402


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "stack": {"type": "str", "required": True},
            "region": {"type": "str"},
        },
        supports_check_mode=True,
    )
    catalog = read_catalog(module.params["path"], module.params["stack"], module.params["region"])
    module.exit_json(
        changed=False,
        snapshots=[snapshot.summary() for snapshot in catalog.snapshots],
        unmanaged=catalog.unmanaged,
    )


if __name__ == "__main__":
    main()
