#!/usr/bin/python
"""Ansible module: one step of one member's journaled restore (read the journal, stop, restore and start, healthy)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: member_restore
short_description: Stop a member, or restore it from a verified snapshot and start it, as its journal says
description:
  - C(step=stop) opens the member's restore journal and stops the member (unless the journal says it is
    restored), then waits until its client port is closed.
  - C(step=restore) moves the data dir aside (never deletes it), restores the snapshot into a new data dir
    with the new cluster token, puts it in place and starts the member, recording each phase.
  - C(step=healthy) waits until the member answers healthy and records it.
  - C(step=read) changes nothing and returns the member's journal (empty when there is none), so a run can
    tell an unfinished restore from a new one before it picks a snapshot.
  - Run C(stop) on every member before C(restore) on any, so no member starts beside an old one.
  - A re-run after an interruption resumes from the journal.
options:
  step:
    description: Which step.
    type: str
    choices: [read, stop, restore, healthy]
    required: true
  journal:
    description: The journal file (JSON), created by the stop step.
    type: path
    required: true
  opening:
    description: What the stop step records when it opens the journal (C(snapshot_id), C(token)).
    type: dict
    default: {}
  data_dir:
    description: The member's data dir.
    type: path
    required: true
  stop_command:
    description: The command that stops the member.
    type: str
  start_command:
    description: The command that starts the member.
    type: str
  client_url:
    description: The member's client URL, closed once it has stopped.
    type: str
  stop_timeout:
    description: Seconds to wait for the client port to close.
    type: int
    default: 60
  restore_command:
    description:
      - The snapshot restore command up to its C(--data-dir) argument, which the module adds (etcdctl's;
        see O(etcdutl)).
    type: list
    elements: str
  health_command:
    description: The command that exits 0 once the member is healthy (C(etcdctl endpoint health)).
    type: list
    elements: str
  health_timeout:
    description: Seconds to wait for the member to answer healthy.
    type: int
    default: 120
extends_documentation_fragment:
  - drkit.registry.etcd_tools
author: drkit maintainers
"""

EXAMPLES = r"""
- name: Stop the member
  drkit.registry.member_restore:
    step: stop
    journal: /var/lib/etcd.restore/journal.json
    opening: {snapshot_id: local-lab-east-20261207T114427Z, token: drkit-lab-east-restore-0a1b2c3d4e}
    data_dir: /var/lib/etcd
    stop_command: systemctl stop etcd
    client_url: https://10.40.0.10:2379
"""

RETURN = r"""
journal: {description: The journal after this step, returned: always, type: dict}
"""

import json  # noqa: E402
import shlex  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.drkit.registry.plugins.module_utils.etcd_tools import (  # noqa: E402
    ETCDUTL_ARGUMENT,
    snapshot_command,
)
from ansible_collections.drkit.registry.plugins.module_utils.member_restore import (  # noqa: E402
    RestoreStepError,
    healthy_step,
    restore_step,
    stop_step,
    wait_port_closed,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "step": {"type": "str", "choices": ["read", "stop", "restore", "healthy"], "required": True},
            "journal": {"type": "path", "required": True},
            "opening": {"type": "dict", "default": {}},
            "data_dir": {"type": "path", "required": True},
            "stop_command": {"type": "str"},
            "start_command": {"type": "str"},
            "client_url": {"type": "str"},
            "stop_timeout": {"type": "int", "default": 60},
            "restore_command": {"type": "list", "elements": "str"},
            "health_command": {"type": "list", "elements": "str"},
            "health_timeout": {"type": "int", "default": 120},
            **ETCDUTL_ARGUMENT,
        },
        required_if=[
            ("step", "stop", ("stop_command", "client_url")),
            ("step", "restore", ("start_command", "restore_command")),
            ("step", "healthy", ("health_command",)),
        ],
        supports_check_mode=False,
    )
    params = module.params
    journal_path = Path(params["journal"])
    try:
        journal = json.loads(journal_path.read_text("utf-8")) if journal_path.exists() else {}
    except (OSError, ValueError) as error:
        # Never guessed past: the journal is what says which data dirs were moved aside.
        module.fail_json(msg=f"cannot read the restore journal {journal_path}: {error}; nothing was changed")

    def run(argv: list[str]) -> None:
        rc, out, err = module.run_command(argv)
        if rc != 0:
            raise RestoreStepError(f"{shlex.join(argv)} exited {rc}: {(err or out).strip()[-500:]}")

    if params["step"] == "read":
        module.exit_json(changed=False, journal=journal)
    try:
        if params["step"] == "stop":
            url = urlsplit(params["client_url"])
            journal = stop_step(
                journal_path,
                journal,
                params["opening"],
                stop=lambda: run(shlex.split(params["stop_command"])),
                wait_closed=lambda: wait_port_closed(str(url.hostname), int(url.port or 2379), params["stop_timeout"]),
            )
        elif not journal:
            raise RestoreStepError(f"no journal at {journal_path}: run the stop step first")
        elif params["step"] == "healthy":
            journal = healthy_step(
                journal_path,
                journal,
                lambda: module.run_command(params["health_command"])[0] == 0,
                params["health_timeout"],
            )
        else:
            journal = restore_step(
                journal_path,
                journal,
                Path(params["data_dir"]),
                restore_into=lambda into: run(
                    [*snapshot_command(params["restore_command"], params["etcdutl"]), "--data-dir", str(into)]
                ),
                start=lambda: run(shlex.split(params["start_command"])),
            )
    except (RestoreStepError, OSError) as error:
        module.fail_json(msg=str(error), journal=journal)
    module.exit_json(changed=True, journal=journal)


if __name__ == "__main__":
    main()
