#!/usr/bin/python
"""Ansible module: apply the spec's retention to an S3 backup target."""

from __future__ import annotations

DOCUMENTATION = r"""
module: s3_retention
short_description: Delete the snapshot versions in S3 a retention policy no longer keeps
description:
  - The same policy as M(drkit.registry.backup_retention), over the bucket's snapshots of O(stack) and
    O(region); always keeps the newest complete one.
  - Deletes only the versions a drkit manifest of that stack and region names (the snapshot, then the
    manifest), and never a version still under Object Lock (reported as locked, deleted by a later run).
  - Supports check mode.
options:
  stack:
    description: The stack whose snapshots are considered.
    type: str
    required: true
  cluster_region:
    description: The region whose cluster's snapshots the policy applies to.
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
  - drkit.registry.s3_target
author: drkit maintainers
"""

EXAMPLES = r"""
- name: Apply retention in the bucket
  drkit.registry.s3_retention:
    name: s3-drkit-prod-backups-us-east-1
    bucket: drkit-prod-backups-us-east-1
    region: us-east-1
    stack: prod
    cluster_region: us-east-1
"""

RETURN = r"""
kept: {description: Snapshot ID to the reason it is kept, returned: always, type: dict}
deleted: {description: Snapshot IDs deleted (or that would be, in check mode), returned: always, type: list}
locked: {description: Snapshot ID to the time its Object Lock ends (not deleted yet), returned: always, type: dict}
unmanaged: {description: Keys no drkit manifest names, left alone, returned: always, type: list}
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.drkit.registry.plugins.module_utils.retention import (  # noqa: E402
    RETENTION_ARGUMENTS,
    retention_now,
)
from ansible_collections.drkit.registry.plugins.module_utils.s3_args import S3_ARGUMENTS  # noqa: E402
from ansible_collections.drkit.registry.plugins.module_utils.s3_store import (  # noqa: E402
    S3TargetError,
    apply_retention,
    client,
    target_from_params,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **RETENTION_ARGUMENTS,
            **S3_ARGUMENTS,
            "cluster_region": {"type": "str", "required": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        now = retention_now(params["now"])
    except ValueError as error:
        module.fail_json(msg=str(error))
    target = target_from_params(params)
    try:
        result = apply_retention(
            client(target),
            target,
            params["stack"],
            params["cluster_region"],
            now,
            params["hourly"],
            params["daily"],
            params["weekly"],
            check_mode=module.check_mode,
        )
    except S3TargetError as error:
        module.fail_json(msg=str(error))
    module.exit_json(changed=bool(result["deleted"]), **result)


if __name__ == "__main__":
    main()
