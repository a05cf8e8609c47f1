"""Options every module that works on a backup directory shares."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  path:
    description: The backup directory, on the target host the module runs on.
    type: path
    required: true
  stack:
    description: The stack whose snapshots are considered; others are unmanaged.
    type: str
    required: true
"""
