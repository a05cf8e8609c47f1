"""A cloud stack as a failover Deployment: the AWS control plane, each region's members from the stack's
inventory (`drkit inventory --from-outputs`), and the roles and epoch kept in SSM Parameter Store.

Why Parameter Store: the record must outlive the operator's machine and must not be something `pulumi up`
manages (a tag Pulumi owns would be reverted by the next refresh). The record is written to every region
that answers, and read from every region that answers, the highest epoch winning: the region that was cut
off keeps its old record, and loses to the promoted one's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml
from botocore.exceptions import BotoCoreError, ClientError

from drkit.failover.aws import AwsControlPlane
from drkit.failover.control import ControlPlane
from drkit.failover.deployment import Deployment
from drkit.failover.registry import Cluster
from drkit.spec.model import Spec


class CloudInventoryError(Exception):
    """The inventory cannot serve a failover: the message names the file and what is missing."""


@dataclass(frozen=True)
class ClientTls:
    """The CA and client certificate files on the operator's machine (the inventory's are on the hosts)."""

    cacert: str | None = None
    cert: str | None = None
    key: str | None = None


def parameter_name(stack: str) -> str:
    return f"/drkit/{stack}/failover"


class ParameterRoleStore:
    def __init__(self, stack: str, regions: list[str], clients: Any) -> None:
        self.stack = stack
        self.regions = regions
        self.clients = clients  # (service, region) -> boto3 client

    def load(self, initial: Mapping[str, str]) -> tuple[dict[str, str], int]:
        """The newest record any region holds; the spec's roles at epoch 1 when none has one yet."""
        best: tuple[dict[str, str], int] = (dict(initial), 1)
        for region in self.regions:
            try:
                value = self.clients("ssm", region).get_parameter(Name=parameter_name(self.stack))
                record = json.loads(value["Parameter"]["Value"])
            except (ClientError, BotoCoreError, ValueError, KeyError):
                continue  # not written yet, or that region does not answer
            if int(record.get("epoch", 0)) > best[1]:
                best = ({**initial, **record["roles"]}, int(record["epoch"]))
        return best

    def save(self, roles: Mapping[str, str], epoch: int, must: str) -> list[str]:
        """Write the record to every region; the region `must` (the new primary's) has to take it."""
        body = json.dumps({"epoch": epoch, "roles": dict(roles)}, sort_keys=True)
        written = []
        for region in self.regions:
            try:
                self.clients("ssm", region).put_parameter(
                    Name=parameter_name(self.stack), Value=body, Type="String", Overwrite=True
                )
                written.append(region)
            except (ClientError, BotoCoreError) as error:
                if region == must:
                    message = f"the failover record could not be written in {region}: {error}"
                    raise CloudInventoryError(message) from None
        return written


def clusters_from_inventory(path: Path, stack: str, tls: ClientTls) -> dict[str, Cluster]:
    """Region -> its members' client URLs, from the inventory `drkit inventory --from-outputs` writes."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise CloudInventoryError(f"--inventory {path}: cannot be read as YAML ({error})") from None
    hosts: dict[str, dict[str, Any]] = {}

    def walk(group: Any) -> None:
        if not isinstance(group, dict):
            return
        for name, variables in (group.get("hosts") or {}).items():
            hosts[name] = variables or {}
        for child in (group.get("children") or {}).values():
            walk(child)

    walk(data.get("all") if isinstance(data, dict) else None)
    named = ((data or {}).get("all") or {}).get("vars", {}).get("drkit_stack")
    if named not in (None, stack):
        raise CloudInventoryError(f"--inventory {path} is for stack {named}, not {stack}")
    urls: dict[str, list[str]] = {}
    for variables in hosts.values():
        if "drkit_client_url" in variables and "drkit_region" in variables:
            urls.setdefault(str(variables["drkit_region"]), []).append(str(variables["drkit_client_url"]))
    if not urls:
        raise CloudInventoryError(
            f"--inventory {path} names no registry members (hosts with drkit_region and drkit_client_url):"
            f" write it with `drkit inventory --stack {stack} --from-outputs outputs.json`"
        )
    return {
        region: Cluster(region, tuple(sorted(found)), tls.cacert, tls.cert, tls.key) for region, found in urls.items()
    }


class RoleStore(Protocol):
    """Where a stack's roles and epoch are kept: read from every place that answers, the highest epoch
    winning; written to every place, the new primary's required."""

    def load(self, initial: Mapping[str, str]) -> tuple[dict[str, str], int]: ...

    def save(self, roles: Mapping[str, str], epoch: int, must: str) -> list[str]: ...


def aws_deployment(
    stack: str, spec: Spec, inventory: Path, session: Any, tls: ClientTls, state_dir: Path, **options: Any
) -> Deployment:
    control = AwsControlPlane.from_spec(stack, spec, session, **options)
    store = ParameterRoleStore(stack, list(control.regions), control.client)
    return cloud_deployment(stack, spec, inventory, tls, state_dir, control, store)


def cloud_deployment(
    stack: str,
    spec: Spec,
    inventory: Path,
    tls: ClientTls,
    state_dir: Path,
    control: ControlPlane,
    store: RoleStore,
) -> Deployment:
    """A cloud stack's Deployment from its control plane and role store (AWS, or AWS and GCP together)."""
    clusters = clusters_from_inventory(inventory, stack, tls)
    missing = [region.name for region in spec.regions if region.name not in clusters]
    if missing:
        raise CloudInventoryError(f"--inventory {inventory} has no members of {', '.join(missing)}")
    roles, epoch = store.load({region.name: region.role for region in spec.regions})
    deployment: Deployment

    def save_roles(changes: Mapping[str, str], new_epoch: int) -> None:
        deployment.roles = {**deployment.roles, **changes}
        primary = next(region for region, role in deployment.roles.items() if role == "primary")
        store.save(deployment.roles, new_epoch, must=primary)

    objective = spec.objectives["region"]
    deployment = Deployment(
        stack=stack,
        regions=tuple(region.name for region in spec.regions),
        roles=roles,
        epoch=epoch,
        control=control,
        clusters=clusters,
        endpoint=None,  # DNS answers change within the record's TTL: the promoted region is probed directly
        mirrored=spec.replication.mode == "mirror",
        max_lag=spec.replication.max_lag,
        ephemeral_prefixes=spec.registry.ephemeral_prefixes,
        lease_ttl=max(1, round(spec.registry.lease_ttl)),
        objective_rto=objective.rto,
        objective_rpo=objective.rpo,
        state_dir=state_dir,
        save_roles=save_roles,
    )
    return deployment
