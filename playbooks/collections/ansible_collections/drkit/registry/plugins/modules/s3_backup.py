#!/usr/bin/python
"""Ansible module: upload a verified snapshot to an S3 backup target, lock it, then write its manifest."""

from __future__ import annotations

DOCUMENTATION = r"""
module: s3_backup
short_description: Upload a snapshot to S3 with its checksum and Object Lock, then its manifest
description:
  - Checks the bucket (exists, versioned, Object Lock on when O(object_lock_seconds) is set), chooses the
    snapshot's class (weekly, daily or hourly prefix), uploads it in parts with a SHA-256 per part, reads back
    its size and checksum, locks the version for as long as retention keeps its class, and writes the
    manifest LAST, naming the version.
options:
  path:
    description: The staged snapshot file.
    type: path
    required: true
  manifest:
    description: The snapshot's manifest (drkit.snapshot/v1).
    type: dict
    required: true
  hourly:
    description: Retention's hourly count (how long an hourly snapshot is locked).
    type: int
    default: 24
  daily:
    description: Retention's daily count.
    type: int
    default: 7
  weekly:
    description: Retention's weekly count.
    type: int
    default: 4
extends_documentation_fragment:
  - drkit.registry.s3_target
author: drkit maintainers
"""

EXAMPLES = r"""
- name: Upload to S3
  drkit.registry.s3_backup:
    name: s3-drkit-prod-backups-us-east-1
    bucket: drkit-prod-backups-us-east-1
    region: us-east-1
    path: /var/lib/drkit/staging/prod-us-east-1-20261122T040000Z.db
    manifest: "{{ drkit_backup_manifest }}"
"""

RETURN = r"""
manifest: {description: The manifest as written to the bucket (with its s3 section), returned: success, type: dict}
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.drkit.registry.plugins.module_utils.s3_args import S3_ARGUMENTS  # noqa: E402
from ansible_collections.drkit.registry.plugins.module_utils.s3_store import (  # noqa: E402
    S3TargetError,
    target_from_params,
    upload_snapshot,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **S3_ARGUMENTS,
            "path": {"type": "path", "required": True},
            "manifest": {"type": "dict", "required": True},
            "hourly": {"type": "int", "default": 24},
            "daily": {"type": "int", "default": 7},
            "weekly": {"type": "int", "default": 4},
        },
        supports_check_mode=False,
    )
    params = module.params
    try:
        written = upload_snapshot(
            target_from_params(params),
            params["path"],
            params["manifest"],
            params["hourly"],
            params["daily"],
            params["weekly"],
        )
    except ImportError:
        module.fail_json(msg=f"backup target {params['name']}: boto3 is not installed on this host")
    except S3TargetError as error:
        module.fail_json(msg=str(error))
    module.exit_json(changed=True, manifest=written)


if __name__ == "__main__":
    main()
