"""What every drkit EC2 instance shares: the AMI, the CPU architecture, the auto-recovery alarm."""

from __future__ import annotations

import re

import pulumi
import pulumi_aws as aws

# Graviton families carry a "g" right after the generation digit: m7g.large, c6gd.xlarge, t4g.small.
_GRAVITON = re.compile(r"^[a-z]+[0-9]+g[a-z]*\.")


def architecture(instance_type: str) -> str:
    """The etcd release architecture an instance type runs: arm64 for Graviton, amd64 otherwise."""
    return "arm64" if _GRAVITON.match(instance_type) else "amd64"


def amazon_linux(instance_type: str, provider: aws.Provider) -> aws.ec2.AwaitableGetAmiResult:
    """The newest Amazon Linux 2023 for the instance type (it ships the aws CLI and python3 cloud-init uses).

    Instances ignore later AMI changes (see ignore_changes): a new AMI reaches members through the rolling
    upgrade playbook, one member at a time, never as a `pulumi up` that replaces them all at once."""
    machine = "arm64" if architecture(instance_type) == "arm64" else "x86_64"
    return aws.ec2.get_ami(
        most_recent=True,
        owners=["amazon"],
        filters=[
            {"name": "name", "values": [f"al2023-ami-2023.*-kernel-*-{machine}"]},
            {"name": "architecture", "values": [machine]},
        ],
        opts=pulumi.InvokeOptions(provider=provider),
    )


def recovery_alarm(
    name: str, region: str, instance: aws.ec2.Instance, tags: dict[str, str], opts: pulumi.ResourceOptions
) -> aws.cloudwatch.MetricAlarm:
    """Recover the instance (same ID, private IP and volumes) onto healthy hardware after two failed minutes."""
    return aws.cloudwatch.MetricAlarm(
        name,
        alarm_description="Recover this drkit instance when its host fails the system status check.",
        namespace="AWS/EC2",
        metric_name="StatusCheckFailed_System",
        statistic="Maximum",
        period=60,
        evaluation_periods=2,
        threshold=0,
        comparison_operator="GreaterThanThreshold",
        dimensions={"InstanceId": instance.id},
        alarm_actions=[f"arn:aws:automate:{region}:ec2:recover"],
        tags=tags,
        opts=opts,
    )


def assume_role_policy() -> str:
    return (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},'
        '"Action":"sts:AssumeRole"}]}'
    )
