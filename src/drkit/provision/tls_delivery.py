"""How an instance gets its TLS material: a Secrets Manager secret it reads at boot, never its user data.

User data is readable by anyone allowed ec2:DescribeInstanceAttribute and is kept in the Pulumi state in
plain text, so the key goes into a secret encrypted with the region's KMS key, and cloud-init fetches it.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from drkit.provision.tls import CertificateAuthority, IssuedCertificate, bundle


def tls_secret(
    name: str,
    issued: IssuedCertificate,
    ca: CertificateAuthority,
    kms_key: aws.kms.Key,
    tags: dict[str, str],
    opts: pulumi.ResourceOptions,
    description: str = "TLS key and certificate of one registry instance, read by cloud-init at boot (drkit).",
) -> aws.secretsmanager.Secret:
    holder = aws.secretsmanager.Secret(
        name,
        description=description,
        kms_key_id=kms_key.arn,
        recovery_window_in_days=7,
        tags={**tags, "drkit:role": "tls-material"},
        opts=opts,
    )
    aws.secretsmanager.SecretVersion(
        f"{name}-value",
        secret_id=holder.id,
        secret_string=bundle(ca, issued),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=["secretString"])),
    )
    return holder
