#!/usr/bin/python
"""Ansible module: fetch a verified snapshot from the first backup target that holds a valid copy."""

from __future__ import annotations

DOCUMENTATION = r"""
module: snapshot_fetch
short_description: Fetch a snapshot from the backup targets and verify it against its manifest
description:
  - Lists the stack's snapshots at every target, fetches the wanted one (an ID, or the latest) with rsync
    and accepts it only when size, sha256 and C(snapshot status) all match its manifest.
  - With O(fallback), a snapshot that fails is skipped for the previous one, and the result says so.
  - Changes nothing on the cluster.
options:
  targets:
    description:
      - Backup targets, in order of preference; each a dict with C(name) and C(url) (an rsync URL), or with
        C(type=s3), C(bucket), C(region) and optionally C(endpoint_url), C(replica_bucket), C(replica_region)
        and C(only_replica) (an S3 bucket; its replica is used when the bucket cannot be listed).
    type: list
    elements: dict
    required: true
  stack:
    description: Only this stack's snapshots are considered.
    type: str
    required: true
  region:
    description: Only snapshots of this region's cluster.
    type: str
    required: true
  snapshot:
    description: A snapshot ID, or C(latest).
    type: str
    default: latest
  dest:
    description: Directory the snapshot and its manifest are fetched into.
    type: path
    required: true
  status_command:
    description: The command that reads a snapshot file, e.g. C([etcdctl, snapshot, status]) (see O(etcdutl)).
    type: list
    elements: str
    required: true
  fallback:
    description: With C(latest), try older snapshots when the newest fails verification.
    type: bool
    default: true
  share_from:
    description:
      - A snapshot file another member on this host already fetched and verified (its manifest beside it):
        hard-linked into O(dest) instead of fetched and verified again. Fetched as usual when it cannot be
        linked.
    type: path
extends_documentation_fragment:
  - drkit.registry.etcd_tools
author: drkit maintainers
"""

EXAMPLES = r"""
- name: Fetch the latest valid snapshot
  drkit.registry.snapshot_fetch:
    targets: [{name: lab-rsync, url: "rsync://127.0.0.1:23803/drkit-backups/local"}]
    stack: local
    dest: /var/lib/drkit/restore
    status_command: [/usr/bin/etcdctl, snapshot, status]
"""

RETURN = r"""
snapshot_id: {description: The snapshot fetched and verified, returned: success, type: str}
path: {description: Where it was fetched, returned: success, type: str}
manifest: {description: Its manifest, returned: success, type: dict}
target: {description: The target it came from, returned: success, type: str}
source_note: {description: Where at that target (an S3 bucket, or its replica and why), returned: success, type: str}
fell_back: {description: True when a newer snapshot was rejected first, returned: always, type: bool}
rejected: {description: Copies that failed verification, with the reason, returned: always, type: list}
# Not "unreachable": Ansible takes a result with that key for an unreachable host.
unreachable_targets: {description: Targets that could not be listed, returned: always, type: list}
"""

from typing import Any  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.drkit.registry.plugins.module_utils.etcd_tools import (  # noqa: E402
    ETCDUTL_ARGUMENT,
    snapshot_command,
)
from ansible_collections.drkit.registry.plugins.module_utils.fetch import (  # noqa: E402
    Outcome,
    Source,
    Target,
    fetch_verified,
    share_verified,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "targets": {"type": "list", "elements": "dict", "required": True},
            "stack": {"type": "str", "required": True},
            "region": {"type": "str", "required": True},
            "snapshot": {"type": "str", "default": "latest"},
            "dest": {"type": "path", "required": True},
            "status_command": {"type": "list", "elements": "str", "required": True},
            "fallback": {"type": "bool", "default": True},
            "share_from": {"type": "path"},
            **ETCDUTL_ARGUMENT,
        },
        supports_check_mode=False,
    )
    params = module.params
    shared = share_verified(params["share_from"], params["snapshot"], params["dest"]) if params["share_from"] else None
    outcome = shared or fetch_from_targets(params, module.get_bin_path("rsync") or "rsync")
    result = {
        "changed": outcome.snapshot_id is not None,
        "snapshot_id": outcome.snapshot_id,
        "path": outcome.path,
        "manifest": outcome.manifest,
        "target": outcome.target,
        "source_note": outcome.source_note,
        "status": outcome.status,
        "fell_back": outcome.fell_back,
        "rejected": outcome.rejected,
        "unreachable_targets": outcome.unreachable,
    }
    if outcome.snapshot_id is None:
        module.fail_json(msg=no_snapshot_message(params["snapshot"], outcome.rejected, outcome.unreachable), **result)
    module.exit_json(**result)


def fetch_from_targets(params: dict[str, Any], rsync_bin: str) -> Outcome:
    targets: list[Source] = []
    for given in params["targets"]:
        if given.get("type") == "s3":
            # Only when there is an S3 target: rsync-only hosts need no boto3.
            from ansible_collections.drkit.registry.plugins.module_utils.s3_store import (
                S3Source,
                target_from_params,
            )

            targets.append(S3Source(target_from_params(given), only_replica=bool(given.get("only_replica"))))
        else:
            targets.append(Target(str(given["name"]), str(given["url"]).rstrip("/"), rsync_bin))
    return fetch_verified(
        targets,
        params["stack"],
        params["region"],
        params["snapshot"],
        params["dest"],
        snapshot_command(params["status_command"], params["etcdutl"]),
        fallback=params["fallback"] and params["snapshot"] == "latest",
    )


def no_snapshot_message(wanted: str, rejected: list[dict[str, str]], unreachable: list[dict[str, str]]) -> str:
    what = "no valid snapshot" if wanted == "latest" else f"snapshot {wanted} is not valid at any target"
    reasons = [f"{r['id']} at {r['target']}: {r['reason']}" for r in rejected]
    reasons += [f"target {u['target']} unreachable: {u['reason']}" for u in unreachable]
    if not rejected and not unreachable:
        reasons.append("no snapshot of this stack at any target" if wanted == "latest" else "no target holds it")
    return f"{what}; nothing was changed. " + "; ".join(reasons)


if __name__ == "__main__":
    main()
