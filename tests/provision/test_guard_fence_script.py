"""The guards in a member's cloud-config, and drkit-guard-fence (the fence path, standard library only) run
for real against two real single-member etcds on loopback (etcd 3.4.23 from Debian): one the witness, one
the member's own. systemctl is a script that records what it was asked (no systemd here)."""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from drkit.failover import registry
from drkit.operate.collection import Gateway, b64
from drkit.provision import cloud_init
from tests.failover.real_etcd import ETCD, single_etcd

STACK, REGION = "prod", "us-east-1"
TTL, LOOP_WAIT, RETRY = 3, 0.5, 0.5  # the member fences 2 s after the last renewal it can prove

BOOT = cloud_init.MemberBoot(
    stack=STACK,
    region=REGION,
    version="3.5.17",
    arch="amd64",
    tls_secret_id="arn:aws:secretsmanager:us-east-1:123456789012:secret:us-east-1-1-tls",
    data_device="/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123",
    etcd_env={"ETCD_ADVERTISE_CLIENT_URLS": "https://10.40.0.10:2379", "ETCD_NAME": "us-east-1-1"},
    role="primary",
)
WITNESS = ("https://10.60.0.10:2379", "https://10.61.0.10:2379", "https://10.62.0.10:2379")


def _config(boot: cloud_init.MemberBoot) -> dict[str, object]:
    data: dict[str, object] = yaml.safe_load(cloud_init.member_user_data(boot).removeprefix("#cloud-config\n"))
    return data


def _files(config: dict[str, object]) -> dict[str, str]:
    files = {}
    for entry in config["write_files"]:  # type: ignore[attr-defined]
        content = entry["content"]
        if entry.get("encoding") == "gz+b64":
            content = gzip.decompress(base64.b64decode(content)).decode()
        files[entry["path"]] = content
    return files


def test_a_member_with_a_witness_boots_both_guard_units_with_their_parameters() -> None:
    guard = cloud_init.GuardBoot(WITNESS, ttl=10, loop_wait=2, retry_timeout=3)
    config = _config(dataclasses.replace(BOOT, guard=guard))
    files = _files(config)
    env = dict(line.split("=", 1) for line in files["/etc/drkit/guard.env"].splitlines())
    assert env["DRKIT_WITNESS"] == ",".join(WITNESS)
    assert (env["DRKIT_GUARD_TTL"], env["DRKIT_GUARD_LOOP_WAIT"], env["DRKIT_GUARD_RETRY_TIMEOUT"]) == ("10", "2", "3")
    assert (env["DRKIT_STACK"], env["DRKIT_REGION"], env["DRKIT_BOOT_ROLE"]) == (STACK, REGION, "primary")
    assert env["DRKIT_LOCAL_URL"] == "https://10.40.0.10:2379"
    fence_unit = files["/etc/systemd/system/drkit-guard-fence.service"]
    assert "ExecStart=/usr/local/sbin/drkit-guard-fence /etc/drkit/guard.env" in fence_unit
    assert files["/usr/local/sbin/drkit-guard-fence"].startswith("#!/usr/bin/env python3")
    guard_unit = files["/etc/systemd/system/drkit-guard.service"]
    assert "ConditionPathExists=/opt/drkit/venv/bin/python" in guard_unit  # inert until drkit is installed
    assert "-m drkit.failover.guard_aws" in guard_unit and "EnvironmentFile=/etc/drkit/guard.env" in guard_unit
    commands = config["runcmd"]
    assert commands[-1] == [  # type: ignore[index]
        "systemctl",
        "enable",
        "--now",
        "etcd.service",
        "drkit-heartbeat.service",
        "drkit-guard-fence.service",
        "drkit-guard.service",
    ]
    # EC2 takes at most 16 KB of user data.
    assert len(cloud_init.member_user_data(dataclasses.replace(BOOT, guard=guard))) < 16 * 1024 - 4096


def test_a_member_without_a_witness_has_no_guard() -> None:
    files = _files(_config(BOOT))
    assert not [path for path in files if "guard" in path]


def test_the_guard_timing_is_checked_at_boot_rendering() -> None:
    with pytest.raises(ValueError, match="must not exceed the ttl"):
        cloud_init.GuardBoot(WITNESS, ttl=5, loop_wait=2, retry_timeout=2)
    with pytest.raises(ValueError, match="witness's client URLs"):
        cloud_init.GuardBoot(())


# --- drkit-guard-fence, for real ---------------------------------------------------------------------------


@pytest.fixture
def etcds(tmp_path: Path) -> Iterator[tuple[str, str]]:
    if not ETCD.exists():
        pytest.skip("needs etcd (Debian etcd-server)")
    with single_etcd(tmp_path / "witness", "witness") as witness, single_etcd(tmp_path / "own", "member") as own:
        yield witness, own


@pytest.fixture
def fence(tmp_path: Path, etcds: tuple[str, str]) -> Iterator[Path]:
    """The script running against the two etcds; yields the log its systemctl writes (action, unit, time)."""
    witness, own = etcds
    log = tmp_path / "systemctl.log"
    systemctl = tmp_path / "systemctl"
    systemctl.write_text(f'#!/bin/sh\necho "$1 $2 $(date +%s.%N)" >> {log}\n')
    systemctl.chmod(0o755)
    guard = cloud_init.GuardBoot((witness,), ttl=TTL, loop_wait=LOOP_WAIT, retry_timeout=RETRY)
    env = tmp_path / "guard.env"
    env.write_text(cloud_init.guard_env(STACK, REGION, "primary", own, guard))
    etcd_env = tmp_path / "etcd.env"
    etcd_env.write_text(f"ETCD_ADVERTISE_CLIENT_URLS={own}\n")
    script = tmp_path / "drkit-guard-fence"
    script.write_text(cloud_init.guard_fence_script(systemctl=str(systemctl), state_dir=str(tmp_path / "state")))
    with env.open("a") as extra:
        extra.write(f"DRKIT_GUARD_STATE_DIR={tmp_path / 'state'}\n")
    process = subprocess.Popen([sys.executable, str(script), str(env), str(etcd_env)], start_new_session=True)
    try:
        yield log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def _calls(log: Path) -> list[tuple[str, float]]:
    if not log.exists():
        return []
    return [(f"{line.split()[0]} {line.split()[1]}", float(line.split()[2])) for line in log.read_text().splitlines()]


def _hold(witness: Gateway, region: str) -> int:
    """What the region's renewing guard does: the key under a fresh lease of TTL seconds."""
    lease = witness.grant(TTL)
    record = json.dumps({"region": region, "at": time.time(), "epoch": 1})
    key = b64(f"/drkit/witness/{STACK}/primary".encode())
    witness.call("/v3/kv/put", {"key": key, "value": b64(record.encode()), "lease": str(lease)})
    return lease


def _wait(log: Path, count: int, timeout: float = 15) -> list[tuple[str, float]]:
    deadline = time.monotonic() + timeout
    while len(_calls(log)) < count:
        assert time.monotonic() < deadline, f"systemctl calls: {_calls(log)}"
        time.sleep(0.05)
    return _calls(log)


def test_the_fence_script_stops_etcd_before_the_lease_lapses_and_starts_it_when_the_region_holds_the_key(
    etcds: tuple[str, str], fence: Path
) -> None:
    witness = Gateway(etcds[0], timeout=1.0)
    time.sleep(2 * TTL)
    assert _calls(fence) == [], "fenced although no guard ever held the key (not armed)"

    lease = _hold(witness, REGION)
    for _ in range(int(2 * TTL / LOOP_WAIT)):  # the leader's guard renews every loop
        witness.call("/v3/lease/keepalive", {"ID": str(lease)})
        last_renewal = time.time()
        time.sleep(LOOP_WAIT)
    assert _calls(fence) == [], "fenced while the lease was renewed"

    # The renewals stop (the leader's guard lost the witness): stopped before the lease can lapse.
    (action, at), *_ = _wait(fence, 1)
    assert action == "stop etcd.service"
    assert last_renewal < at < last_renewal + TTL

    # A guard of this region took the key back: etcd starts again.
    _hold(witness, REGION)
    assert _wait(fence, 2)[1][0] == "start etcd.service"

    # Another region holds the key (it was promoted): stopped at once, and it stays stopped.
    _hold(witness, "us-west-2")
    assert _wait(fence, 3)[2][0] == "stop etcd.service"
    time.sleep(TTL)
    assert len(_calls(fence)) == 3


def test_the_fence_script_of_a_standby_member_never_fences(etcds: tuple[str, str], fence: Path) -> None:
    witness_url, own = etcds
    registry.put(registry.Cluster(REGION, (own,)), registry.EPOCH_KEY, json.dumps({"epoch": 2, "primary": "us-west-2"}))
    lease = _hold(Gateway(witness_url, timeout=1.0), REGION)
    time.sleep(1)
    Gateway(witness_url, timeout=1.0).call("/v3/lease/revoke", {"ID": str(lease)})
    time.sleep(2 * TTL)
    assert _calls(fence) == []
