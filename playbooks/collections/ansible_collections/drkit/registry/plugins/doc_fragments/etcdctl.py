"""Options every module that asks a cluster through etcdctl shares."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  etcdctl:
    description:
      - The etcdctl command as an argv list, TLS flags included (the drkit_etcd role's C(drkit_etcd_ctl) fact).
    type: list
    elements: str
    required: true
  endpoints:
    description: Every member's client URL.
    type: list
    elements: str
    required: true
  command_timeout:
    description: Seconds etcdctl waits for each member.
    type: int
    default: 5
"""
