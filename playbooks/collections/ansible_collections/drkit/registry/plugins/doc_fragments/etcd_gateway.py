"""Options every module that talks to etcd's JSON gateway shares."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  url:
    description: A member's client URL (http or https).
    type: str
    required: true
  cacert:
    description: CA bundle that signed the member's certificate, for an https URL.
    type: path
  cert:
    description: Client certificate, for an https URL.
    type: path
  key:
    description: Client key, for an https URL.
    type: path
"""
