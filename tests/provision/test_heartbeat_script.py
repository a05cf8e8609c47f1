"""drkit-heartbeat, the cloud members' heartbeat, run for real against a real single-member etcd on loopback
(etcd 3.4.23 from Debian, its etcdctl): it writes only while its region is the primary, and only there."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from drkit.failover import registry
from drkit.provision import cloud_init
from tests.sandbox.conftest import free_block

pytestmark = pytest.mark.skipif(not Path("/usr/bin/etcd").exists(), reason="needs etcd (Debian etcd-server)")


@pytest.fixture
def etcd(tmp_path: Path) -> tuple[str, Path]:
    port = free_block(2)
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            "/usr/bin/etcd",
            f"--data-dir={tmp_path / 'data'}",
            f"--listen-client-urls={url}",
            f"--advertise-client-urls={url}",
            f"--listen-peer-urls=http://127.0.0.1:{port + 1}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{port + 1}",
            f"--initial-cluster=default=http://127.0.0.1:{port + 1}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        cluster = registry.Cluster("r", (url,))
        deadline = time.monotonic() + 20
        while not registry.health(cluster).has_quorum and time.monotonic() < deadline:
            time.sleep(0.1)
        env = tmp_path / "etcd.env"
        env.write_text(f"ETCD_ADVERTISE_CLIENT_URLS={url}\nETCD_NAME=default\n")
        yield url, env
    finally:
        process.terminate()
        process.wait(timeout=20)


def _run(tmp_path: Path, env: Path, region: str, role: str, seconds: float) -> None:
    script = tmp_path / "drkit-heartbeat"
    script.write_text(cloud_init.heartbeat_script(bin_dir="/usr/bin"))
    process = subprocess.Popen([sys.executable, str(script), region, role, str(env)], start_new_session=True)
    time.sleep(seconds)
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=10)


def test_the_boot_primary_beats_until_an_epoch_names_another_region(etcd: tuple[str, Path], tmp_path: Path) -> None:
    url, env = etcd
    cluster = registry.Cluster("us-east-1", (url,))
    _run(tmp_path, env, "us-east-1", "primary", 2.5)
    first = registry.read_heartbeat(cluster)
    assert first is not None and time.time() - first < 5

    epoch = registry.Epoch(2, "us-west-2", "us-east-1", time.time(), "failover")
    registry.write_epoch(cluster, epoch)
    _run(tmp_path, env, "us-east-1", "primary", 2.5)
    assert registry.read_heartbeat(cluster) == first, "a region the epoch does not name must stay silent"


def test_a_standby_is_silent_and_beats_once_promoted(etcd: tuple[str, Path], tmp_path: Path) -> None:
    url, env = etcd
    cluster = registry.Cluster("us-west-2", (url,))
    _run(tmp_path, env, "us-west-2", "standby", 2.0)
    assert registry.read_heartbeat(cluster) is None
    registry.put(cluster, registry.EPOCH_KEY, json.dumps({"epoch": 2, "primary": "us-west-2"}))
    _run(tmp_path, env, "us-west-2", "standby", 2.5)
    assert registry.read_heartbeat(cluster) is not None
