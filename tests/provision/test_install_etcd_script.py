"""drkit-install-etcd, the script cloud hosts install etcd releases with, run for real against a temporary
tree. The release base is a file:// URL (curl reads it like the release site), so nothing leaves the machine."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from drkit.provision import cloud_init

pytestmark = pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("sha256sum") is None, reason="needs curl and sha256sum"
)


def publish(base: Path, version: str, *, corrupt: bool = False) -> None:
    """A release directory like etcd's: the tarball (etcd, etcdctl, etcdutl under one top dir) and SHA256SUMS."""
    top = base / "build" / f"etcd-v{version}-linux-amd64"
    top.mkdir(parents=True)
    for tool in ("etcd", "etcdctl", "etcdutl", "README.md"):
        (top / tool).write_text(f"#!/bin/sh\necho {tool} {version}\n")
        (top / tool).chmod(0o755)
    release = base / f"v{version}"
    release.mkdir()
    tarball = release / f"{top.name}.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(top, arcname=top.name)
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    if corrupt:
        digest = "0" * 64
    (release / "SHA256SUMS").write_text(f"{digest}  {tarball.name}\n")


def install(tmp_path: Path, version: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "drkit-install-etcd"
    script.write_text(
        cloud_init.install_etcd_script(
            releases=str(tmp_path / "releases"),
            current=str(tmp_path / "current"),
            base=(tmp_path / "site").as_uri(),
            path=str(tmp_path / "bin"),
        )
    )
    script.chmod(0o755)
    (tmp_path / "bin").mkdir(exist_ok=True)
    return subprocess.run([str(script), version, "amd64"], capture_output=True, text=True, timeout=60, check=False)


def test_first_install_links_the_current_release_and_a_later_one_is_only_placed_beside_it(tmp_path: Path) -> None:
    publish(tmp_path / "site", "3.4.23")
    publish(tmp_path / "site", "3.5.17")
    first = install(tmp_path, "3.4.23")
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "current").readlink() == tmp_path / "releases" / "3.4.23"
    assert subprocess.run([tmp_path / "bin" / "etcdctl"], capture_output=True, text=True).stdout == "etcdctl 3.4.23\n"
    assert not (tmp_path / "releases" / "3.4.23" / "README.md").exists()  # only the binaries

    second = install(tmp_path, "3.5.17")
    assert second.returncode == 0, second.stderr
    assert (tmp_path / "releases" / "3.5.17" / "etcdutl").exists()
    # The running release stays current: the rolling upgrade re-points the link, member by member.
    assert (tmp_path / "current").readlink() == tmp_path / "releases" / "3.4.23"


def test_a_tarball_that_fails_its_checksum_is_not_installed(tmp_path: Path) -> None:
    publish(tmp_path / "site", "3.5.17", corrupt=True)
    result = install(tmp_path, "3.5.17")
    assert result.returncode != 0
    assert not (tmp_path / "releases" / "3.5.17").exists()
    assert not (tmp_path / "current").exists()
