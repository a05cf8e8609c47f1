"""The committed stacks under Pulumi mocks: what each builds, where, and that every resource rule passes."""

from __future__ import annotations

from collections import Counter

import pytest

from drkit.policy.catalog import PolicySet
from drkit.policy.resources import evaluate_resources
from drkit.provision import offline
from drkit.sandbox.inventory import inventory as lab_inventory
from drkit.sandbox.paths import LabPaths
from drkit.sandbox.plan import plan_lab
from tests.provision.conftest import BUCKET, HEALTH_CHECK, INGRESS, RECORD, VOLUME, PlanFor, members


@pytest.mark.parametrize(
    ("stack", "regions"),
    [
        ("dev", {"us-east-1": 3}),
        ("staging", {"eu-west-1": 3, "eu-central-1": 3}),
        ("prod", {"us-east-1": 5, "us-west-2": 5}),
    ],
)
def test_members_per_region_spread_round_robin_over_three_azs(
    plan_for: PlanFor, stack: str, regions: dict[str, int]
) -> None:
    plan = plan_for(stack)
    assert Counter(m.region for m in members(plan)) == regions
    for region, count in regions.items():
        placed = members(plan, region)
        zones = [m.props["availabilityZone"] for m in placed]
        expected = [f"{region}{'abc'[index % 3]}" for index in range(count)]
        assert zones == expected
        # Fixed private IPs, each inside its AZ's private subnet.
        ips = [m.props["privateIp"] for m in placed]
        assert len(set(ips)) == count
        assert all(m.props["subnetId"] for m in placed)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_every_resource_rule_passes(plan_for: PlanFor, stack_spec, stack: str, policies: PolicySet) -> None:  # type: ignore[no-untyped-def]
    results, _ = evaluate_resources(policies, stack_spec(stack), plan_for(stack).resources)
    assert [r.rule.id for r in results] == [rule.id for rule in policies.resource_rules]
    assert {"DR401", "DR402", "DR403", "DR404", "DR405", "DR406"} <= {r.rule.id for r in results}
    assert all(r.status == "pass" for r in results), [(r.rule.id, r.findings) for r in results if r.status != "pass"]


def test_prod_backup_bucket_encrypted_and_replicated_to_the_other_region(plan_for: PlanFor) -> None:
    plan = plan_for("prod")
    buckets = {b.props["bucket"]: b for b in plan.of_type(BUCKET)}
    assert buckets["drkit-prod-backups-123456789012-us-east-1"].region == "us-east-1"
    assert buckets["drkit-prod-backups-123456789012-us-west-2"].region == "us-west-2"
    (replication,) = plan.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    rule = replication.props["rules"][0]
    assert replication.props["bucket"] == "drkit-prod-backups-123456789012-us-east-1"
    assert rule["destination"]["bucket"] == "arn:aws:s3:::drkit-prod-backups-123456789012-us-west-2"
    assert rule["destination"]["replicationTime"]["status"] == "Enabled"
    encryption = plan.of_type("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert {e.props["bucket"] for e in encryption} == set(buckets)
    assert all(
        e.props["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms" for e in encryption
    )
    assert all(v.props["encrypted"] is True and v.props["type"] == "gp3" for v in plan.of_type(VOLUME))


def test_prod_failover_records_with_health_checks(plan_for: PlanFor) -> None:
    plan = plan_for("prod")
    http = [c for c in plan.of_type(HEALTH_CHECK) if c.props["type"] == "HTTP"]
    assert sorted(c.tags["drkit:region"] for c in http) == ["us-east-1", "us-west-2"]
    assert {(c.props["requestInterval"], c.props["failureThreshold"], c.props["resourcePath"]) for c in http} == {
        (10, 3, "/health")
    }
    records = {r.props["failoverRoutingPolicies"][0]["type"]: r for r in plan.of_type(RECORD)}
    assert set(records) == {"PRIMARY", "SECONDARY"}
    assert records["PRIMARY"].props["setIdentifier"] == "us-east-1"
    for record in records.values():
        assert record.props["name"] == "registry.example.com" and record.props["ttl"] == 30
        assert record.props["healthCheckId"]  # the calculated check: reachable and serving


def test_prod_serving_is_a_control_check_only_a_failover_flips(plan_for: PlanFor) -> None:
    """Per region a CALCULATED check with no children, threshold 0, Disabled (Route 53: always healthy) and
    Inverted for standbys (so: unhealthy); the check each record uses needs it and etcd's /health."""
    plan = plan_for("prod")
    checks = plan.of_type(HEALTH_CHECK)
    controls = {c.tags["drkit:region"]: c for c in checks if c.tags.get("drkit:role") == "endpoint-control"}
    assert set(controls) == {"us-east-1", "us-west-2"}
    for control in controls.values():
        assert control.props["type"] == "CALCULATED" and control.props["disabled"] is True
        assert control.props["childHealthThreshold"] == 0 and not control.props.get("childHealthchecks")
    assert controls["us-east-1"].props["invertHealthcheck"] is False  # the primary starts serving
    assert controls["us-west-2"].props["invertHealthcheck"] is True  # the standby does not
    serving = [c for c in checks if c.props["type"] == "CALCULATED" and c.props.get("childHealthchecks")]
    assert len(serving) == 2 and all(c.props["childHealthThreshold"] == 2 for c in serving)
    alarms = plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert alarms and all(alarm.props.get("metricName") != "Promoted" for alarm in alarms)  # only recovery alarms


def test_dev_has_no_endpoint_and_no_mirror(plan_for: PlanFor) -> None:
    plan = plan_for("dev")
    assert not plan.of_type(HEALTH_CHECK)
    assert not [r for r in plan.resources if r.type == "drkit:provision:StandbyReplicator"]
    assert plan.outputs["globalEndpoint"] is None


def test_staging_uses_global_accelerator_with_the_standby_dialled_to_zero(plan_for: PlanFor) -> None:
    groups = {
        g.props["endpointGroupRegion"]: g
        for g in plan_for("staging").of_type("aws:globalaccelerator/endpointGroup:EndpointGroup")
    }
    assert {region: g.props["trafficDialPercentage"] for region, g in groups.items()} == {
        "eu-west-1": 100,
        "eu-central-1": 0,
    }
    assert all(g.props["healthCheckIntervalSeconds"] == 10 and g.props["thresholdCount"] == 3 for g in groups.values())
    assert all(len(g.props["endpointConfigurations"]) == 3 for g in groups.values())


def test_inventory_output_uses_the_lab_inventory_names(plan_for: PlanFor, stack_spec, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cloud = plan_for("prod").outputs["inventory"]
    lab = lab_inventory(plan_lab("local", stack_spec("local")), LabPaths(tmp_path))
    lab_member = next(iter(lab["all"]["children"]["registry"]["children"]["region_lab_east"]["hosts"].values()))
    cloud_regions = cloud["all"]["children"]["registry"]["children"]
    assert set(cloud_regions) == {"region_us_east_1", "region_us_west_2"}
    cloud_member = cloud_regions["region_us_east_1"]["hosts"]["us-east-1-1"]
    # The connection settings are the lab's own (local); every drkit_* name must be there in the cloud too.
    assert set(lab_member) - {"ansible_connection", "ansible_python_interpreter"} <= set(cloud_member)
    assert set(lab["all"]["vars"]) - {"drkit_state_dir"} <= set(cloud["all"]["vars"])
    assert cloud_member["drkit_region_role"] == "primary" and cloud_member["drkit_az"] == "us-east-1a"
    assert cloud_member["drkit_client_url"] == "https://10.40.0.10:2379"
    assert set(cloud["all"]["children"]) >= {"registry", "backup_targets", "endpoint", "mirrors"}
    rsync = cloud["all"]["children"]["backup_targets"]["hosts"]["backup-1.internal"]
    assert rsync["drkit_rsync_url"] == "backup-1.internal:/srv/registry-backups"
    # The S3 target carries the lab's S3 variable names (the lab's fake keys aside), with the vault's KMS key.
    lab_s3 = lab["all"]["children"]["backup_targets"]["hosts"]["lab-s3"]
    bucket, replica = (
        f"drkit-prod-backups-{offline.ACCOUNT}-us-east-1",
        f"drkit-prod-backups-{offline.ACCOUNT}-us-west-2",
    )
    s3 = cloud["all"]["children"]["backup_targets"]["hosts"][f"s3-{bucket}"]
    assert {k for k in lab_s3 if k.startswith("drkit_s3_") and not k.endswith("_key")} <= set(s3)
    assert s3["drkit_s3_bucket"] == bucket and s3["drkit_s3_endpoint_url"] == ""
    assert s3["drkit_s3_kms_key"] and s3["drkit_s3_object_lock_seconds"] == 30 * 86400
    assert s3["drkit_s3_replica_bucket"] == replica
    assert cloud["all"]["children"]["endpoint"]["hosts"]["endpoint"]["drkit_endpoint_url"] == (
        "https://registry.example.com:2379"
    )


def test_prod_standby_is_fed_by_make_mirror_over_the_peering(plan_for: PlanFor) -> None:
    plan = plan_for("prod")
    # The mirror's peering; the witness's own peerings are tested in test_witness.
    (peering,) = [
        p
        for p in plan.of_type("aws:ec2/vpcPeeringConnection:VpcPeeringConnection")
        if p.name == "us-east-1-to-us-west-2"
    ]
    assert peering.region == "us-east-1" and peering.props["peerRegion"] == "us-west-2"
    accepters = plan.of_type("aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter")
    assert len([a for a in accepters if not a.name.startswith("witness-")]) == 1
    routes = [
        r
        for r in plan.of_type("aws:ec2/route:Route")
        if r.props.get("vpcPeeringConnectionId") and not r.name.startswith("witness-")
    ]
    assert sorted(r.props["destinationCidrBlock"] for r in routes) == ["10.40.0.0/16"] * 3 + ["10.41.0.0/16"] * 3
    (mirror,) = [i for i in plan.of_type("aws:ec2/instance:Instance") if i.tags.get("drkit:role") == "mirror"]
    assert mirror.region == "us-west-2"
    user_data = mirror.props["userData"]
    assert "make-mirror" in user_data and "--endpoints=https://internal-us-east-1-client" in user_data
    assert "--prefix" not in user_data  # prefixes [/]: every key
    opened = [
        r
        for r in plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.name == "us-east-1-lb-from-us-west-2-mirror"
    ]
    assert [(r.props["fromPort"], r.props["cidrIpv4"]) for r in opened] == [(2379, "10.41.0.0/16")]


def test_staging_certificates_name_the_accelerator_clients_connect_through(plan_for: PlanFor) -> None:
    plan = plan_for("staging")
    (accelerator,) = plan.of_type("aws:globalaccelerator/accelerator:Accelerator")
    name = accelerator.props["dnsName"]
    # The URL clients get is the accelerator's name, so every member's server certificate must carry it.
    assert plan.outputs["globalEndpoint"].split("://")[1].startswith(name)
    requests = [r for r in plan.of_type("tls:index/certRequest:CertRequest") if r.name.startswith("eu-")]
    assert requests and all(name in r.props["dnsNames"] for r in requests)
    # The endpoint groups health-check etcd's plain /health on the metrics port the members open to the VPC.
    for group in plan.of_type("aws:globalaccelerator/endpointGroup:EndpointGroup"):
        assert (group.props["healthCheckProtocol"], group.props["healthCheckPort"]) == ("HTTP", 2381)
        assert group.props["healthCheckPath"] == "/health"
    # ...and Route 53's health checkers, which send those checks, may reach that port and only that port.
    for region in ("eu-west-1", "eu-central-1"):
        rule = next(r for r in plan.of_type(INGRESS) if r.name == f"{region}-metrics-from-route53")
        assert rule.props["fromPort"] == rule.props["toPort"] == 2381 and rule.props["prefixListId"]
