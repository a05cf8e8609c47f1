"""A real single-member etcd on loopback (etcd 3.4.23 from Debian), for tests that need the witness's lease
semantics for real rather than scripted. Stopped by its pid when the test ends, whatever happened."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from drkit.failover import registry
from tests.sandbox.conftest import free_block

ETCD = Path("/usr/bin/etcd")


@contextmanager
def single_etcd(data_dir: Path, name: str = "default") -> Iterator[str]:
    """Start etcd with its data in `data_dir`; yields its client URL once it is healthy."""
    port = free_block(2)
    url = f"http://127.0.0.1:{port}"
    peer = f"http://127.0.0.1:{port + 1}"
    process = subprocess.Popen(
        [
            str(ETCD),
            f"--name={name}",
            f"--data-dir={data_dir}",
            f"--listen-client-urls={url}",
            f"--advertise-client-urls={url}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster={name}={peer}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        cluster = registry.Cluster(name, (url,))
        deadline = time.monotonic() + 20
        while not registry.health(cluster).has_quorum:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"etcd on {url} did not become healthy")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
