"""The GCP components under Pulumi mocks (the mixed stack `hybrid`: AWS primary, GCP standby): zones, CMEK,
retention, firewall, the endpoint's GCP target, inventory names; and what the program refuses on GCP."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

import pytest

from drkit.provision import offline
from drkit.provision.errors import ProvisionError
from drkit.provision.gcp.network import GOOGLE_HEALTH_CHECK_RANGES, IAP_TCP_RANGE
from drkit.provision.resources import Plan, PlannedResource
from drkit.spec.model import Spec
from tests.provision.conftest import PlanFor, program_config

GCE = "gcp:compute/instance:Instance"
DISK = "gcp:compute/disk:Disk"
FIREWALL = "gcp:compute/firewall:Firewall"
FORWARDING = "gcp:compute/forwardingRule:ForwardingRule"
GCS = "gcp:storage/bucket:Bucket"
KEY = "gcp:kms/cryptoKey:CryptoKey"
STANDBY = "us-central1"


@pytest.fixture(scope="module")
def hybrid(plan_for: PlanFor) -> Plan:
    return plan_for("hybrid")


def gce_members(plan: Plan) -> list[PlannedResource]:
    found = [r for r in plan.of_type(GCE) if r.tags.get("drkit:role") == "member"]
    return sorted(found, key=lambda r: r.name)


def only(plan: Plan, type_token: str, name: str) -> PlannedResource:
    (found,) = [r for r in plan.of_type(type_token) if r.name == name]
    return found


def test_members_spread_round_robin_over_three_zones_at_fixed_addresses(hybrid: Plan) -> None:
    members = gce_members(hybrid)
    assert [(m.name, m.props["zone"]) for m in members] == [
        ("us-central1-1", "us-central1-a"),
        ("us-central1-2", "us-central1-b"),
        ("us-central1-3", "us-central1-c"),
    ]
    addresses = [m.prop("networkInterfaces", 0, "networkIp") for m in members]
    assert addresses == ["10.41.0.10", "10.41.16.10", "10.41.32.10"]
    assert all(m.region == STANDBY and m.props["machineType"] == "n2-standard-2" for m in members)
    # No external address on any member: no accessConfigs.
    assert all(not m.prop("networkInterfaces", 0, "accessConfigs") for m in members)


def test_a_zone_that_is_down_is_skipped_by_the_lookup(stack_spec: Callable[..., Spec]) -> None:
    regions = [
        {"name": "us-east-1", "provider": "aws", "role": "primary", "availabilityZones": 3},
        {"name": "us-central1", "provider": "gcp", "role": "standby", "availabilityZones": 3},
    ]
    spec = stack_spec("hybrid", {"regions": regions})
    plan = offline.run_offline(spec, "hybrid", program_config("hybrid"), unavailable_zones=("us-central1-b",))
    assert [m.props["zone"] for m in gce_members(plan)] == ["us-central1-a", "us-central1-c", "us-central1-f"]


def test_too_few_zones_up_is_refused(stack_spec: Callable[..., Spec]) -> None:
    regions = [
        {"name": "us-east-1", "provider": "aws", "role": "primary", "availabilityZones": 3},
        {"name": "us-east1", "provider": "gcp", "role": "standby", "availabilityZones": 3},
    ]
    spec = stack_spec("hybrid", {"regions": regions})
    with pytest.raises(ProvisionError, match="us-east1 has 2 zones up, the spec asks for 3"):
        offline.run_offline(spec, "hybrid", program_config("hybrid"), unavailable_zones=("us-east1-c",))


def test_zones_looked_up_when_the_spec_names_none(stack_spec: Callable[..., Spec]) -> None:
    regions = [
        {"name": "us-east-1", "provider": "aws", "role": "primary", "availabilityZones": 3},
        {"name": "us-east1", "provider": "gcp", "role": "standby", "availabilityZones": 3},
    ]
    plan = offline.run_offline(stack_spec("hybrid", {"regions": regions}), "hybrid", program_config("hybrid"))
    assert sorted(str(m.props["zone"]) for m in gce_members(plan)) == ["us-east1-b", "us-east1-c", "us-east1-d"]
    assert any("us-east1: members placed in us-east1-b, us-east1-c, us-east1-d" in w for w in plan.warnings)


def test_disks_boot_disks_and_secrets_use_the_regions_kms_key(hybrid: Plan) -> None:
    (key,) = [k for k in hybrid.of_type(KEY) if k.name == f"{STANDBY}-registry-key"]
    assert key.props["rotationPeriod"] == "7776000s" and key.options["protect"] is True
    disks = hybrid.of_type(DISK)
    assert len(disks) == 3 and all(d.prop("diskEncryptionKey", "kmsKeySelfLink") == key.props["id"] for d in disks)
    assert all(d.options["retainOnDelete"] for d in disks)
    assert all(m.prop("bootDisk", "kmsKeySelfLink") == key.props["id"] for m in gce_members(hybrid))
    secrets = [s for s in hybrid.of_type("gcp:secretmanager/secret:Secret") if s.name.endswith("-tls")]
    assert len(secrets) == 3
    for holder in secrets:
        (replica,) = holder.prop("replication", "userManaged", "replicas")
        assert replica["customerManagedEncryption"]["kmsKeyName"] == key.props["id"]
    versions = hybrid.of_type("gcp:secretmanager/secretVersion:SecretVersion")
    assert versions and all("secretData" in v.secret_props for v in versions)


def test_the_gcs_bucket_keeps_snapshots_for_the_locked_retention_policy(hybrid: Plan) -> None:
    (bucket,) = hybrid.of_type(GCS)
    assert bucket.region == STANDBY and bucket.props["location"] == "US-CENTRAL1"
    assert bucket.props["retentionPolicy"] == {"retentionPeriod": str(7 * 86400), "isLocked": True}
    assert bucket.props["uniformBucketLevelAccess"] is True and bucket.props["publicAccessPrevention"] == "enforced"
    assert bucket.prop(
        "encryption",
        "defaultKmsKeyName",
    ).startswith("projects/drkit-hybrid-example/")
    assert bucket.options["protect"] is True  # a locked bucket cannot be deleted anyway: destroy must not try
    assert bucket.tags["drkit:role"] == "backup" and bucket.tags["drkit:backup-target"] == "1"


def test_an_unlocked_retention_policy_is_not_protected(stack_spec: Callable[..., Spec]) -> None:
    targets = [
        {"type": "s3", "replicaRegion": "us-east-2", "objectLock": "7d"},
        {"type": "gcs", "retentionPolicy": "3d"},
    ]
    spec = stack_spec("hybrid", {"backups": {"targets": targets}})
    plan = offline.run_offline(spec, "hybrid", program_config("hybrid"))
    (bucket,) = plan.of_type(GCS)
    assert bucket.props["retentionPolicy"] == {"retentionPeriod": str(3 * 86400), "isLocked": False}
    assert bucket.options["protect"] is False
    assert bucket.region == STANDBY  # a gcs target without region lives in the spec's first gcp region


def _sources(rule: PlannedResource) -> list[str]:
    return list(rule.props.get("sourceRanges") or [])


def test_firewall_rules_open_each_port_only_to_its_sources(hybrid: Plan) -> None:
    rules = {r.name.removeprefix(f"{STANDBY}-"): r for r in hybrid.of_type(FIREWALL)}
    assert set(rules) == {"peer", "client", "metrics", "route53-health", "iap-ssh"}
    for rule in rules.values():
        assert rule.props["direction"] == "INGRESS" and rule.props["targetTags"] == ["drkit-hybrid-member"]
        for source in _sources(rule):
            assert ipaddress.ip_network(source).prefixlen >= 8, f"{rule.name} admits {source}"
    assert rules["peer"].props["sourceTags"] == ["drkit-hybrid-member"] and not _sources(rules["peer"])
    assert rules["peer"].props["allows"] == [{"protocol": "tcp", "ports": ["2380"]}]
    assert _sources(rules["client"]) == ["10.80.0.0/16", "10.41.0.0/16"]
    assert _sources(rules["metrics"]) == [*GOOGLE_HEALTH_CHECK_RANGES, "10.41.0.0/16"]
    assert _sources(rules["route53-health"]) == sorted(offline.ROUTE53_CHECKER_RANGES)
    assert rules["route53-health"].props["allows"] == [{"protocol": "tcp", "ports": ["2381"]}]
    assert _sources(rules["iap-ssh"]) == [IAP_TCP_RANGE]


def test_client_lb_is_internal_and_only_the_health_listener_is_external(hybrid: Plan) -> None:
    rules = {r.name: r for r in hybrid.of_type(FORWARDING)}
    client, health = rules[f"{STANDBY}-client"], rules[f"{STANDBY}-health"]
    assert client.props["loadBalancingScheme"] == "INTERNAL" and client.props["ports"] == ["2379"]
    assert client.props["ipAddress"] == "10.41.255.250" and client.props["allowGlobalAccess"] is True
    assert health.props["loadBalancingScheme"] == "EXTERNAL" and health.props["ports"] == ["2381"]


def test_route53_fails_over_to_the_gcp_internal_address_with_a_health_check(hybrid: Plan) -> None:
    records = {r.props["failoverRoutingPolicies"][0]["type"]: r for r in hybrid.of_type("aws:route53/record:Record")}
    secondary = records["SECONDARY"]
    assert secondary.props["type"] == "A" and secondary.props["records"] == ["10.41.255.250"]
    assert secondary.props["setIdentifier"] == STANDBY and records["PRIMARY"].props["type"] == "CNAME"
    health = only(hybrid, "aws:route53/healthCheck:HealthCheck", f"{STANDBY}-health")
    (address,) = [a for a in hybrid.of_type("gcp:compute/address:Address") if a.name == f"{STANDBY}-health"]
    assert health.props["ipAddress"] == address.props["address"] and "fqdn" not in health.props
    assert (health.props["port"], health.props["resourcePath"], health.props["requestInterval"]) == (
        2381,
        "/health",
        10,
    )
    control = only(hybrid, "aws:route53/healthCheck:HealthCheck", f"{STANDBY}-control")
    assert control.props["invertHealthcheck"] is True  # the standby is not served until a failover promotes it


def test_gcp_members_boot_the_same_layout_with_tls_from_secret_manager(hybrid: Plan) -> None:
    import yaml

    member = gce_members(hybrid)[0]
    user_data = yaml.safe_load(member.props["metadata"]["user-data"].removeprefix("#cloud-config\n"))
    files = {f["path"]: f["content"] for f in user_data["write_files"]}
    assert "secretmanager.googleapis.com" in files["/usr/local/sbin/drkit-fetch-tls"]
    assert "aws secretsmanager" not in files["/usr/local/sbin/drkit-fetch-tls"]
    assert "ETCD_NAME=us-central1-1" in files["/etc/drkit/etcd.env"]
    assert "ETCD_INITIAL_CLUSTER_STATE=new" in files["/etc/drkit/etcd.env"]
    commands = user_data["runcmd"]
    assert commands[0] == ["/usr/local/sbin/drkit-prepare-data", "/dev/disk/by-id/google-etcd-data", "/var/lib/etcd"]
    assert commands[1][:3] == ["/usr/local/sbin/drkit-install-etcd", "3.5.17", "amd64"]
    assert commands[2] == [
        "/usr/local/sbin/drkit-fetch-tls",
        "projects/drkit-hybrid-example/secrets/drkit-hybrid-us-central1-1-tls",
        STANDBY,
    ]
    assert "PRIVATE KEY" not in member.props["metadata"]["user-data"]


def test_inventory_names_gcp_hosts_like_aws_ones_reached_over_iap(hybrid: Plan) -> None:
    registry = hybrid.outputs["inventory"]["all"]["children"]["registry"]["children"]
    assert set(registry) == {"region_us_east_1", "region_us_central1"}
    hosts = registry["region_us_central1"]["hosts"]
    assert sorted(hosts) == ["us-central1-1", "us-central1-2", "us-central1-3"]
    first = hosts["us-central1-1"]
    assert first["ansible_host"] == "10.41.0.10" and first["ansible_connection"] == "ssh"
    assert "gcloud compute start-iap-tunnel drkit-hybrid-us-central1-1 22" in first["ansible_ssh_common_args"]
    assert "--zone=us-central1-a --project=drkit-hybrid-example" in first["ansible_ssh_common_args"]
    aws_host = registry["region_us_east_1"]["hosts"]["us-east-1-1"]
    assert aws_host["ansible_connection"] == "amazon.aws.aws_ssm"
    # The same variable names on both clouds: one set of playbooks.
    assert {k for k in first if k.startswith("drkit_")} == {k for k in aws_host if k.startswith("drkit_")}
    assert first["drkit_tls_refresh_command"].endswith("secrets/drkit-hybrid-us-central1-1-tls us-central1")
    assert hybrid.outputs["regionEndpoints"][STANDBY] == "https://10.41.255.250:2379"


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"replication": {"mode": "mirror", "prefixes": ["/"], "maxLag": "5s"}}, "make-mirror across clouds"),
        (
            {"globalEndpoint": {"type": "global-accelerator", "zone": None, "name": None, "ttl": None}},
            "Global Accelerator",
        ),
    ],
)
def test_what_gcp_does_not_have_yet_is_refused(
    stack_spec: Callable[..., Spec], patch: dict[str, Any], message: str
) -> None:
    with pytest.raises(ProvisionError, match=message):
        offline.run_offline(stack_spec("hybrid", patch), "hybrid", program_config("hybrid"))


def test_a_gcp_region_needs_the_project_in_the_stack_config(stack_spec: Callable[..., Spec]) -> None:
    with pytest.raises(ProvisionError, match="no gcp:project"):
        offline.run_offline(stack_spec("hybrid"), "hybrid", {})


def test_drkits_tags_as_gcp_labels_and_back() -> None:
    from drkit.provision import tags

    labels = tags.labels("Hybrid", "us-central1", "registry-cluster", role="member", member="us-central1-1")
    assert labels == {
        "drkit-stack": "hybrid",  # GCP label values are lower case
        "drkit-region": "us-central1",
        "drkit-component": "registry-cluster",
        "drkit-role": "member",
        "drkit-member": "us-central1-1",
    }
    assert all(key.replace("-", "").isalnum() and key.islower() for key in labels)
    back = tags.from_labels({**labels, "team": "platform"})
    assert back["drkit:role"] == "member" and back["drkit:member"] == "us-central1-1" and back["team"] == "platform"
    resource = PlannedResource("urn:x", GCE, "m", {"labels": labels, "zone": "us-central1-b"})
    assert resource.tags["drkit:region"] == "us-central1" and resource.az == "us-central1-b"


def test_a_member_added_after_the_first_up_joins_the_running_gcp_cluster(stack_spec: Callable[..., Spec]) -> None:
    """As on AWS: with drkit:bootstrapMembers recorded, members past that count start with state existing and
    wait for the member playbook's `member add`; the bootstrap members keep their initial cluster."""
    import yaml

    regions = [
        {"name": "us-east-1", "provider": "aws", "role": "primary", "availabilityZones": 3},
        {"name": "us-central1", "provider": "gcp", "role": "standby", "availabilityZones": 3, "members": 5},
    ]
    spec = stack_spec("hybrid", {"regions": regions, "registry": {"members": 3}})
    config = {**program_config("hybrid"), "drkit:bootstrapMembers": {"us-central1": 3}}
    plan = offline.run_offline(spec, "hybrid", config)

    def env(member: PlannedResource) -> str:
        data = yaml.safe_load(member.props["metadata"]["user-data"].removeprefix("#cloud-config\n"))
        return next(f["content"] for f in data["write_files"] if f["path"] == "/etc/drkit/etcd.env")

    members = gce_members(plan)
    assert [("STATE=existing" in env(m)) for m in members] == [False, False, False, True, True]
    assert "ETCD_INITIAL_CLUSTER=us-central1-1=https://10.41.0.10:2380,us-central1-2" in env(members[0])
    assert "us-central1-4=" not in env(members[0]) and "us-central1-4=https://10.41.0.11:2380" in env(members[3])
    assert plan.outputs["bootstrapMembers"]["us-central1"] == 3
