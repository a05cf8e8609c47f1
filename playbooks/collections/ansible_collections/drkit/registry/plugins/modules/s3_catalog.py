#!/usr/bin/python
"""Ansible module: list a stack's snapshots in an S3 backup target and its replica."""

from __future__ import annotations

DOCUMENTATION = r"""
module: s3_catalog
short_description: List a stack's drkit snapshots in an S3 bucket, and where their replicas are
description:
  - Reads the drkit manifests in the bucket and reports each snapshot, newest first, with whether the version
    its manifest names is there with the manifest's size and sha256, its Object Lock and its ReplicationStatus;
    with a replica bucket, whether the replica holds it too.
  - A bucket that cannot be read is reported (C(error)), not failed, so the other targets are still listed.
options:
  stack:
    description: The stack whose snapshots are listed.
    type: str
    required: true
  cluster_region:
    description: Only snapshots of this region's cluster (all regions when unset).
    type: str
extends_documentation_fragment:
  - drkit.registry.s3_target
author: drkit maintainers
"""

EXAMPLES = r"""
- name: List the snapshots in the bucket
  drkit.registry.s3_catalog:
    name: s3-drkit-prod-backups-us-east-1
    bucket: drkit-prod-backups-us-east-1
    region: us-east-1
    stack: prod
"""

RETURN = r"""
snapshots: {description: One summary per snapshot, newest first, returned: always, type: list}
replica: {description: The replica bucket's snapshots (same shape), or null, returned: always, type: list}
unmanaged: {description: Keys no drkit manifest names, returned: always, type: list}
error: {description: Why the bucket could not be read, or null, returned: always, type: str}
replica_error: {description: Why the replica could not be read, or null, returned: always, type: str}
"""

from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.drkit.registry.plugins.module_utils.s3_args import S3_ARGUMENTS  # noqa: E402
from ansible_collections.drkit.registry.plugins.module_utils.s3_store import (  # noqa: E402
    S3Target,
    S3TargetError,
    client,
    read_catalog,
    summaries,
    target_from_params,
)


def listing(
    target: S3Target, stack: str, region: str | None, replica: bool
) -> tuple[list[dict[str, Any]], list[str], str | None]:
    bucket = target.replica_bucket if replica else target.bucket
    try:
        catalog = read_catalog(client(target, replica), target, stack, region, bucket=bucket)
    except S3TargetError as error:
        return [], [], str(error)
    return summaries(catalog), catalog.unmanaged, None


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **S3_ARGUMENTS,
            "stack": {"type": "str", "required": True},
            "cluster_region": {"type": "str"},
        },
        supports_check_mode=True,
    )
    params = module.params
    target = target_from_params(params)
    try:
        snapshots, unmanaged, error = listing(target, params["stack"], params["cluster_region"], replica=False)
        replica, replica_error = None, None
        if target.replica_bucket:
            replica, _, replica_error = listing(target, params["stack"], params["cluster_region"], replica=True)
    except ImportError:
        module.fail_json(msg=f"backup target {params['name']}: boto3 is not installed on this host")
    module.exit_json(
        changed=False,
        snapshots=snapshots,
        replica=replica,
        unmanaged=unmanaged,
        error=error,
        replica_error=replica_error,
    )


if __name__ == "__main__":
    main()
