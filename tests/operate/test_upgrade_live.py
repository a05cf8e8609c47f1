"""Rolling upgrades on a live lab: real etcd 3.4.23 members upgraded to 3.5.1 by real Ansible runs.

The tests share one lab and run in order, as an operator would: refusals first (nothing may change), then an
upgrade during which a member is killed (it must stop with quorum kept), then a mixed-version refusal, then
the resumed upgrade under a writer's load (no acknowledged write may be lost), then a rolling restart.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator

import pytest

from drkit.drill.stalls import member_windows, stalls_by_member
from drkit.drill.workload import Ledger
from drkit.policy.catalog import PolicySet
from drkit.sandbox import etcd_client
from drkit.sandbox.lab import Lab
from drkit.sandbox.releases import member_version
from tests.conftest import ROOT
from tests.operate.conftest import DRKIT, backups_dir, drkit, member_pids, playbook
from tests.sandbox.conftest import LabTracker, lab_plan

SOURCE, TARGET = "3.4.23", "3.5.1"


@pytest.fixture(scope="module")
def lab(policies_module: PolicySet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, LabTracker]]:
    state = tmp_path_factory.mktemp("upgrade-lab") / "local"
    lab = Lab.prepare(lab_plan(policies_module, state), state)
    tracker = LabTracker(lab)
    try:
        lab.up(lambda _: None)
        tracker.record()
        yield lab, tracker
    finally:
        survivors = tracker.teardown()
        assert not survivors, f"lab processes survived `down` and had to be killed: {survivors}"


def pids(lab: Lab) -> dict[str, int]:
    return member_pids(lab, lab.plan.members)


def running_versions(lab: Lab) -> dict[str, str | None]:
    """What each member answers it runs (None: not answering)."""
    versions: dict[str, str | None] = {}
    for member in lab.plan.members:
        try:
            versions[member.name] = etcd_client.status(member.client_url).version
        except etcd_client.EtcdUnavailableError:
            versions[member.name] = None
    return versions


def cluster_version(url: str) -> str:
    with urllib.request.urlopen(f"{url}/version", timeout=5) as response:
        return str(json.loads(response.read())["etcdcluster"])


def snapshots(lab: Lab) -> list[str]:
    return sorted(path.name for path in backups_dir(lab).glob("*.json"))


def unchanged(lab: Lab, before: dict[str, int]) -> None:
    """Nothing was touched: same processes, every member on the source release, no backup taken."""
    assert pids(lab) == before
    assert set(running_versions(lab).values()) == {SOURCE}
    assert {member_version(lab.paths, m.name) for m in lab.plan.members} == {SOURCE}
    assert snapshots(lab) == []


def test_unsupported_paths_are_refused_and_change_nothing(lab: tuple[Lab, LabTracker]) -> None:
    the_lab, _ = lab
    before = pids(the_lab)

    skip = drkit(the_lab, "upgrade", "--to", "3.6.0", "--yes")
    assert skip.returncode == 2, skip.stderr
    assert "one minor version at a time" in skip.stderr and "3.5.x" in skip.stderr

    downgrade = playbook(
        the_lab, "rolling-upgrade", "-e", "drkit_upgrade_version=3.3.27", "-e", "drkit_upgrade_confirm=yes"
    )
    assert downgrade.returncode != 0
    assert "no rolling downgrade" in downgrade.stdout

    unsafe = playbook(
        the_lab, "rolling-upgrade", "-e", f"drkit_upgrade_version={TARGET}", "-e", "drkit_upgrade_confirm=yes"
    )
    assert unsafe.returncode != 0
    assert f"etcd {TARGET} is unsafe" in unsafe.stdout and "waive DR101" in unsafe.stdout

    missing = drkit(the_lab, "upgrade", "--to", "3.4.24", "--yes")
    assert missing.returncode == 2, missing.stderr
    assert "etcd 3.4.24 is not installed on" in missing.stderr
    unchanged(the_lab, before)


def test_an_unhealthy_member_refuses_the_upgrade(lab: tuple[Lab, LabTracker]) -> None:
    the_lab, _ = lab
    before = pids(the_lab)
    victim = the_lab.plan.primary.members[1].name
    the_lab.stop_member(victim)
    try:
        refused = drkit(the_lab, "upgrade", "--to", TARGET, "--yes")
    finally:
        the_lab.start_member(victim)
    assert refused.returncode != 0
    assert "Every member must be healthy" in refused.stderr
    # The standby is healthy and would go first, but every region's pre-flight runs before any is touched.
    unchanged(the_lab, {**before, victim: pids(the_lab)[victim]})


def test_dry_run_prints_the_plan_and_changes_nothing(lab: tuple[Lab, LabTracker]) -> None:
    the_lab, _ = lab
    before = pids(the_lab)
    dry = drkit(the_lab, "upgrade", "--to", TARGET)
    assert dry.returncode == 0, dry.stderr
    for region in the_lab.plan.regions:
        leader = next(m.name for m in region.members if etcd_client.status(m.client_url).is_leader)
        assert f"DRY RUN {region.name}: upgrade {SOURCE} -> {TARGET}" in dry.stdout
        assert f"(leader {leader} last)" in dry.stdout
    unchanged(the_lab, before)


def upgrade_in_background(lab: Lab, *args: str) -> subprocess.Popen[str]:
    command = [str(DRKIT), "upgrade", *args, "--stack", "local", "--state-dir", str(lab.paths.root)]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_member_killed_during_the_upgrade_stops_it_with_quorum_kept(lab: tuple[Lab, LabTracker]) -> None:
    the_lab, tracker = lab
    before = pids(the_lab)
    running = upgrade_in_background(the_lab, "--to", TARGET, "--yes", "--gate-timeout", "15")
    victim = None
    try:
        # The first member restarted on the new release is killed as soon as supervisord calls it running
        # (a death within its first second counts as a failed start, which supervisord retries): the play's
        # gate on it is still ahead, and must stop the upgrade.
        deadline = time.monotonic() + 300
        while victim is None and time.monotonic() < deadline and running.poll() is None:
            processes = the_lab.supervisor.processes()
            infos = {member.name: processes[member.program] for member in the_lab.plan.members}
            restarted = [
                (name, int(info["pid"]))
                for name, info in infos.items()
                if info["statename"] == "RUNNING" and int(info["pid"]) != before[name]
            ]
            if restarted:
                victim, pid = restarted[0]
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)
        stdout, stderr = running.communicate(timeout=300)
    finally:
        if running.poll() is None:
            running.kill()
            running.communicate()
    tracker.record()
    assert victim is not None, "no member was restarted"
    region = next(r for r in the_lab.plan.regions if victim in {m.name for m in r.members})
    assert region.role == "standby"  # standbys go first
    assert running.returncode == 1, stderr
    assert f"STOPPED {region.name} at {victim}" in stdout
    assert "2 of 3 members healthy, quorum kept" in stdout
    assert f"not started: {the_lab.plan.primary.name}" in stderr
    assert "restore the backup taken before the upgrade" in stdout  # 3.5 -> 3.4 cannot be rolled back
    # The rest untouched: the other standby members and the whole primary run as before.
    after = running_versions(the_lab)
    assert after[victim] is None
    assert all(after[m.name] == SOURCE for m in region.members if m.name != victim)
    assert all(pids(the_lab)[m.name] == before[m.name] for m in the_lab.plan.members if m.name != victim)
    endpoint = f"http://127.0.0.1:{the_lab.plan.endpoint_port}"
    assert etcd_client.put(endpoint, "/upgrade/after-kill", "ok") > 0


def test_mixed_versions_are_refused_unless_the_upgrade_continues(lab: tuple[Lab, LabTracker]) -> None:
    the_lab, tracker = lab
    victim = next(name for name, version in running_versions(the_lab).items() if version is None)
    assert the_lab.start_member(victim)  # it comes back on the release its link points at: 3.5.1
    tracker.record()
    assert running_versions(the_lab)[victim] == TARGET
    before = pids(the_lab)
    mixed = drkit(the_lab, "upgrade", "--to", "3.5.0", "--yes")
    assert mixed.returncode == 2, mixed.stderr
    assert "members run different versions" in mixed.stderr and "Nothing was changed" in mixed.stderr
    assert pids(the_lab) == before
    dry = drkit(the_lab, "upgrade", "--to", TARGET)
    assert dry.returncode == 0, dry.stderr
    assert f"resume {SOURCE} -> {TARGET}" in dry.stdout and f"already on {TARGET}: {victim}" in dry.stdout


def test_the_resumed_upgrade_under_load_loses_no_acknowledged_write(lab: tuple[Lab, LabTracker]) -> None:
    the_lab, tracker = lab
    endpoint = f"http://127.0.0.1:{the_lab.plan.endpoint_port}"
    ledger = Ledger(endpoint, prefix="/upgrade/ledger/", rate=40)
    ledger.start()
    try:
        result = drkit(the_lab, "upgrade", "--to", TARGET, "--yes")
        time.sleep(1)
    finally:
        ledger.stop()
    tracker.record()
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(running_versions(the_lab).values()) == {TARGET}
    for region in the_lab.plan.regions:
        assert cluster_version(region.members[0].client_url) == "3.5.0"
        assert f"{region.name}: " in result.stdout
    assert "leadership moved to" in result.stdout  # each cluster's leader went last
    # Every acknowledged write is there, read from each primary member.
    assert len(ledger.acks) > 100
    for member in the_lab.plan.primary.members:
        stored = etcd_client.values(member.client_url, "/upgrade/ledger/")
        lost = [ack.key for ack in ledger.acks if stored.get(ack.key) != ack.value]
        assert not lost, f"{len(lost)} acknowledged writes missing on {member.name}: {lost[:5]}"
    windows = report_windows(the_lab)
    stalls = stalls_by_member([ack.wall for ack in ledger.acks], windows)
    assert set(stalls) == {m.name for m in the_lab.plan.primary.members}
    print("longest write stall per primary member (s):", stalls)


def report_windows(lab: Lab) -> dict[str, tuple[float, float]]:
    """The primary's members' turns, from the last upgrade run's report (set_stats in the artifacts)."""
    runs = sorted((lab.paths.root / "runs" / "artifacts").glob("*-rolling-upgrade"))
    for run in reversed(runs):
        events = sorted((run / "job_events").glob("*.json"), key=lambda path: int(path.name.split("-")[0]))
        for path in reversed(events):
            event = json.loads(path.read_text())
            report = event.get("event_data", {}).get("artifact_data", {}).get("drkit_upgrade_report")
            if report and report.get("cluster") == lab.plan.primary.name and report.get("outcome") == "done":
                return member_windows(report)
    raise AssertionError("no finished upgrade report of the primary in the artifacts")


# Run on each stopped member by the rotation: records whether its client port was closed at that moment.
REFRESH = (
    "python3 -c \"import socket, sys; s = socket.socket(); closed = s.connect_ex(('127.0.0.1', int(sys.argv[1])));"
    " open(sys.argv[2], 'a').write('closed' if closed else 'open')\""
    " {{ drkit_client_url | urlsplit('port') }} {{ drkit_rotation_log }}/{{ inventory_hostname }}"
)


def test_a_certificate_rotation_restarts_every_member_one_at_a_time_refreshing_each_while_stopped(
    lab: tuple[Lab, LabTracker], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """rotate-certificates.yml: the rolling restart with each member's drkit_tls_refresh_command run while it is
    stopped (the lab has no TLS: the command here records the member's port state instead of fetching keys),
    under a writer that must lose no acknowledged write."""
    the_lab, tracker = lab
    log = tmp_path_factory.mktemp("rotation")
    # The members run TARGET by now; the inventory's version is the spec's (SOURCE), as drkit upgrade would pass.
    at = ("-e", f"drkit_upgrade_version={TARGET}")
    refused = playbook(the_lab, "rotate-certificates", *at, "-e", "drkit_upgrade_confirm=yes")
    assert refused.returncode != 0 and "has none" in refused.stdout and "Nothing was changed" in refused.stdout
    primary = the_lab.plan.primary.members
    before = member_pids(the_lab, primary)  # the playbook rotates one region: the primary's by default
    endpoint = f"http://127.0.0.1:{the_lab.plan.endpoint_port}"
    ledger = Ledger(endpoint, prefix="/restart/ledger/", rate=40)
    ledger.start()
    try:
        extra = {"drkit_upgrade_confirm": "yes", "drkit_tls_refresh_command": REFRESH, "drkit_rotation_log": str(log)}
        result = playbook(the_lab, "rotate-certificates", *at, "-e", json.dumps(extra))
    finally:
        ledger.stop()
    tracker.record()
    assert result.returncode == 0, result.stdout[-3000:]
    after = member_pids(the_lab, primary)
    assert all(after[name] != before[name] for name in before), "every member restarted"
    assert set(running_versions(the_lab).values()) == {TARGET}
    refreshed = {path.name: path.read_text() for path in log.iterdir()}
    assert refreshed == {member.name: "closed" for member in primary}, refreshed
    stored = etcd_client.values(the_lab.plan.primary.members[0].client_url, "/restart/ledger/")
    assert all(stored.get(ack.key) == ack.value for ack in ledger.acks)
