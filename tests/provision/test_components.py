"""Each component alone under Pulumi mocks: what it registers, with which properties."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
import yaml

from drkit.provision import offline, tls
from drkit.provision.backup_vault import BackupVault, BackupVaultArgs
from drkit.provision.registry_cluster import RegistryCluster, RegistryClusterArgs
from drkit.provision.resources import Plan
from drkit.spec.model import Spec
from tests.provision.conftest import INGRESS, VOLUME, members, named


def cluster_plan(spec: Spec, endpoint_type: str | None = "route53-failover") -> Plan:
    def program() -> dict[str, Any]:
        provider = aws.Provider("aws-us-east-1", region=spec.primary.name)
        ca = tls.certificate_authority("test")
        cluster = RegistryCluster(
            spec.primary.name,
            RegistryClusterArgs(
                "test",
                spec.primary,
                spec.registry,
                ca,
                endpoint_type,
                "registry.example.com",
                ["arn:aws:s3:::bucket-a"],
                ["arn:aws:kms:us-east-1:1:key/a"],
            ),
            provider,
        )
        return {"endpoint": cluster.client_endpoint}

    return offline.record(program, "test")


@pytest.fixture(scope="module")
def prod_cluster(stack_spec: Callable[..., Spec]) -> Plan:
    return cluster_plan(stack_spec("prod"))


def test_cluster_places_five_members_round_robin_with_encrypted_gp3_volumes(prod_cluster: Plan) -> None:
    placed = members(prod_cluster)
    assert [(m.name, m.props["availabilityZone"], m.props["privateIp"]) for m in placed] == [
        ("us-east-1-1", "us-east-1a", "10.40.0.10"),
        ("us-east-1-2", "us-east-1b", "10.40.16.10"),
        ("us-east-1-3", "us-east-1c", "10.40.32.10"),
        ("us-east-1-4", "us-east-1a", "10.40.0.11"),
        ("us-east-1-5", "us-east-1b", "10.40.16.11"),
    ]
    volumes = sorted(prod_cluster.of_type(VOLUME), key=lambda v: v.name)
    assert [(v.props["availabilityZone"], v.props["type"], v.props["encrypted"]) for v in volumes] == [
        (m.props["availabilityZone"], "gp3", True) for m in placed
    ]
    assert all(v.props["kmsKeyId"].startswith("arn:aws:kms:us-east-1:") for v in volumes)
    for member in placed:
        assert member.props["metadataOptions"]["httpTokens"] == "required"
        assert member.props["rootBlockDevice"]["encrypted"] is True
        assert member.tags["drkit:role"] == "member" and member.tags["drkit:cluster-role"] == "primary"
        assert member.props["iamInstanceProfile"]


def test_cluster_security_groups_never_open_registry_ports_to_the_world(prod_cluster: Plan) -> None:
    rules = prod_cluster.of_type(INGRESS)
    assert rules and not [r for r in rules if r.props.get("cidrIpv4") in ("0.0.0.0/0",) or r.props.get("cidrIpv6")]
    peer = [r for r in rules if r.props["fromPort"] == 2380]
    assert len(peer) == 1 and peer[0].props["referencedSecurityGroupId"]  # only from the members' own group
    health = named(prod_cluster, INGRESS, "us-east-1-health-from-route53")
    assert health.props["fromPort"] == 2381 and health.props["prefixListId"] == "pl-0route53healthchk"
    lbs = {lb.name: lb.props for lb in prod_cluster.of_type("aws:lb/loadBalancer:LoadBalancer")}
    assert lbs["us-east-1-client"]["internal"] is True
    assert lbs["us-east-1-health"]["internal"] is False  # only the plain-HTTP /health port, from Route 53


def test_cluster_boots_the_spec_version_under_systemd_with_tls_and_no_key_in_user_data(prod_cluster: Plan) -> None:
    member = members(prod_cluster)[0]
    config = yaml.safe_load(member.props["userData"].removeprefix("#cloud-config\n"))
    files = {f["path"]: f["content"] for f in config["write_files"]}
    env = dict(line.split("=", 1) for line in files["/etc/drkit/etcd.env"].splitlines())
    assert env["ETCD_NAME"] == "us-east-1-1"
    assert env["ETCD_CLIENT_CERT_AUTH"] == env["ETCD_PEER_CLIENT_CERT_AUTH"] == "true"
    assert env["ETCD_INITIAL_CLUSTER"].count("https://") == 5
    assert env["ETCD_ADVERTISE_CLIENT_URLS"] == "https://10.40.0.10:2379"
    assert "/etc/systemd/system/etcd.service" in files
    # Promotion is the endpoint's control check now (drkit.failover.aws), not a marker file on the members.
    assert not [path for path in files if "promoted" in path]
    commands = config["runcmd"]
    assert [
        "/usr/local/sbin/drkit-install-etcd",
        "3.5.17",
        "amd64",
        "https://github.com/etcd-io/etcd/releases/download",
    ] in commands
    assert commands[-1] == ["systemctl", "enable", "--now", "etcd.service"]
    assert "PRIVATE KEY" not in member.props["userData"]


def test_cluster_private_keys_and_tls_secrets_are_secret(prod_cluster: Plan) -> None:
    keys = prod_cluster.of_type("tls:index/privateKey:PrivateKey")
    assert len(keys) == 6  # the CA and five members
    assert all({"privateKeyPem", "privateKeyOpenssh", "privateKeyPemPkcs8"} <= k.secret_props for k in keys)
    versions = prod_cluster.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert len(versions) == 5 and all("secretString" in v.secret_props for v in versions)
    bundle = json.loads(versions[0].props["secretString"])
    assert set(bundle) == {"ca", "cert", "key"} and "PRIVATE KEY" in bundle["key"]
    requests = prod_cluster.of_type("tls:index/certRequest:CertRequest")
    assert all("privateKeyPem" in r.secret_props for r in requests)
    member_request = named(prod_cluster, "tls:index/certRequest:CertRequest", "us-east-1-1-csr")
    assert "10.40.0.10" in member_request.props["ipAddresses"]
    assert "registry.example.com" in member_request.props["dnsNames"]


def test_cluster_role_may_write_backups_but_not_delete_them(prod_cluster: Plan) -> None:
    (policy,) = prod_cluster.of_type("aws:iam/rolePolicy:RolePolicy")
    statements = json.loads(policy.props["policy"])["Statement"]
    actions = {action for s in statements for action in s["Action"]}
    assert {"s3:PutObject", "s3:GetObject", "secretsmanager:GetSecretValue"} <= actions
    assert not [a for a in actions if "Delete" in a]
    alarms = prod_cluster.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert len(alarms) == 5
    assert all(a.props["alarmActions"] == ["arn:aws:automate:us-east-1:ec2:recover"] for a in alarms)


def test_cluster_in_existing_subnets(stack_spec: Callable[..., Spec]) -> None:
    network = {"vpcId": "vpc-0abc", "subnetIds": ["subnet-0a1", "subnet-0b2", "subnet-0c3"]}
    spec = stack_spec("dev", {"regions": [{"name": "us-east-1", "role": "primary", "network": network}]})
    plan = cluster_plan(spec, endpoint_type=None)
    assert not plan.of_type("aws:ec2/vpc:Vpc") and not plan.of_type("aws:ec2/subnet:Subnet")
    assert [m.props["subnetId"] for m in members(plan)] == network["subnetIds"]
    assert [m.props["privateIp"] for m in members(plan)] == ["10.99.0.10", "10.99.16.10", "10.99.32.10"]


def test_backup_vault_bucket_lock_lifecycle_and_replication(stack_spec: Callable[..., Spec]) -> None:
    spec = stack_spec("prod")
    assert spec.backups is not None

    def program() -> dict[str, Any]:
        vault = BackupVault(
            "vault",
            BackupVaultArgs("prod", spec.backups.targets[0], spec.backups.retention),  # type: ignore[union-attr]
            aws.Provider("aws-us-east-1", region="us-east-1"),
            aws.Provider("aws-us-west-2", region="us-west-2"),
        )
        return {"bucket": pulumi.Output.from_input(vault.bucket_name)}

    plan = offline.record(program, "prod")
    assert plan.outputs["bucket"] == "drkit-prod-backups-us-east-1"
    blocks = plan.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert len(blocks) == 2
    assert all(
        all(
            b.props[k] is True
            for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        )
        for b in blocks
    )
    locks = plan.of_type("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
    assert {
        (lock.props["rule"]["defaultRetention"]["mode"], lock.props["rule"]["defaultRetention"]["days"])
        for lock in locks
    } == {("COMPLIANCE", 30)}
    lifecycle = named(
        plan,
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "drkit-prod-backups-us-east-1-lifecycle",
    )
    kept = {r["filter"]["prefix"]: r["expiration"]["days"] for r in lifecycle.props["rules"]}
    assert kept == {"hourly/": 2, "daily/": 8, "weekly/": 29}  # retention 24 hourly, 7 daily, 4 weekly
    (replication,) = plan.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    (role_policy,) = plan.of_type("aws:iam/rolePolicy:RolePolicy")
    assert replication.props["role"].endswith("drkit-prod-backups-us-east-1-replication")
    assert "s3:ReplicateObject" in role_policy.props["policy"]
    assert {b.region for b in plan.of_type("aws:s3/bucket:Bucket")} == {"us-east-1", "us-west-2"}


def test_cluster_without_tls_issues_no_certificates(stack_spec: Callable[..., Spec]) -> None:
    waiver = {"rule": "DR102", "reason": "test stack without TLS on purpose", "expires": "2027-05-31"}
    spec = stack_spec("dev", {"registry": {"tls": False}, "waivers": [waiver]})
    plan = cluster_plan(spec, endpoint_type=None)
    assert [k.name for k in plan.of_type("tls:index/privateKey:PrivateKey")] == ["test-ca-key"]  # the fixture's CA
    assert not plan.of_type("aws:secretsmanager/secret:Secret")
    assert "ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379" in members(plan)[0].props["userData"]
    assert plan.outputs["endpoint"].startswith("http://internal-us-east-1-client")
