"""Placement arithmetic and the cloud-config text, as pure functions."""

from __future__ import annotations

import yaml

from drkit.provision import cloud_init
from drkit.provision.backup_vault import retention_days
from drkit.provision.layout import Subnet, created_subnets, place_members
from drkit.provision.machine import architecture
from drkit.spec.model import Retention


def test_subnets_are_carved_per_az_without_overlap() -> None:
    private, public = created_subnets("10.40.0.0/16", ["a", "b", "c"])
    assert private == ["10.40.0.0/20", "10.40.16.0/20", "10.40.32.0/20"]
    assert public == ["10.40.128.0/20", "10.40.144.0/20", "10.40.160.0/20"]


def test_members_round_robin_with_fixed_addresses(stack_spec) -> None:  # type: ignore[no-untyped-def]
    region = stack_spec("prod").regions[1]
    subnets = [Subnet("us-west-2a", "10.41.0.0/20"), Subnet("us-west-2b", "10.41.16.0/20")]
    placed = place_members(region, subnets)
    assert [(p.name, p.az, p.private_ip) for p in placed] == [
        ("us-west-2-1", "us-west-2a", "10.41.0.10"),
        ("us-west-2-2", "us-west-2b", "10.41.16.10"),
        ("us-west-2-3", "us-west-2a", "10.41.0.11"),
        ("us-west-2-4", "us-west-2b", "10.41.16.11"),
        ("us-west-2-5", "us-west-2a", "10.41.0.12"),
    ]


def test_architecture_follows_the_instance_family() -> None:
    assert [architecture(t) for t in ("m6i.large", "t3.medium", "m7g.large", "c6gd.xlarge", "t4g.small")] == [
        "amd64",
        "amd64",
        "arm64",
        "arm64",
        "arm64",
    ]


def test_retention_days_cover_the_spec_counts() -> None:
    assert retention_days(Retention(hourly=12, daily=7, weekly=0)) == {"hourly": 2, "daily": 8, "weekly": 1}


def test_mirror_unit_per_prefix_with_tls() -> None:
    arguments = cloud_init.mirror_arguments("https://primary:2379", "https://standby:2379", "/services/", tls=True)
    assert arguments.startswith("--endpoints=https://primary:2379 --cacert=/etc/etcd/pki/ca.crt")
    assert "make-mirror --prefix=/services/ --dest-cacert=" in arguments and arguments.endswith(" https://standby:2379")
    assert "--prefix" not in cloud_init.mirror_arguments("https://p:2379", "https://s:2379", "", tls=False)
    text = cloud_init.mirror_user_data(
        cloud_init.MirrorBoot("prod", "us-west-2", "3.5.17", "amd64", "arn:secret", mirror_arguments=(arguments,))
    )
    config = yaml.safe_load(text.removeprefix("#cloud-config\n"))
    files = {f["path"]: f["content"] for f in config["write_files"]}
    assert files["/etc/drkit/mirror-0.env"] == f"MIRROR_ARGS={arguments}\n"
    assert "ExecStart=/opt/etcd/current/etcdctl $MIRROR_ARGS" in files["/etc/systemd/system/drkit-mirror@.service"]
    assert config["runcmd"][-1] == ["systemctl", "enable", "--now", "drkit-mirror@0.service"]
