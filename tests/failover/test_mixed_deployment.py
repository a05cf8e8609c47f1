"""A stack spanning AWS and GCP as one failover Deployment (drkit.failover.gcp_deployment), with moto for
AWS (Route 53, SSM) and an in-memory Compute Engine for GCP: no network. The engine's etcd side is not run
here (its members' addresses are the stack's private ones); what is checked is the wiring: each region's
fencing goes to its cloud, Route 53's control check of the GCP region is what set_serving flips, and the
roles record is kept on both clouds, the new primary's required."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import yaml
from moto import mock_aws

from drkit.failover.aws_deployment import ClientTls, CloudInventoryError, parameter_name
from drkit.failover.gcp_api import GcpApiError
from drkit.failover.gcp_deployment import BothClouds, ProjectMetadataRoleStore, metadata_key, mixed_deployment
from drkit.provision import gate, offline
from drkit.spec.model import Spec
from tests.conftest import ROOT, TODAY
from tests.failover.test_gcp_control import PROJECT, FakeCompute, member
from tests.provision.conftest import program_config

STACK = "hybrid"


@pytest.fixture(scope="module")
def hybrid() -> tuple[Spec, dict]:
    report = gate.validate_stack(gate.stack_path(ROOT, STACK), ROOT / "policies", TODAY)
    assert report.spec is not None
    return report.spec, offline.run_offline(report.spec, STACK, program_config(STACK)).outputs["inventory"]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        route53 = boto3.client("route53", region_name="us-east-1")
        check = route53.create_health_check(
            CallerReference="us-central1-control",
            HealthCheckConfig={
                "Type": "CALCULATED",
                "ChildHealthChecks": [],
                "HealthThreshold": 0,
                "Disabled": True,
                "Inverted": True,
            },
        )["HealthCheck"]["Id"]
        route53.change_tags_for_resource(
            ResourceType="healthcheck",
            ResourceId=check,
            AddTags=[
                {"Key": "drkit:stack", "Value": STACK},
                {"Key": "drkit:region", "Value": "us-central1"},
                {"Key": "drkit:role", "Value": "endpoint-control"},
            ],
        )
        yield check


def deployment(hybrid: tuple[Spec, dict], tmp_path: Path, compute: FakeCompute):  # type: ignore[no-untyped-def]
    spec, inventory = hybrid
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory), encoding="utf-8")
    return mixed_deployment(
        STACK, spec, path, boto3.session.Session(), ClientTls(), tmp_path / "state", PROJECT, compute
    )


def gcp_members() -> FakeCompute:
    return FakeCompute([member(f"drkit-hybrid-us-central1-{n}", f"us-central1-{z}") for n, z in ((1, "a"), (2, "b"))])


def test_each_region_is_fenced_by_its_cloud_and_route53_serves_the_gcp_region(
    hybrid: tuple[Spec, dict], tmp_path: Path, aws: str
) -> None:
    compute = gcp_members()
    built = deployment(hybrid, tmp_path, compute)
    assert set(built.clusters) == {"us-east-1", "us-central1"} and built.roles["us-central1"] == "standby"
    assert built.control.stop_members("us-central1").ok
    assert {i["status"] for i in compute.instances.values()} == {"STOPPED"}
    assert (
        built.control.cut_client_port("us-central1").ok and "drkit-hybrid-us-central1-fence-client" in compute.firewalls
    )
    serving = built.control.set_serving("us-central1", True)
    assert serving.ok, serving.detail
    check = boto3.client("route53", region_name="us-east-1").get_health_check(HealthCheckId=aws)["HealthCheck"]
    assert check["HealthCheckConfig"]["Inverted"] is False


def test_the_roles_record_is_kept_on_both_clouds_and_the_newest_wins(
    hybrid: tuple[Spec, dict], tmp_path: Path, aws: str
) -> None:
    compute = gcp_members()
    built = deployment(hybrid, tmp_path, compute)
    built.save_roles({"us-central1": "primary", "us-east-1": "fenced"}, 2)
    record = json.loads(compute.metadata[metadata_key(STACK)])
    assert record == {"epoch": 2, "roles": {"us-central1": "primary", "us-east-1": "fenced"}}
    ssm = boto3.client("ssm", region_name="us-east-1").get_parameter(Name=parameter_name(STACK))
    assert json.loads(ssm["Parameter"]["Value"])["epoch"] == 2
    # AWS unreachable afterwards: GCP's record alone still gives the newest roles to the next run.
    store = BothClouds(_Unanswering(), ProjectMetadataRoleStore(STACK, PROJECT, compute, ("us-central1",)))
    assert store.load({"us-east-1": "primary", "us-central1": "standby"}) == (
        {"us-east-1": "fenced", "us-central1": "primary"},
        2,
    )
    again = deployment(hybrid, tmp_path, compute)
    assert again.epoch == 2 and again.roles["us-central1"] == "primary"


def test_promoting_gcp_requires_the_gcp_record(hybrid: tuple[Spec, dict], tmp_path: Path, aws: str) -> None:
    compute = gcp_members()
    built = deployment(hybrid, tmp_path, compute)
    compute.fail = "set-metadata"
    with pytest.raises(CloudInventoryError, match="could not be written in GCP"):
        built.save_roles({"us-central1": "primary", "us-east-1": "fenced"}, 2)
    # Promoting the AWS region back is not blocked by GCP failing to take its copy.
    built.save_roles({"us-central1": "standby", "us-east-1": "primary"}, 3)


class _Unanswering:
    def load(self, initial):  # type: ignore[no-untyped-def]
        return dict(initial), 1

    def save(self, roles, epoch, must):  # type: ignore[no-untyped-def]
        raise GcpApiError("unreachable")


def test_the_access_token_comes_from_the_environment_or_gcloud(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from drkit.failover.gcp_deployment import TOKEN_ENV, gcloud_token

    monkeypatch.setenv(TOKEN_ENV, "ya29.test")
    assert gcloud_token() == "ya29.test"
    monkeypatch.delenv(TOKEN_ENV)
    monkeypatch.setenv("PATH", str(tmp_path))  # no gcloud here
    with pytest.raises(GcpApiError, match=f"set {TOKEN_ENV} or log in with gcloud"):
        gcloud_token()
    fake = tmp_path / "gcloud"
    fake.write_text("#!/bin/sh\n[ \"$*\" = 'auth print-access-token' ] && echo ya29.from-gcloud\n", encoding="utf-8")
    fake.chmod(0o755)
    assert gcloud_token() == "ya29.from-gcloud"
