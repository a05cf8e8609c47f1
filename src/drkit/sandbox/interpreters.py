"""One Python interpreter path per lab host, as real hosts have.

Every lab host runs its modules locally with drkit's own Python. Mitogen (the strategy drkit runs playbooks
with) keeps one interpreter per distinct connection, and for a local connection the only thing that tells
connections apart is the interpreter's path: with one shared path the lab's "hosts" shared one interpreter,
and a task on three members ran one member at a time (3 x 1 s for a 1 s task; mitogen issue #496), while on
real hosts it runs on all at once. So each host gets its own path to the same environment: a link to the
environment's directory (a link to the binary alone would lose the virtualenv, which Python finds from the
path it was started by), and the interpreter's path inside it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from drkit.sandbox.paths import LabPaths

# What the inventory said before, and says when drkit's interpreter is not inside its prefix: the
# interpreter that runs Ansible (shared by every host under Mitogen).
SHARED = "{{ ansible_playbook_python }}"


def host_interpreter(paths: LabPaths, host: str) -> str:
    """The interpreter path for `host`'s modules, creating (or re-pointing) its link to this environment."""
    prefix = Path(sys.prefix)
    executable = Path(sys.executable)
    if not executable.is_relative_to(prefix):
        return SHARED
    link = paths.interpreter_env(host)
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.exists() and not link.is_symlink():
        return SHARED  # not a link drkit made: left alone, and the host shares the interpreter
    if not (link.is_symlink() and link.readlink() == prefix):
        if link.is_symlink():
            link.unlink()  # a link drkit made to another environment (a link only: nothing is deleted)
        link.symlink_to(prefix, target_is_directory=True)
    return str(link / executable.relative_to(prefix))
