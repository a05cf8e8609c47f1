"""Shell commands the AWS control plane runs on the mirror instances through SSM Run Command, and the wait
for their outcome.

The scripts use cloud_init's unit and file names, so what a failover stops is what first boot started.
Run Command is asynchronous: send_command only queues the script; whether it ran is known from
get_command_invocation per instance, polled here with an injected clock and sleep (tests need no sleeps).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from drkit.provision import cloud_init

DOCUMENT = "AWS-RunShellScript"
# Run Command's states that will not change any more (the others: Pending, InProgress, Delayed).
_FINAL = {"Success", "Cancelled", "TimedOut", "Failed", "Cancelling", "Undeliverable", "Terminated"}


def stop_mirror_script(prefix_count: int) -> list[str]:
    """Stop every mirror unit and disable it: the instance's auto-recovery (or any reboot) must not start
    a mirror again that would write into a standby which has since been promoted."""
    units = " ".join(cloud_init.mirror_unit(index) for index in range(prefix_count))
    return ["set -eu", f"systemctl disable --now {units}"]


def start_mirror_script(arguments: Sequence[str]) -> list[str]:
    """Write each unit's etcdctl arguments (the source may have changed: failback mirrors the other way),
    then enable and start it. A unit whose arguments changed is restarted so it reads them; an unchanged one
    is only started, so running this twice does not restart a healthy mirror."""
    lines = ["set -eu", "umask 077"]
    for index, argument_line in enumerate(arguments):
        path, unit = cloud_init.mirror_env_file(index), cloud_init.mirror_unit(index)
        content = shlex.quote(cloud_init.mirror_env(argument_line).rstrip("\n"))
        lines += [
            f"printf '%s\\n' {content} > {path}.new",
            f"if cmp -s {path}.new {path}; then rm {path}.new; action=start; "
            f"else mv {path}.new {path}; action=restart; fi",
            f"systemctl enable {unit}",
            f'systemctl "$action" {unit}',
        ]
    return lines


def move_data_aside_script(data_dir: str, members: Mapping[str, str]) -> list[str]:
    """Stop etcd, rename its member directory with the UTC time (kept for inspection, never deleted; moved
    within the data dir, on the member's data volume) and set it up to form a new cluster with `members`
    (name -> private IP) when it starts: a member added after the cluster formed has
    `initial-cluster-state existing` and a shorter member list, and with no data it would try to join peers
    that are bootstrapping themselves. Scheme and peer port come from the member's own advertised peer URL.
    Run again, it finds nothing to move and writes the same lines."""
    member = shlex.quote(f"{data_dir}/member")
    env = shlex.quote(cloud_init.ETCD_ENV)
    cluster = ",".join(f"{name}=${{scheme}}://{ip}:${{port}}" for name, ip in sorted(members.items()))
    return [
        "set -eu",
        "systemctl stop etcd.service",
        f"if [ -d {member} ]; then mv {member} {member}.failback-$(date -u +%Y%m%dT%H%M%SZ); fi",
        f"peer=$(sed -n 's/^ETCD_INITIAL_ADVERTISE_PEER_URLS=//p' {env})",
        'scheme="${peer%%://*}"; port="${peer##*:}"',
        f"sed -i -e 's|^ETCD_INITIAL_CLUSTER_STATE=.*|ETCD_INITIAL_CLUSTER_STATE=new|'"
        f' -e "s|^ETCD_INITIAL_CLUSTER=.*|ETCD_INITIAL_CLUSTER={cluster}|" {env}',
    ]


@dataclass(frozen=True)
class CommandOutcome:
    command_id: str
    statuses: dict[str, str]  # instance id -> Run Command status (Pending when the wait timed out)

    @property
    def ok(self) -> bool:
        return bool(self.statuses) and all(status == "Success" for status in self.statuses.values())

    def summary(self) -> str:
        states = ", ".join(f"{instance} {status}" for instance, status in sorted(self.statuses.items()))
        return f"SSM command {self.command_id}: {states}"


def run_command(
    ssm: Any,
    instance_ids: list[str],
    commands: list[str],
    comment: str,
    *,
    timeout: float,
    poll_interval: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> CommandOutcome:
    """Send `commands` to the instances and wait (up to `timeout` seconds) until each has a final status."""
    sent = ssm.send_command(
        InstanceIds=instance_ids,
        DocumentName=DOCUMENT,
        Parameters={"commands": commands},
        Comment=comment[:100],  # Run Command's limit
    )
    command_id = str(sent["Command"]["CommandId"])
    statuses = dict.fromkeys(instance_ids, "Pending")
    deadline = clock() + timeout
    while True:
        for instance in instance_ids:
            if statuses[instance] not in _FINAL:
                statuses[instance] = _invocation_status(ssm, command_id, instance)
        if all(status in _FINAL for status in statuses.values()) or clock() >= deadline:
            return CommandOutcome(command_id, statuses)
        sleep(poll_interval)


def _invocation_status(ssm: Any, command_id: str, instance_id: str) -> str:
    try:
        return str(ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)["Status"])
    except ClientError as error:
        # Right after send_command the invocation may not exist yet: keep waiting.
        if error.response.get("Error", {}).get("Code") == "InvocationDoesNotExist":
            return "Pending"
        raise
