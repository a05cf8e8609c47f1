"""The option every module that runs an etcd snapshot command (status, restore) shares."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  etcdutl:
    description:
      - Where this host's release keeps etcdutl (the member's release link). When that file exists, it runs
        the snapshot command in place of the command's etcdctl (etcdutl owns snapshot status and restore from
        etcd 3.5 on; 3.4 has only etcdctl's).
    type: path
"""
