"""DR009: provider-specific region keys (instance type, region and zone names) fit the region's provider."""

import re
from collections.abc import Iterator

from drkit.policy import Finding, RuleContext, rule
from drkit.spec.secrets import OpaqueSecret

# EC2 instance types are family.size (m6i.large, t3.small, u-6tb1.metal); GCE machine types are
# series-kind[-size] with no dot (n2-standard-2, e2-medium, c3-highcpu-8, custom-4-16384). Neither cloud
# accepts the other's form, and `pulumi up` would fail only after the other regions are half built.
_AWS_INSTANCE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
_GCE_MACHINE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$")
# AWS regions: us-east-1, ap-southeast-2, us-gov-west-1; GCP regions: us-central1, europe-west4.
_AWS_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]$")
_GCP_REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
# Zones: the AWS region plus a letter (us-east-1a); the GCP region, a dash and a letter (us-central1-a).
_ZONE_FORMS = {"aws": "{region}[a-z]", "gcp": "{region}-[a-z]"}
_KINDS = {"aws": "an EC2 instance type", "gcp": "a GCE machine type"}
_CLOUDS = {"aws": "an AWS", "gcp": "a GCP"}
_EXAMPLES = {
    "aws": ("m6i.large", "us-east-1", "us-east-1a"),
    "gcp": ("n2-standard-2", "us-central1", "us-central1-a"),
}


@rule(
    id="DR009",
    name="Ensure each region's instance type, region name and zones fit its provider",
    category="availability",
    severity="high",
    remediation="Use an EC2 instance type (m6i.large) and AWS names (us-east-1, us-east-1a) on provider aws, a GCE"
    " machine type (n2-standard-2) and GCP names (us-central1, us-central1-a) on provider gcp; list at least"
    " availabilityZones zones when you name them; on gcp give network.cidr only.",
)
def check(ctx: RuleContext) -> Iterator[Finding]:
    """One spec may mix AWS and GCP regions, and their keys look alike: an EC2 instance type on a GCP
    region (or a GCE machine type on an AWS one) passes the schema and fails only at `pulumi up`, after
    the other cloud's resources are half built. Per provider: the instance type has that cloud's form, the
    region name that cloud's form, and every zone named belongs to the region, in that cloud's form, with at
    least availabilityZones of them; a gcs backup target is in a GCP region; a GCP region names no AWS network
    keys (vpcId, subnetIds, clientSecurityGroupIds), which the GCP program would otherwise ignore. A secret
    instance type is not read (it cannot be judged here)."""
    yield from _bucket_regions(ctx)
    for region in ctx.spec.regions:
        if region.provider not in _EXAMPLES:
            continue  # local: the lab's names are labels
        instance, region_name, zone = _EXAMPLES[region.provider]
        other = "gcp" if region.provider == "aws" else "aws"
        at = ("regions", region.index)
        kind = _AWS_INSTANCE if region.provider == "aws" else _GCE_MACHINE
        if not isinstance(region.instance_type, OpaqueSecret) and not kind.match(region.instance_type):
            looks = _AWS_INSTANCE if other == "aws" else _GCE_MACHINE
            what = f"is {_KINDS[other]}, not" if looks.match(region.instance_type) else "is not"
            yield Finding(
                f"region {region.name} ({region.provider}): instanceType {region.instance_type!r} {what}"
                f" {_KINDS[region.provider]} like {instance}",
                (*at, "instanceType"),
            )
        names = _AWS_REGION if region.provider == "aws" else _GCP_REGION
        if not names.match(region.name):
            yield Finding(
                f"region {region.name} is not {_CLOUDS[region.provider]} region name like {region_name}", (*at, "name")
            )
        form = re.compile("^" + _ZONE_FORMS[region.provider].format(region=re.escape(region.name)) + "$")
        for number, name in enumerate(region.zones):
            if not form.match(name):
                yield Finding(
                    f"zone {name} is not {_CLOUDS[region.provider]} zone of {region.name} (like {zone})",
                    (*at, "zones", number),
                )
        if region.provider == "gcp":
            network = region.network
            for key, value in (
                ("vpcId", network.vpc_id),
                ("subnetIds", network.subnet_ids),
                ("clientSecurityGroupIds", network.client_security_group_ids),
            ):
                if value:
                    yield Finding(
                        f"region {region.name} (gcp): network.{key} is an AWS key; drkit builds a GCP region's"
                        " network itself (network.cidr)",
                        (*at, "network", key),
                    )
        if region.zones and len(region.zones) < region.availability_zones:
            yield Finding(
                f"region {region.name} spreads over {region.availability_zones} zones, {len(region.zones)} named",
                (*at, "zones"),
            )


def _bucket_regions(ctx: RuleContext) -> Iterator[Finding]:
    """A gcs target's bucket lives in a GCP region (an s3 target's in an AWS one): without a gcp region in the
    spec, a gcs target's region defaults to the primary's, which may be an AWS name."""
    for target in ctx.spec.backups.targets if ctx.spec.backups else ():
        if target.type == "gcs" and not _GCP_REGION.match(target.region):
            yield Finding(
                f"gcs target in {target.region}: a GCS bucket needs a GCP region (like us-central1); name it in"
                " the target's region",
                ("backups", "targets", target.index, "region"),
            )
