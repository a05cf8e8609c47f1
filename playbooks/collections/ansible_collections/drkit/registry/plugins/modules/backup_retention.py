#!/usr/bin/python
"""Ansible module: apply the spec's retention to a backup directory."""

from __future__ import annotations

DOCUMENTATION = r"""
module: backup_retention
short_description: Delete the snapshots a retention policy no longer keeps
description:
  - Keeps the newest snapshot of each of the last O(hourly) hours, O(daily) days and O(weekly) ISO weeks,
    and always the newest complete snapshot; deletes the rest.
  - Only snapshots named by a drkit manifest of O(stack) are ever deleted (the snapshot file first, then its
    manifest); any other file is left alone and reported as unmanaged.
  - Supports check mode (reports what would be deleted).
options:
  region:
    description: The region whose cluster's snapshots the policy applies to (each cluster is counted apart).
    type: str
    required: true
  hourly:
    description: Hourly buckets kept.
    type: int
    default: 24
  daily:
    description: Daily buckets kept.
    type: int
    default: 7
  weekly:
    description: Weekly buckets kept.
    type: int
    default: 4
  now:
    description: The moment buckets count back from (UTC, C(YYYY-MM-DDTHH:MM:SSZ)); the host's clock when unset.
    type: str
extends_documentation_fragment:
  - drkit.registry.backup_dir
author: drkit maintainers
"""

EXAMPLES = r"""
- name: Apply retention
  drkit.registry.backup_retention:
    path: /srv/registry-backups
    stack: prod
    hourly: 24
    daily: 7
    weekly: 4
"""

RETURN = r"""
kept: {description: Snapshot ID to the reason it is kept, returned: always, type: dict}
deleted: {description: Snapshot IDs deleted (or that would be, in check mode), returned: always, type: list}
unmanaged: {description: Files left alone because no drkit manifest names them, returned: always, type: list}
"""

from pathlib import Path  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.drkit.registry.plugins.module_utils.retention import (  # noqa: E402
    RETENTION_ARGUMENTS,
    plan_retention,
    retention_now,
)
from ansible_collections.drkit.registry.plugins.module_utils.snapshots import (  # noqa: E402
    MANIFEST_SUFFIX,
    SNAPSHOT_SUFFIX,
    read_catalog,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **RETENTION_ARGUMENTS,
            "path": {"type": "path", "required": True},
            "region": {"type": "str", "required": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        now = retention_now(params["now"])
    except ValueError as error:
        module.fail_json(msg=str(error))
    catalog = read_catalog(params["path"], params["stack"], params["region"])
    plan = plan_retention(catalog.snapshots, now, params["hourly"], params["daily"], params["weekly"])
    if not module.check_mode:
        for snapshot_id in plan.delete:
            # The snapshot first: an interruption leaves a manifest without its file, which the next run
            # deletes; the other order would leave a file no manifest names, which drkit never deletes.
            for suffix in (SNAPSHOT_SUFFIX, MANIFEST_SUFFIX):
                (Path(params["path"]) / (snapshot_id + suffix)).unlink(missing_ok=True)
    module.exit_json(changed=bool(plan.delete), kept=plan.keep, deleted=plan.delete, unmanaged=catalog.unmanaged)


if __name__ == "__main__":
    main()
