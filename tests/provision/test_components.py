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
from drkit.provision.errors import ProvisionError
from drkit.provision.registry_cluster import RegistryCluster, RegistryClusterArgs
from drkit.provision.resources import Plan
from drkit.spec.model import Spec
from tests.provision.conftest import INGRESS, VOLUME, members, named


def cluster_plan(
    spec: Spec,
    endpoint_type: str | None = "route53-failover",
    region: int = 0,
    config: dict[str, Any] | None = None,
    unavailable_zones: tuple[str, ...] = (),
) -> Plan:
    """One region's cluster (the spec's `region`-th) under the mocks, with stack config and AZs out if given."""
    built = spec.regions[region]

    def program() -> dict[str, Any]:
        provider = aws.Provider(f"aws-{built.name}", region=built.name)
        ca = tls.certificate_authority("test")
        cluster = RegistryCluster(
            built.name,
            RegistryClusterArgs(
                "test",
                built,
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

    return offline.record(program, "test", config, unavailable_zones)


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
    assert health.props["fromPort"] == 2381 and health.props["prefixListId"].startswith("pl-")
    lbs = {lb.name: lb.props for lb in prod_cluster.of_type("aws:lb/loadBalancer:LoadBalancer")}
    assert lbs["us-east-1-client"]["internal"] is True
    assert lbs["us-east-1-health"]["internal"] is False  # only the plain-HTTP /health port, from Route 53


@pytest.mark.parametrize(("region", "other"), [(0, "us-west-2"), (1, "us-east-1")])
def test_route53_checkers_come_from_the_regions_own_prefix_list(
    stack_spec: Callable[..., Spec], region: int, other: str
) -> None:
    spec = stack_spec("prod")
    name = spec.regions[region].name
    plan = cluster_plan(spec, region=region)
    health = named(plan, INGRESS, f"{name}-health-from-route53")
    expected = offline.CloudMocks()._prefix_list(name, f"com.amazonaws.{name}.route53-healthchecks")
    assert health.props["prefixListId"] == expected["id"]
    # The mocks answer as AWS does: the name without a region, or another region's, finds no list there.
    for wrong in ("com.amazonaws.route53-healthchecks", f"com.amazonaws.{other}.route53-healthchecks"):
        answer, failures = offline.CloudMocks()._prefix_list(name, wrong)
        assert answer == {} and "no matching EC2 Managed Prefix List" in failures[0][1]


def test_members_ignore_instance_type_and_data_volumes_and_keys_outlive_the_stack(prod_cluster: Plan) -> None:
    for member in members(prod_cluster):
        assert member.options["ignoreChanges"] == ["ami", "instanceType", "userData"]
        # A fixed private IP cannot be held by two instances: a replacement deletes the old instance first.
        assert member.options["deleteBeforeReplace"] is True
        assert not member.options["protect"] and not member.options["retainOnDelete"]
    for volume in prod_cluster.of_type(VOLUME):
        assert volume.options["retainOnDelete"] is True and volume.options["protect"] is False
    (key,) = prod_cluster.of_type("aws:kms/key:Key")
    assert key.options == {"protect": True, "retainOnDelete": True, "ignoreChanges": []}
    # Nothing else is kept or protected: a replaced NLB or security group must not need a hand.
    kept = {r.type for r in prod_cluster.resources if r.options.get("protect") or r.options.get("retainOnDelete")}
    assert kept == {VOLUME, "aws:kms/key:Key"}


def test_unpinned_azs_follow_the_lookup_and_say_so(stack_spec: Callable[..., Spec]) -> None:
    spec = stack_spec("prod")
    plan = cluster_plan(spec, unavailable_zones=("us-east-1a",))
    # What the pin prevents: with us-east-1a out, a fresh `pulumi up` would move every member.
    assert [m.props["availabilityZone"] for m in members(plan)][:3] == ["us-east-1b", "us-east-1c", "us-east-1d"]
    assert len(plan.warnings) == 1 and "drkit:availabilityZones" in plan.warnings[0]


@pytest.mark.parametrize("pins", [["use1-az2", "use1-az4", "use1-az1"], ["us-east-1a", "us-east-1b", "us-east-1c"]])
def test_pinned_azs_survive_a_zone_going_unavailable(stack_spec: Callable[..., Spec], pins: list[str]) -> None:
    spec = stack_spec("prod")
    config = {"drkit:availabilityZones": {"us-east-1": pins}}
    before = cluster_plan(spec, config=config)
    during = cluster_plan(spec, config=config, unavailable_zones=("us-east-1a",))
    placed = [(m.name, m.props["availabilityZone"], m.props["privateIp"]) for m in members(during)]
    assert placed == [(m.name, m.props["availabilityZone"], m.props["privateIp"]) for m in members(before)]
    assert {zone for _, zone, _ in placed} == {"us-east-1a", "us-east-1b", "us-east-1c"}  # zone IDs map to names
    subnets = {s.props["availabilityZone"] for s in during.of_type("aws:ec2/subnet:Subnet")}
    assert subnets == {"us-east-1a", "us-east-1b", "us-east-1c"}
    assert not before.warnings
    assert during.warnings == (
        "us-east-1: pinned AZ us-east-1a is not available now; its subnets and members stay where they are",
    )


@pytest.mark.parametrize(
    ("pins", "error"),
    [
        (["use1-az2", "use1-az4"], r"lists 2 zones but drkit:spec\.regions\[0\]\.availabilityZones is 3"),
        (["use1-az2", "us-east-1a", "use1-az1"], "names one AZ twice"),
        (["use1-az2", "use1-az4", "usw2-az1"], "usw2-az1 is neither an AZ name nor a zone ID of us-east-1"),
    ],
)
def test_pinned_azs_are_checked(stack_spec: Callable[..., Spec], pins: list[str], error: str) -> None:
    with pytest.raises(ProvisionError, match=error):
        cluster_plan(stack_spec("prod"), config={"drkit:availabilityZones": {"us-east-1": pins}})


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
    assert commands[-1] == ["systemctl", "enable", "--now", "etcd.service", "drkit-heartbeat.service"]
    assert (
        "/usr/local/sbin/drkit-heartbeat" in files
        and "us-east-1 primary" in files["/etc/systemd/system/drkit-heartbeat.service"]
    )
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


def vault_plan(spec: Spec, config: dict[str, Any] | None = None) -> Plan:
    assert spec.backups is not None

    def program() -> dict[str, Any]:
        vault = BackupVault(
            "vault",
            BackupVaultArgs("prod", spec.backups.targets[0], spec.backups.retention),  # type: ignore[union-attr]
            aws.Provider("aws-us-east-1", region="us-east-1"),
            aws.Provider("aws-us-west-2", region="us-west-2"),
        )
        return {"bucket": pulumi.Output.from_input(vault.bucket_name), "replica": vault.replica_bucket_name}

    return offline.record(program, "prod", config)


def test_backup_vault_bucket_lock_lifecycle_and_replication(stack_spec: Callable[..., Spec]) -> None:
    plan = vault_plan(stack_spec("prod"))
    # The account ID (from the caller's identity) keeps two organisations' prod stacks apart.
    assert plan.outputs["bucket"] == f"drkit-prod-backups-{offline.ACCOUNT}-us-east-1"
    assert plan.outputs["replica"] == f"drkit-prod-backups-{offline.ACCOUNT}-us-west-2"
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
        f"drkit-prod-backups-{offline.ACCOUNT}-us-east-1-lifecycle",
    )
    kept = {r["filter"]["prefix"]: r["expiration"]["days"] for r in lifecycle.props["rules"]}
    assert kept == {"hourly/": 2, "daily/": 8, "weekly/": 29}  # retention 24 hourly, 7 daily, 4 weekly
    (replication,) = plan.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    (role_policy,) = plan.of_type("aws:iam/rolePolicy:RolePolicy")
    assert replication.props["role"].endswith(f"drkit-prod-backups-{offline.ACCOUNT}-us-east-1-replication")
    assert "s3:ReplicateObject" in role_policy.props["policy"]
    assert {b.region for b in plan.of_type("aws:s3/bucket:Bucket")} == {"us-east-1", "us-west-2"}


def test_backup_buckets_and_their_keys_are_protected_and_retained(stack_spec: Callable[..., Spec]) -> None:
    plan = vault_plan(stack_spec("prod"))
    kept = [r for r in plan.resources if r.options.get("protect") or r.options.get("retainOnDelete")]
    assert sorted((r.type, r.region) for r in kept) == sorted(
        (kind, region) for kind in ("aws:s3/bucket:Bucket", "aws:kms/key:Key") for region in ("us-east-1", "us-west-2")
    )
    assert all(r.options["protect"] and r.options["retainOnDelete"] for r in kept)


def test_backup_bucket_prefix_from_the_stack_config(stack_spec: Callable[..., Spec]) -> None:
    plan = vault_plan(stack_spec("prod"), {"drkit:backupBucketPrefix": "acme-registry"})
    assert (plan.outputs["bucket"], plan.outputs["replica"]) == ("acme-registry-us-east-1", "acme-registry-us-west-2")
    with pytest.raises(ProvisionError, match="drkit:backupBucketPrefix"):
        vault_plan(stack_spec("prod"), {"drkit:backupBucketPrefix": "x" * 60})


def test_cluster_without_tls_issues_no_certificates(stack_spec: Callable[..., Spec]) -> None:
    waiver = {"rule": "DR102", "reason": "test stack without TLS on purpose", "expires": "2027-05-31"}
    spec = stack_spec("dev", {"registry": {"tls": False}, "waivers": [waiver]})
    plan = cluster_plan(spec, endpoint_type=None)
    assert [k.name for k in plan.of_type("tls:index/privateKey:PrivateKey")] == ["test-ca-key"]  # the fixture's CA
    assert not plan.of_type("aws:secretsmanager/secret:Secret")
    assert "ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379" in members(plan)[0].props["userData"]
    assert plan.outputs["endpoint"].startswith("http://internal-us-east-1-client")


def test_each_region_gets_an_ssm_transfer_bucket_kms_encrypted_private_and_short_lived(prod_cluster: Plan) -> None:
    name = f"drkit-test-backups-{offline.ACCOUNT}-us-east-1-ssm"
    assert named(prod_cluster, "aws:s3/bucket:Bucket", name).props["forceDestroy"] is True  # transient only
    encryption = named(
        prod_cluster,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        f"{name}-encryption",
    )
    default = encryption.props["rules"][0]["applyServerSideEncryptionByDefault"]
    assert default["sseAlgorithm"] == "aws:kms" and default["kmsMasterKeyId"]
    block = named(prod_cluster, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", f"{name}-public-access")
    assert all(block.props[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "restrictPublicBuckets"))
    lifecycle = named(
        prod_cluster, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", f"{name}-lifecycle"
    )
    assert lifecycle.props["rules"][0]["expiration"]["days"] == 1
    policy = named(prod_cluster, "aws:s3/bucketPolicy:BucketPolicy", f"{name}-policy").props["policy"]
    assert "aws:SecureTransport" in policy
