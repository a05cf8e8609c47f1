"""Where a lab keeps its files: everything under one state dir, nothing elsewhere."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# A unix socket path must fit in sun_path (108 bytes on Linux, with its terminating NUL).
_MAX_SOCKET_PATH = 100


class StateDirError(Exception):
    """The state dir cannot hold the lab (e.g. its path is too long for a unix socket)."""


@dataclass(frozen=True)
class LabPaths:
    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    def member_data(self, member: str) -> Path:
        return self.data / member

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    def etcd_config(self, member: str) -> Path:
        return self.etc / f"{member}.yml"

    @property
    def releases(self) -> Path:
        """One directory per installed etcd version, holding links to its etcd, etcdctl (and etcdutl)."""
        return self.root / "releases"

    def release(self, version: str) -> Path:
        return self.releases / version

    def member_bin(self, member: str) -> Path:
        """The link a member's binaries are run through (-> releases/<version>): upgrading a member is
        re-pointing this link and restarting it, as /opt/etcd/current is on a cloud host."""
        return self.root / "bin" / member

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def backups(self) -> Path:
        """The rsync daemon module's directory: the lab's backup target."""
        return self.root / "backups"

    @property
    def staging(self) -> Path:
        """Where the backup playbook writes a snapshot before it is verified and shipped."""
        return self.root / "staging"

    @property
    def supervisor_conf(self) -> Path:
        return self.root / "supervisord.conf"

    @property
    def supervisor_socket(self) -> Path:
        return self.run / "supervisor.sock"

    @property
    def supervisor_pid(self) -> Path:
        return self.run / "supervisord.pid"

    @property
    def haproxy_conf(self) -> Path:
        return self.root / "haproxy.cfg"

    @property
    def haproxy_socket(self) -> Path:
        return self.run / "haproxy.sock"

    @property
    def rsyncd_conf(self) -> Path:
        return self.root / "rsyncd.conf"

    @property
    def inventory(self) -> Path:
        return self.root / "inventory.yml"

    def interpreter_env(self, host: str) -> Path:
        """A link to drkit's own Python environment, one per inventory host (see sandbox.interpreters)."""
        return self.root / "python" / host

    @property
    def endpoint_state(self) -> Path:
        """Which regions the endpoint serves, so a restarted HAProxy keeps a failover's choice."""
        return self.root / "endpoint.json"

    def create(self) -> None:
        for socket_path in (self.supervisor_socket, self.haproxy_socket):
            if len(str(socket_path.resolve())) > _MAX_SOCKET_PATH:
                raise StateDirError(
                    f"the state dir {self.root} is too deep for the lab's unix sockets ({socket_path});"
                    " pass a shorter --state-dir"
                )
        for directory in (self.root, self.etc, self.data, self.logs, self.run, self.backups, self.releases):
            directory.mkdir(parents=True, exist_ok=True)
