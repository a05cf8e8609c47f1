"""The JSON policy documents the program writes, handed to S3 and IAM APIs.

moto is a mock of AWS running in this process (no network): it parses and stores these documents as the
real APIs would accept them, which catches malformed JSON and wrong document shapes. It does not evaluate
them, so what they allow is asserted on the documents themselves (test_components).
"""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from drkit.provision.backup_vault import assume_by_s3, deny_insecure_transport, replication_policy
from drkit.provision.machine import assume_role_policy
from drkit.provision.registry_cluster import member_policy


@pytest.fixture(autouse=True)
def _no_real_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)


@mock_aws
def test_bucket_policy_is_accepted_by_s3() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="drkit-prod-backups-us-east-1")
    s3.put_bucket_policy(
        Bucket="drkit-prod-backups-us-east-1", Policy=deny_insecure_transport("drkit-prod-backups-us-east-1")
    )
    stored = json.loads(s3.get_bucket_policy(Bucket="drkit-prod-backups-us-east-1")["Policy"])
    assert stored["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@mock_aws
def test_roles_and_their_policies_are_accepted_by_iam() -> None:
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_role(RoleName="member", AssumeRolePolicyDocument=assume_role_policy())
    iam.put_role_policy(
        RoleName="member",
        PolicyName="member",
        PolicyDocument=member_policy(
            ["arn:aws:s3:::drkit-prod-backups-us-east-1"],
            ["arn:aws:kms:us-east-1:123456789012:key/a"],
            ["arn:aws:secretsmanager:us-east-1:123456789012:secret:us-east-1-1-tls"],
            promoting_stack="prod",  # with automatic promotion: the guard's rights to promote
        ),
    )
    iam.create_role(RoleName="replication", AssumeRolePolicyDocument=assume_by_s3())
    iam.put_role_policy(
        RoleName="replication",
        PolicyName="replication",
        PolicyDocument=replication_policy(
            "drkit-prod-backups-us-east-1",
            "drkit-prod-backups-us-west-2",
            "arn:aws:kms:us-east-1:1:key/a",
            "arn:aws:kms:us-west-2:1:key/b",
        ),
    )
    stored = iam.get_role_policy(RoleName="replication", PolicyName="replication")["PolicyDocument"]
    assert {"s3:ReplicateObject", "s3:ReplicateDelete"} <= {a for s in stored["Statement"] for a in s["Action"]}
