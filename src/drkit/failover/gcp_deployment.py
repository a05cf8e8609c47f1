"""A stack spanning AWS and GCP as one failover Deployment: each region fenced by its own cloud's control
plane (MixedControlPlane), Route 53 switching every region (its control checks live in AWS, whatever cloud
the region is on), and the roles and epoch kept on both clouds.

Why both: the record must be writable in the new primary's region (a failover to GCP during an AWS-wide
outage cannot depend on SSM), so besides SSM Parameter Store in every AWS region it is kept in the GCP
project's common instance metadata (`drkit-<stack>-failover`), which `pulumi up` does not manage. Read from
every place that answers, the highest epoch winning, as on AWS alone.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from drkit.failover.aws import ROUTE53_API_REGION, AwsControlPlane
from drkit.failover.aws_deployment import (
    ClientTls,
    CloudInventoryError,
    ParameterRoleStore,
    RoleStore,
    cloud_deployment,
)
from drkit.failover.deployment import Deployment
from drkit.failover.gcp import GcpControlPlane, MixedControlPlane
from drkit.failover.gcp_api import ComputeApi, GcpApiError, RestCompute
from drkit.spec.model import Spec

TOKEN_ENV = "DRKIT_GCP_ACCESS_TOKEN"


def metadata_key(stack: str) -> str:
    return f"drkit-{stack}-failover"


class ProjectMetadataRoleStore:
    """The roles record in the GCP project's common instance metadata, written with its fingerprint (so two
    writers cannot silently overwrite each other's other keys)."""

    def __init__(self, stack: str, project: str, compute: ComputeApi, regions: tuple[str, ...]) -> None:
        self.stack, self.project, self.compute, self.regions = stack, project, compute, regions

    def load(self, initial: Mapping[str, str]) -> tuple[dict[str, str], int]:
        try:
            items, _ = self.compute.get_metadata(self.project)
            record = json.loads(items[metadata_key(self.stack)])
            return {**initial, **record["roles"]}, int(record["epoch"])
        except (GcpApiError, KeyError, ValueError, TypeError):
            return dict(initial), 1  # not written yet, or GCP does not answer

    def save(self, roles: Mapping[str, str], epoch: int, must: str) -> list[str]:
        body = json.dumps({"epoch": epoch, "roles": dict(roles)}, sort_keys=True)
        try:
            items, fingerprint = self.compute.get_metadata(self.project)
            self.compute.set_metadata(self.project, {**items, metadata_key(self.stack): body}, fingerprint)
        except GcpApiError as error:
            if must in self.regions:
                raise CloudInventoryError(f"the failover record could not be written in GCP: {error}") from None
            return []
        return list(self.regions)


class BothClouds:
    """The AWS and GCP role stores as one: the newest record either holds; saved to both, the new primary's
    cloud required."""

    def __init__(self, aws: RoleStore, gcp: RoleStore) -> None:
        self.aws, self.gcp = aws, gcp

    def load(self, initial: Mapping[str, str]) -> tuple[dict[str, str], int]:
        found = [self.aws.load(initial), self.gcp.load(initial)]
        return max(found, key=lambda record: record[1])

    def save(self, roles: Mapping[str, str], epoch: int, must: str) -> list[str]:
        return [*self.aws.save(roles, epoch, must), *self.gcp.save(roles, epoch, must)]


def gcloud_token() -> str:
    """An access token for the Compute Engine API: DRKIT_GCP_ACCESS_TOKEN, else gcloud's for the logged-in
    principal. Asked for only when a GCP call is made (a failure becomes a failed action, not a crash)."""
    token = os.environ.get(TOKEN_ENV)
    if token:
        return token
    try:
        done = subprocess.run(
            ["gcloud", "auth", "print-access-token"], capture_output=True, text=True, timeout=60, check=True
        )
    except (OSError, subprocess.SubprocessError) as error:
        raise GcpApiError(f"no GCP access token: set {TOKEN_ENV} or log in with gcloud ({error})") from None
    return done.stdout.strip()


def mixed_deployment(
    stack: str,
    spec: Spec,
    inventory: Path,
    session: Any,
    tls: ClientTls,
    state_dir: Path,
    project: str,
    compute: ComputeApi | None = None,
    token: Callable[[], str] = gcloud_token,
    **options: Any,
) -> Deployment:
    """The Deployment of a stack with AWS and GCP regions (`project`: the stack's gcp:project)."""
    compute = compute or RestCompute(token)
    aws = AwsControlPlane.from_spec(stack, spec, session, **options)
    gcp = GcpControlPlane.from_spec(stack, spec, project, compute)
    # Route 53 serves every region: its control checks are found by the drkit:region tag, through its API
    # region, for a GCP region too. Only set_serving reaches the AWS plane for those (MixedControlPlane).
    aws.regions = {**aws.regions, **dict.fromkeys(gcp.regions, ROUTE53_API_REGION)}
    aws_regions = [region.name for region in spec.regions if region.provider == "aws"]
    control = MixedControlPlane({**dict.fromkeys(aws_regions, aws), **dict.fromkeys(gcp.regions, gcp)}, aws)
    store = BothClouds(
        ParameterRoleStore(stack, aws_regions, aws.client),
        ProjectMetadataRoleStore(stack, project, compute, gcp.regions),
    )
    return cloud_deployment(stack, spec, inventory, tls, state_dir, control, store)
