"""Run the program offline under Pulumi's own mocks and record every resource it registers, as plain data.

No credentials, no CLI, no plugins: the mocks answer the few invokes the program makes (AZs, AMI, prefix list,
existing subnets, hosted zone, Route 53's checker ranges; GCP's zones, project number and GCS service agent)
with plausible values and echo inputs back as outputs, adding the computed
attributes the program reads (IDs, ARNs, DNS names, PEM text). Secrets stay marked, so the rules can tell.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Collection, Mapping
from typing import Any

import pulumi
from pulumi.runtime import mocks, rpc

from drkit.provision import stack_config, topology
from drkit.provision.resources import Plan, PlannedResource
from drkit.spec.model import Spec

ACCOUNT = "123456789012"
# Plausible fake PEM text: real-looking markers, so a rule looking for key material in the wrong place finds it.
MOCK_PRIVATE_KEY = "-----BEGIN PRIVATE KEY-----\nbW9jayBrZXkgbWF0ZXJpYWw=\n-----END PRIVATE KEY-----\n"
MOCK_CERTIFICATE = "-----BEGIN CERTIFICATE-----\nbW9jayBjZXJ0aWZpY2F0ZQ==\n-----END CERTIFICATE-----\n"
_PROVIDER_TYPE = "pulumi:providers:aws"
_GCP_PROVIDER_TYPE = "pulumi:providers:gcp"
_PROVIDER_TYPES = (_PROVIDER_TYPE, _GCP_PROVIDER_TYPE)
GCP_PROJECT_NUMBER = "123456789012"
# Route 53's health checkers, a few of the ranges AWS publishes for them (the mocks answer getIpRanges).
ROUTE53_CHECKER_RANGES = ("15.177.0.0/18", "54.183.255.128/26", "54.228.16.0/26", "107.23.255.0/26")


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:17]


class CloudMocks(pulumi.runtime.Mocks):
    """Echo inputs, add computed attributes, answer invokes; regions come from the explicit providers."""

    def __init__(self, unavailable_zones: Collection[str] = ()) -> None:
        self.region_of_provider: dict[str, str] = {}  # provider id -> region
        self.project_of_provider: dict[str, str] = {}  # gcp provider id -> project
        self.unavailable_zones = frozenset(unavailable_zones)  # AZ names an incident has taken out
        self._subnets_seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def region(self, provider_ref: str | None) -> str:
        if not provider_ref:
            return "us-east-1"
        return self.region_of_provider.get(provider_ref.rsplit("::", 1)[-1], "us-east-1")

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        name, typ = args.name, args.typ
        if typ in _PROVIDER_TYPES:
            provider_id = f"{name}-id"
            self.region_of_provider[provider_id] = str(args.inputs.get("region", "us-east-1"))
            if typ == _GCP_PROVIDER_TYPE:
                self.project_of_provider[provider_id] = str(args.inputs.get("project", "mock-project"))
            return provider_id, dict(args.inputs)
        region = self.region(args.provider)
        if typ.startswith("gcp:"):
            return self._gcp_resource(args, region)
        service = typ.split(":")[1].split("/")[0] if typ.count(":") == 2 else "mock"
        resource_id = _ID_PREFIXES.get(typ, "") + _short_hash(f"{typ}:{name}")
        state: dict[str, Any] = {
            **args.inputs,
            "id": resource_id,
            "arn": f"arn:aws:{service}:{region}:{ACCOUNT}:{name}",
        }
        state.setdefault("name", name)
        extra = _COMPUTED.get(typ)
        if extra is not None:
            state.update(extra(name, region, args.inputs))
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> Any:
        region = self.region(args.provider)
        token = args.token
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return self._zones(region, args.args.get("state"))
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            arn = f"arn:aws:iam::{ACCOUNT}:user/drkit"
            return {"accountId": ACCOUNT, "arn": arn, "userId": "AIDMOCK", "id": ACCOUNT}
        if token == "aws:ec2/getAmi:getAmi":
            return {"id": "ami-0123456789abcdef0", "name": "al2023-ami-2023.6-kernel-6.1-x86_64"}
        if token == "aws:ec2/getManagedPrefixList:getManagedPrefixList":
            return self._prefix_list(region, str(args.args.get("name", "")))
        if token == "aws:ec2/getVpc:getVpc":
            return {"id": args.args.get("id", "vpc-0mock"), "cidrBlock": "10.99.0.0/16"}
        if token == "aws:ec2/getSubnet:getSubnet":
            with self._lock:
                seen = self._subnets_seen.setdefault(region, 0)
                self._subnets_seen[region] = seen + 1
            return {
                "id": args.args.get("id", "subnet-0mock"),
                "availabilityZone": f"{region}{'abcdef'[seen % 6]}",
                "cidrBlock": f"10.99.{seen * 16}.0/20",
            }
        if token == "aws:route53/getZone:getZone":
            return {"zoneId": "Z0MOCKZONE0001", "name": args.args.get("name", ""), "id": "Z0MOCKZONE0001"}
        if token == "aws:index/getIpRanges:getIpRanges":
            return {"cidrBlocks": list(ROUTE53_CHECKER_RANGES), "ipv6CidrBlocks": [], "id": "ip-ranges"}
        if token == "gcp:compute/getZones:getZones":
            return self._gcp_zones(str(args.args.get("region", region)), args.args.get("status"))
        if token == "gcp:organizations/getProject:getProject":
            project = args.args.get("projectId", "mock-project")
            return {"number": GCP_PROJECT_NUMBER, "projectId": project, "name": project, "id": f"projects/{project}"}
        if token == "gcp:storage/getProjectServiceAccount:getProjectServiceAccount":
            email = f"service-{GCP_PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com"
            return {"emailAddress": email, "member": f"serviceAccount:{email}", "id": email}
        return {}

    def _gcp_zones(self, region: str, status: str | None) -> dict[str, Any]:
        """GCP names zones region-letter, not always from a: us-east1 has b, c, d (the mocks say so too)."""
        letters = "bcd" if region == "us-east1" else "abcf"
        names = [f"{region}-{letter}" for letter in letters]
        if status == "UP":
            names = [name for name in names if name not in self.unavailable_zones]
        return {"names": names, "id": region}

    def _gcp_resource(self, args: pulumi.runtime.MockResourceArgs, region: str) -> tuple[str, dict[str, Any]]:
        """GCP's computed attributes the program reads: self links, names, emails, addresses, key names."""
        provider_id = (args.provider or "").rsplit("::", 1)[-1]
        project = self.project_of_provider.get(provider_id, "mock-project")
        typ, name, inputs = args.typ, args.name, args.inputs
        physical = str(inputs.get("name", name))
        kind = typ.split(":")[-1]
        where = f"zones/{inputs['zone']}" if "zone" in inputs else f"regions/{region}"
        resource_id = f"projects/{project}/{where}/{kind[0].lower()}{kind[1:]}s/{physical}"
        state: dict[str, Any] = {**inputs, "id": resource_id, "name": physical, "project": project}
        state["selfLink"] = f"https://www.googleapis.com/compute/v1/{resource_id}"
        if typ == "gcp:kms/keyRing:KeyRing":
            state["id"] = f"projects/{project}/locations/{inputs.get('location')}/keyRings/{physical}"
        elif typ == "gcp:kms/cryptoKey:CryptoKey":
            state["id"] = f"{inputs.get('keyRing')}/cryptoKeys/{physical}"
        elif typ == "gcp:secretmanager/secret:Secret":
            state["id"] = state["name"] = f"projects/{project}/secrets/{inputs.get('secretId')}"
        elif typ == "gcp:serviceaccount/account:Account":
            state["email"] = f"{inputs.get('accountId')}@{project}.iam.gserviceaccount.com"
        elif typ == "gcp:compute/address:Address":
            # An internal address is the one the program fixed; an external one is GCP's pick.
            state["address"] = inputs.get("address") or f"34.120.{int(_short_hash(physical)[:4], 16) % 250}.10"
        elif typ == "gcp:storage/bucket:Bucket":
            state["url"] = f"gs://{physical}"
        return str(state["id"]), state

    def _zones(self, region: str, state: str | None) -> dict[str, Any]:
        """Four AZs; zone IDs map to names in no particular order, as they do per account in AWS."""
        area, direction, ordinal = [*region.split("-"), "", ""][:3]
        prefix = f"{area}{direction[:1]}{ordinal}"  # us-east-1 -> use1, us-west-2 -> usw2
        zones = [(f"{region}{letter}", f"{prefix}-az{n}") for letter, n in zip("abcd", (2, 4, 1, 3), strict=True)]
        if state == "available":
            zones = [zone for zone in zones if zone[0] not in self.unavailable_zones]
        return {"names": [z[0] for z in zones], "zoneIds": [z[1] for z in zones], "id": region}

    @staticmethod
    def _prefix_list(region: str, name: str) -> Any:
        """AWS names its managed prefix lists per region: a name from another region, or without one, finds
        nothing, and the look-up fails as the provider's does (a check failure, so the invoke raises)."""
        if name not in {f"com.amazonaws.{region}.route53-healthchecks", f"com.amazonaws.{region}.s3"}:
            return {}, [("name", f"no matching EC2 Managed Prefix List found in {region} (name {name!r})")]
        return {"id": f"pl-{_short_hash(name)}", "name": name}


_ID_PREFIXES = {
    "aws:ec2/instance:Instance": "i-",
    "aws:ebs/volume:Volume": "vol-",
    "aws:ec2/vpc:Vpc": "vpc-",
    "aws:ec2/subnet:Subnet": "subnet-",
    "aws:ec2/securityGroup:SecurityGroup": "sg-",
}


def _load_balancer(name: str, region: str, inputs: dict[str, Any]) -> dict[str, Any]:
    scheme = "internal-" if inputs.get("internal") else ""
    return {"dnsName": f"{scheme}{name}-{_short_hash(name)[:8]}.elb.{region}.amazonaws.com", "zoneId": "Z26RNL4JYFTOTI"}


_COMPUTED: dict[str, Callable[[str, str, dict[str, Any]], dict[str, Any]]] = {
    "aws:lb/loadBalancer:LoadBalancer": _load_balancer,
    "aws:kms/key:Key": lambda name, region, _: {"arn": f"arn:aws:kms:{region}:{ACCOUNT}:key/{_short_hash(name)}"},
    "aws:s3/bucket:Bucket": lambda name, _r, inputs: {"arn": f"arn:aws:s3:::{inputs.get('bucket', name)}"},
    "aws:ec2/instance:Instance": lambda name, _r, inputs: {"privateIp": inputs.get("privateIp", "10.99.0.100")},
    "aws:globalaccelerator/accelerator:Accelerator": lambda name, _r, _i: {
        "dnsName": f"a{_short_hash(name)}.awsglobalaccelerator.com"
    },
    "tls:index/privateKey:PrivateKey": lambda name, _r, _i: {
        "privateKeyPem": MOCK_PRIVATE_KEY,
        "privateKeyPemPkcs8": MOCK_PRIVATE_KEY,
        "publicKeyPem": "-----BEGIN PUBLIC KEY-----\nbW9jaw==\n-----END PUBLIC KEY-----\n",
    },
    "tls:index/certRequest:CertRequest": lambda name, _r, _i: {
        "certRequestPem": "-----BEGIN CERTIFICATE REQUEST-----\nbW9jaw==\n-----END CERTIFICATE REQUEST-----\n"
    },
    "tls:index/selfSignedCert:SelfSignedCert": lambda name, _r, _i: {"certPem": MOCK_CERTIFICATE},
    "tls:index/locallySignedCert:LocallySignedCert": lambda name, _r, _i: {"certPem": MOCK_CERTIFICATE},
}


class RecordingMonitor(mocks.MockMonitor):
    """The mock monitor, also keeping each registration's type, parent, provider and secret markings."""

    def __init__(self, cloud: CloudMocks) -> None:
        super().__init__(cloud)
        self.cloud = cloud
        self.recorded: list[PlannedResource] = []
        self._record_lock = threading.Lock()

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802  (the gRPC method name)
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            # The state the mocks return: inputs plus computed attributes, as the engine's outputs would be.
            props, secret = _unwrap(self.resources[response.urn].state if response.urn in self.resources else {})
            resource = PlannedResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                props=props,
                region=props.get("region") if request.type in _PROVIDER_TYPES else self._region(request.provider),
                secret_props=frozenset(secret) | frozenset(request.additionalSecretOutputs),
                parent=request.parent or None,
                options=_options(request),
            )
            with self._record_lock:
                self.recorded.append(resource)
        return response

    def _region(self, provider_ref: str) -> str | None:
        return (
            self.cloud.region(provider_ref)
            if provider_ref.startswith("urn:") and any(kind in provider_ref for kind in _PROVIDER_TYPES)
            else None
        )


def _options(request: Any) -> dict[str, Any]:
    """The resource options that decide what `pulumi up` and `pulumi destroy` may do to it (as the engine
    receives them: the mocks' new_resource never sees options, the monitor's request carries them)."""
    return {
        "protect": bool(request.protect),
        "retainOnDelete": bool(request.retainOnDelete),
        "ignoreChanges": sorted(request.ignoreChanges),
        **({"deleteBeforeReplace": True} if request.deleteBeforeReplace else {}),
    }


def _unwrap(props: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """Plain values, and the top-level properties that held a secret anywhere inside."""
    secret: set[str] = set()

    def plain(value: Any, key: str) -> Any:
        if rpc.is_rpc_secret(value):
            secret.add(key)
            return plain(rpc.unwrap_rpc_secret(value), key)
        if isinstance(value, dict):
            return {k: plain(v, key) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v, key) for v in value]
        return value

    return {key: plain(value, key) for key, value in props.items()}, secret


def record(
    program: Callable[[], Mapping[str, Any]],
    stack: str,
    config: Mapping[str, Any] | None = None,
    unavailable_zones: Collection[str] = (),
) -> Plan:
    """Run `program` (which registers resources and returns its outputs) under the mocks, await every
    registration and output, and return what was registered. Tests run single components through this.

    `config`: stack config besides drkit:spec, by full key (drkit:availabilityZones, ...); `unavailable_zones`:
    AZ names the mocked look-up of available zones leaves out, as during an AZ incident."""
    cloud = CloudMocks(unavailable_zones)
    monitor = RecordingMonitor(cloud)
    pulumi.runtime.set_mocks(cloud, project="drkit", stack=stack, preview=False, monitor=monitor)
    # The whole config, every run: nothing left over from an earlier plan in the same process.
    pulumi.runtime.set_all_config(
        {key: value if isinstance(value, str) else json.dumps(value) for key, value in (config or {}).items()}, []
    )
    resolved: dict[str, Any] = {}

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def run() -> pulumi.Output[None]:
        # Returning the Output makes pulumi.runtime.test await it; it also waits for every registration.
        return pulumi.Output.all(**program()).apply(resolved.update)

    with stack_config.collecting() as warnings:
        run()
    # Registrations arrive from worker threads in no fixed order: sort, so plans and reports are reproducible.
    resources = tuple(sorted(monitor.recorded, key=lambda resource: resource.urn))
    return Plan(stack, resources, resolved, tuple(warnings))


def run_offline(
    spec: Spec, stack: str, config: Mapping[str, Any] | None = None, unavailable_zones: Collection[str] = ()
) -> Plan:
    """The whole stack under mocks. Raises ProvisionError (the spec cannot be built as written) like the
    real program would."""
    return record(lambda: topology.build(spec, stack), stack, config, unavailable_zones)
