"""The guard's backend on AWS: one guard per registry member (a systemd unit), the decisions of
drkit.failover.guard, and the failover engine over boto3 for promotion.

Every member of a region runs a guard; only the one on the region's etcd leader renews the witness key or
promotes (as drkit-heartbeat writes only from the leader), so a region speaks with one voice. Every other
member's guard still watches the key and fences its own etcd: a region cut off from the witness must stop
serving even where the leader's guard cannot reach the others.

- Self-fencing is local: `systemctl stop etcd.service` on this member, no AWS API. A region cut off from
  AWS's APIs (or from everything) fences all the same.
- The region's role and the epoch come from the region's own /drkit/epoch (as drkit-heartbeat reads it),
  kept in a state file, so a guard whose own etcd it stopped (or that restarted) still knows them.
- Promotion runs the failover engine with the stack's AwsControlPlane and aws_deployment: the engine stops
  the old primary's instances, revokes its client port, flips its Route 53 control, stops the mirror over
  SSM Run Command, writes the epoch and the roles to SSM Parameter Store, and only then opens the endpoint.
- Pause (witness maintenance): SSM parameter /drkit/<stack>/guards/paused = true. A standby whose guard
  cannot read it does not promote (it could not promote without the APIs anyway).

    python -m drkit.failover.guard_aws --stack S --region R --boot-role primary|standby \\
        --local-url URL --members URL,... --witness URL,... --inventory FILE [--ttl 5 --loop-wait 1 ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from drkit.failover import registry
from drkit.failover.aws_deployment import ClientTls, CloudInventoryError, aws_deployment
from drkit.failover.control import ControlPlaneError
from drkit.failover.deployment import Deployment
from drkit.failover.engine import FailoverRefusedError, Request, carry_out
from drkit.failover.guard import (
    Guard,
    PromotionStoppedError,
    Witness,
    add_timing_arguments,
    log_engine_step,
    record_decision,
    run,
    timing_from,
)
from drkit.failover.journal import JournalError
from drkit.operate.collection import Gateway, GatewayError
from drkit.project import find_project_root
from drkit.validate import StackSpecError, passing_stack_spec

ETCD_UNIT = "etcd.service"
Systemctl = Callable[[list[str]], None]


def paused_parameter(stack: str) -> str:
    return f"/drkit/{stack}/guards/paused"


def systemctl(arguments: list[str]) -> None:
    subprocess.run(["systemctl", *arguments], check=True, timeout=60, capture_output=True)


def member_leads(member: registry.Cluster) -> bool:
    """Whether this member is its cluster's leader (its own status says so); False when it does not answer."""
    url = member.urls[0]
    gateway = Gateway(url, timeout=1.0, cacert=member.cacert, cert=member.cert, key=member.key)
    try:
        return gateway.status().is_leader
    except GatewayError:
        return False


@dataclass
class ParameterPause:
    """The guards' pause flag in this region's Parameter Store. Unreadable counts as paused: a standby that
    cannot reach its region's SSM API could not carry out a promotion either, and must not start one."""

    stack: str
    aws_region: str
    clients: Callable[[str, str], Any]  # (service, AWS region) -> boto3 client

    def __call__(self) -> bool:
        try:
            value = self.clients("ssm", self.aws_region).get_parameter(Name=paused_parameter(self.stack))
        except ClientError as error:
            return str(error.response.get("Error", {}).get("Code", "")) != "ParameterNotFound"
        except BotoCoreError:
            return True
        return str(value["Parameter"]["Value"]).strip().lower() == "true"


@dataclass
class AwsGuardBackend:
    """The guard of one member: `local` is this member's own etcd, `own` every member of its region.

    boot_role: the region's role at first boot, the answer until /drkit/epoch exists (drkit-heartbeat's
    rule). deployment: builds the stack's failover Deployment (roles and epoch from Parameter Store), only
    when a promotion starts. state_file: the role and epoch last read, for when the cluster cannot answer."""

    region: str
    boot_role: str
    local: registry.Cluster
    own: registry.Cluster
    deployment: Callable[[], Deployment]
    max_lag: float
    paused_flag: Callable[[], bool]
    state_file: Path
    systemctl: Systemctl = systemctl
    leader_check: Callable[[registry.Cluster], bool] = member_leads
    _primary: str = field(default="", init=False)
    _epoch: int = field(default=0, init=False)
    _leads: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        try:
            saved = json.loads(self.state_file.read_text())
            self._primary, self._epoch = str(saved["primary"]), int(saved["epoch"])
        except (OSError, ValueError, KeyError, TypeError):
            pass  # nothing saved yet: the first turn reads the cluster

    def refresh(self) -> None:
        self._leads = self.leader_check(self.local)
        try:
            value, _ = registry.get(self.own, registry.EPOCH_KEY, timeout=1.0)
        except registry.RegistryError:
            return  # our etcd is down (perhaps stopped by this guard): keep what we knew
        if value is None:
            primary, epoch = (self.region if self.boot_role == "primary" else ""), 1
        else:
            try:
                record = registry.Epoch.from_json(json.loads(value))
            except (ValueError, KeyError, TypeError):
                return  # an epoch that cannot be read is never taken for "no epoch yet"
            primary, epoch = record.primary, record.number
        if (primary, epoch) != (self._primary, self._epoch):
            self._primary, self._epoch = primary, epoch
            self._save()

    def _save(self) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        partial = self.state_file.with_name(self.state_file.name + ".partial")
        partial.write_text(json.dumps({"primary": self._primary, "epoch": self._epoch}) + "\n")
        partial.replace(self.state_file)

    def role(self) -> str:
        if not self._primary:
            return "standby" if self._epoch else "unknown (own cluster never answered)"
        return "primary" if self._primary == self.region else "standby"

    def epoch(self) -> int:
        return max(1, self._epoch)

    def leads(self) -> bool:
        return self._leads

    def paused(self) -> bool:
        return self.paused_flag()

    def own_healthy(self, timeout: float) -> bool:
        return registry.health(self.own, timeout=timeout).has_quorum

    def stop_own_members(self) -> None:
        self.systemctl(["stop", ETCD_UNIT])

    def start_own_members(self) -> None:
        self.systemctl(["start", ETCD_UNIT])

    def newest_heartbeat(self) -> float | None:
        return registry.read_heartbeat(self.own)

    def promote(self) -> str:
        try:
            deployment = self.deployment()
            report = carry_out(deployment, Request("failover", self.region, confirm=True), log_engine_step)
        except (
            FailoverRefusedError,
            registry.RegistryError,
            ControlPlaneError,
            CloudInventoryError,
            JournalError,
        ) as error:
            raise PromotionStoppedError(str(error)) from None
        self._primary, self._epoch = self.region, report.epoch
        self._save()
        return report.message


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="drkit-guard-aws", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--region", required=True, help="This member's region, as in the spec.")
    parser.add_argument("--boot-role", choices=["primary", "standby"], required=True)
    parser.add_argument("--local-url", required=True, help="This member's client URL.")
    parser.add_argument("--members", required=True, help="Every member of the region, comma separated.")
    parser.add_argument("--witness", required=True, help="The witness's client URLs, comma separated.")
    parser.add_argument("--inventory", type=Path, required=True, help="`drkit inventory --from-outputs` of the stack.")
    parser.add_argument("--state-dir", type=Path, default=Path("/var/lib/drkit/guard"))
    parser.add_argument("--project", type=Path, default=Path(), help="The drkit project (default: here).")
    parser.add_argument("--cacert")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    add_timing_arguments(parser)
    args = parser.parse_args(argv)
    timing = timing_from(args)
    if timing is None:
        return 2
    import boto3

    # The project drkit_runtime unpacked (the unit's working directory): its stack file and policies, so the
    # guard acts on the spec `drkit validate` passed, as every other drkit command does.
    root = find_project_root(args.project)
    if root is None:
        print(
            f"error: no drkit project at {args.project} (no Pulumi.yaml with policies/): run install-drkit.yml",
            file=sys.stderr,
        )
        return 2
    try:
        spec = passing_stack_spec(root, args.stack, date.today())
    except StackSpecError as error:
        print(error.message, file=sys.stderr)
        return error.exit_code
    session = boto3.session.Session()
    tls = ClientTls(args.cacert, args.cert, args.key)

    def clients(service: str, aws_region: str) -> Any:
        return session.client(service, region_name=aws_region)

    def deployment() -> Deployment:
        return aws_deployment(args.stack, spec, args.inventory, session, tls, args.state_dir / "failover")

    def cluster(name: str, urls: str) -> registry.Cluster:
        return registry.Cluster(name, tuple(u for u in urls.split(",") if u), args.cacert, args.cert, args.key)

    backend = AwsGuardBackend(
        region=args.region,
        boot_role=args.boot_role,
        local=cluster(args.region, args.local_url),
        own=cluster(args.region, args.members),
        deployment=deployment,
        max_lag=spec.replication.max_lag,
        paused_flag=ParameterPause(args.stack, args.region, clients),
        state_file=args.state_dir / "role.json",
    )
    witness = Witness([u for u in args.witness.split(",") if u], args.stack, timing, args.cacert, args.cert, args.key)
    guard = Guard(backend, args.region, witness, timing)
    run(guard, lambda decision, at: record_decision(args.state_dir, args.region, decision, at))
    return 0


if __name__ == "__main__":
    sys.exit(main())
