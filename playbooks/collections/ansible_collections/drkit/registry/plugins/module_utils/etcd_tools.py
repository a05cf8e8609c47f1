"""Which etcd tool reads and restores snapshots on this host: decided on the host, by the module itself.

etcdutl owns `snapshot status` and `snapshot restore` from etcd 3.5 on (etcdctl's are deprecated there);
3.4 has only etcdctl's. The member's release link decides, and it is read where the module runs, so a play
needs no task on every member first to find out (that task was the only one touching every member of a
backup, which itself reads from one). Standard library only: this file ships to the hosts a module runs on.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# The argument every module running a snapshot command takes (documented by the etcd_tools doc fragment).
ETCDUTL_ARGUMENT: dict[str, dict[str, Any]] = {"etcdutl": {"type": "path"}}


def snapshot_command(command: list[str], etcdutl: str | None) -> list[str]:
    """`command` (etcdctl's, e.g. [etcdctl, snapshot, status]) run by etcdutl when this host's release has it."""
    if etcdutl and Path(etcdutl).is_file() and os.access(etcdutl, os.X_OK):
        return [etcdutl, *command[1:]]
    return list(command)
