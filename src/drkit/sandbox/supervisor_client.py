"""Start supervisord for a lab and drive it over its XML-RPC unix socket."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import xmlrpc.client
from pathlib import Path
from typing import Any, cast

from supervisor.xmlrpc import SupervisorTransport

from drkit.sandbox.paths import LabPaths


class SupervisorError(Exception):
    pass


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Supervisor:
    def __init__(self, paths: LabPaths) -> None:
        self.paths = paths

    def _proxy(self) -> Any:
        transport = SupervisorTransport(None, None, f"unix://{self.paths.supervisor_socket}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

    @property
    def pid(self) -> int | None:
        try:
            pid = int(self.paths.supervisor_pid.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def running(self) -> bool:
        if self.pid is None:
            return False
        try:
            return cast(str, self._proxy().supervisor.getState()["statename"]) == "RUNNING"
        except (OSError, xmlrpc.client.Fault):
            return False

    def start(self, timeout: float = 20.0) -> None:
        supervisord = Path(sys.executable).with_name("supervisord")
        result = subprocess.run(
            [str(supervisord), "-c", str(self.paths.supervisor_conf)], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise SupervisorError(f"supervisord did not start: {result.stderr.strip() or result.stdout.strip()}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.running():
                return
            time.sleep(0.1)
        raise SupervisorError(f"supervisord did not answer on {self.paths.supervisor_socket} in {timeout:.0f}s")

    def processes(self) -> dict[str, dict[str, Any]]:
        """Program name -> supervisor's process info (statename, pid, ...)."""
        return {info["name"]: info for info in self._proxy().supervisor.getAllProcessInfo()}

    def start_program(self, name: str, wait: bool = True) -> None:
        try:
            self._proxy().supervisor.startProcess(name, wait)
        except xmlrpc.client.Fault as fault:
            if "ALREADY_STARTED" not in fault.faultString:
                raise SupervisorError(f"{name} did not start: {fault.faultString} (see its log in logs/)") from None

    def stop_program(self, name: str) -> None:
        try:
            self._proxy().supervisor.stopProcess(name, True)
        except xmlrpc.client.Fault as fault:
            if "NOT_RUNNING" not in fault.faultString:
                raise SupervisorError(f"{name} did not stop: {fault.faultString}") from None

    def reload(self, keep: tuple[str, ...] = ()) -> list[str]:
        """Apply a rewritten config as `supervisorctl update` does: groups whose program changed are stopped
        and re-added, new ones added (and started when autostart), removed ones stopped. Groups named with a
        prefix in `keep` are left running as they are (a guard reloading the config must not stop itself).
        Returns the groups that changed."""
        proxy = self._proxy()
        added, changed, removed = proxy.supervisor.reloadConfig()[0]
        changed = [name for name in changed if not name.startswith(keep)]
        for name in [*changed, *removed]:
            with contextlib.suppress(xmlrpc.client.Fault):  # already stopped
                proxy.supervisor.stopProcessGroup(name, True)
            proxy.supervisor.removeProcessGroup(name)
        for name in [*changed, *added]:
            proxy.supervisor.addProcessGroup(name)
        return sorted([*added, *changed, *removed])

    def pids(self) -> list[int]:
        return [info["pid"] for info in self.processes().values() if info["pid"]]

    def shutdown(self, timeout: float = 60.0) -> list[int]:
        """Stop every program, then supervisord itself; returns pids that had to be killed."""
        pid = self.pid
        children = []
        if pid is not None and self.running():
            children = self.pids()
            self._proxy().supervisor.stopAllProcesses(True)
            self._proxy().supervisor.shutdown()
        leftovers = []
        deadline = time.monotonic() + timeout
        for process in [*children, *([pid] if pid else [])]:
            while pid_alive(process) and time.monotonic() < deadline:
                time.sleep(0.1)
            if pid_alive(process):
                os.kill(process, signal.SIGKILL)
                leftovers.append(process)
        return leftovers
