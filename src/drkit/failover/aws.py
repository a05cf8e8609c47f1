"""AwsControlPlane: the ControlPlane of a stack `pulumi up` built on AWS, driven with boto3.

It finds everything by the tags drkit's Pulumi program puts on it (drkit.provision.tags), never by IDs kept
somewhere else, so any machine with credentials can run a failover:

- members: EC2 instances tagged drkit:stack, drkit:region and drkit:role=member;
- their client port: the ingress rules of those instances' security groups that admit the client port;
- the endpoint (route53-failover): per region a control health check tagged drkit:role=endpoint-control
  (see set_serving); (global-accelerator): the accelerator named drkit-<stack>, its endpoint group per region;
- the mirror: instances tagged drkit:role=mirror in the standby region, reached through SSM Run Command;
- client endpoints (to re-point a mirror): the internal NLB tagged drkit:role=client-lb.

Every action returns a FenceAction, also when AWS refused or could not be reached (ok=False, the error in
the detail): during a region failure the old primary's API may well be down, and the engine must get that
as evidence, not as an exception. Only an action that cannot even be attempted (a region the stack does not
have) raises ControlPlaneError.

Tested against moto (EC2, Route 53, SSM, ELBv2 store and return API state; SSM never runs the script and
reports Success) and, for Global Accelerator, which moto does not implement, against botocore's Stubber.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from drkit.failover import aws_commands, aws_ingress
from drkit.failover.control import ControlPlane, ControlPlaneError, FenceAction
from drkit.provision import cloud_init, tags
from drkit.spec.model import Spec

ClientFactory = Callable[[str, str], Any]  # (service, AWS region) -> a boto3 client
ENDPOINT_TYPES = ("route53-failover", "global-accelerator", "none")
ENDPOINT_CONTROL = tags.ENDPOINT_CONTROL_ROLE
CLIENT_LB = tags.CLIENT_LB_ROLE
# Route 53 and Global Accelerator are global services whose APIs live in one region each.
ROUTE53_API_REGION = "us-east-1"
ACCELERATOR_API_REGION = "us-west-2"
_LIVE_STATES = ["pending", "running", "stopping", "stopped", "shutting-down"]


@dataclass(frozen=True)
class MirrorSettings:
    """What re-pointing a mirror needs besides the endpoints: the prefixes (one unit each) and TLS."""

    prefixes: tuple[str, ...] = ("",)
    tls: bool = True


@dataclass
class AwsControlPlane:
    """The ControlPlane of stack `stack` on AWS.

    regions: drkit region name (as in the spec, and in the drkit:region tags) -> AWS region name (the same on
    AWS; kept apart so the mapping is explicit). endpoint_type: route53-failover, global-accelerator or none.
    clients: a boto3 Session, or a factory (service, AWS region) -> client (tests pass moto's or
    Stubber-wrapped clients). Run Command waits up to `command_timeout` seconds, polling every
    `poll_interval` with the injected `clock` and `sleep`.

    set_serving on route53-failover flips the region's control health check. The check is CALCULATED with
    no children and a threshold of 0, and Disabled: Route 53 documents that it "considers the status of a
    disabled health check to always be healthy" and that to stop routing to the resource one changes
    Inverted instead. So Inverted=False is serving and Inverted=True is not serving, decided by drkit alone,
    whatever Route 53's checkers see; the region's record answers only while its calculated check (etcd's
    /health AND this control) is healthy. With Route 53 ARC one would flip a routing control instead.
    """

    stack: str
    regions: Mapping[str, str]
    endpoint_type: str
    client_port: int
    clients: Any  # boto3.session.Session or ClientFactory
    mirror: MirrorSettings = field(default_factory=MirrorSettings)
    command_timeout: float = 120.0
    poll_interval: float = 2.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _cache: dict[tuple[str, str], Any] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.endpoint_type not in ENDPOINT_TYPES:
            raise ControlPlaneError(
                f"endpoint type {self.endpoint_type!r}: expected one of {', '.join(ENDPOINT_TYPES)}"
            )

    @classmethod
    def from_spec(cls, stack: str, spec: Spec, session: Any, **options: Any) -> AwsControlPlane:
        """The control plane of `stack` built from its spec: its AWS regions, endpoint, client port, mirror."""
        endpoint = spec.global_endpoint.type if spec.global_endpoint else "none"
        return cls(
            stack=stack,
            regions={region.name: region.name for region in spec.regions if region.provider == "aws"},
            endpoint_type=endpoint,
            client_port=spec.registry.client_port,
            clients=session,
            mirror=MirrorSettings(tuple(cloud_init.mirrored_prefixes(spec.replication)), spec.registry.tls),
            **options,
        )

    # Members -------------------------------------------------------------------------------------------------

    def stop_members(self, region: str) -> FenceAction:
        return self._attempt("stop-members", region, lambda: self._set_members(region, running=False))

    def start_members(self, region: str) -> FenceAction:
        return self._attempt("start-members", region, lambda: self._set_members(region, running=True))

    def _set_members(self, region: str, running: bool) -> tuple[bool, str]:
        ec2 = self.client("ec2", region)
        instances = self._instances(region, "member")
        if not instances:
            return False, f"no member instances tagged {tags.STACK}={self.stack}, {tags.REGION}={region}"
        goal = ("pending", "running") if running else ("stopping", "stopped")
        to_change = sorted(i["InstanceId"] for i in instances if i["State"]["Name"] not in goal)
        states = {i["InstanceId"]: i["State"]["Name"] for i in instances}
        if to_change:
            if running:
                changes = ec2.start_instances(InstanceIds=to_change)["StartingInstances"]
            else:
                # Force: a fence must not wait for an OS hanging on shutdown; etcd fsyncs, so its data survives.
                changes = ec2.stop_instances(InstanceIds=to_change, Force=True)["StoppingInstances"]
            for change in changes:
                states[change["InstanceId"]] = change["CurrentState"]["Name"]
        listed = ", ".join(f"{instance} {state}" for instance, state in sorted(states.items()))
        if not all(state in goal for state in states.values()):
            return False, f"not all {'started' if running else 'stopped'}: {listed}"
        already = "" if to_change else "already "
        return True, f"{already}{'started' if running else 'stopped'}: {listed}"

    # Client port ---------------------------------------------------------------------------------------------

    def cut_client_port(self, region: str) -> FenceAction:
        return self._attempt("cut-client-port", region, lambda: self._cut(region))

    def restore_client_port(self, region: str) -> FenceAction:
        return self._attempt("restore-client-port", region, lambda: self._restore(region))

    def _cut(self, region: str) -> tuple[bool, str]:
        ec2 = self.client("ec2", region)
        groups = self._member_groups(region)
        if not groups:
            return False, f"no member instances (and so no security groups) in {region}"
        done = []
        for group in groups:
            revoke = aws_ingress.client_port_permissions(group.get("IpPermissions", []), self.client_port)
            if not revoke:
                state = "already cut" if aws_ingress.read_record(group.get("Tags", [])) else "no client-port rule"
                done.append(f"{group['GroupId']}: {state}")
                continue
            record = aws_ingress.merge(aws_ingress.read_record(group.get("Tags", [])), revoke)
            # The record is written before the rules go: if this process dies in between, a restore finds
            # rules it would re-add (a duplicate, harmless), never revoked rules it does not know about.
            ec2.create_tags(Resources=[group["GroupId"]], Tags=aws_ingress.record_tags(record))
            ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=revoke)
            rules = "; ".join(aws_ingress.describe(permission) for permission in revoke)
            done.append(f"{group['GroupId']}: revoked {rules}")
        return True, " | ".join(done)

    def _restore(self, region: str) -> tuple[bool, str]:
        ec2 = self.client("ec2", region)
        groups = self._member_groups(region)
        if not groups:
            return False, f"no member instances (and so no security groups) in {region}"
        done = []
        for group in groups:
            group_tags = group.get("Tags", [])
            record = aws_ingress.read_record(group_tags)
            if not record:
                done.append(f"{group['GroupId']}: nothing recorded as cut")
                continue
            for permission in record:
                try:
                    ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[permission])
                except ClientError as error:
                    # Already there (a restore re-run, or `pulumi up --refresh` put it back): nothing to do.
                    if _code(error) != "InvalidPermission.Duplicate":
                        raise
            ec2.delete_tags(
                Resources=[group["GroupId"]], Tags=[{"Key": key} for key in aws_ingress.record_keys(group_tags)]
            )
            rules = "; ".join(aws_ingress.describe(permission) for permission in record)
            done.append(f"{group['GroupId']}: restored {rules}")
        return True, " | ".join(done)

    def _member_groups(self, region: str) -> list[dict[str, Any]]:
        group_ids = sorted(
            {group["GroupId"] for instance in self._instances(region, "member") for group in instance["SecurityGroups"]}
        )
        if not group_ids:
            return []
        response = self.client("ec2", region).describe_security_groups(GroupIds=group_ids)
        return list(response["SecurityGroups"])

    # Endpoint ------------------------------------------------------------------------------------------------

    def set_serving(self, region: str, serving: bool) -> FenceAction:
        method = "endpoint-in" if serving else "endpoint-out"
        if self.endpoint_type == "route53-failover":
            return self._attempt(method, region, lambda: self._route53_serving(region, serving))
        if self.endpoint_type == "global-accelerator":
            return self._attempt(method, region, lambda: self._accelerator_serving(region, serving))
        self._aws_region(region)
        return FenceAction(method, region, False, "no global endpoint in this stack: clients choose regions themselves")

    def _route53_serving(self, region: str, serving: bool) -> tuple[bool, str]:
        route53 = self.client("route53", ROUTE53_API_REGION)
        check_id = self._control_check(region)
        if check_id is None:
            return False, f"no Route 53 health check tagged {tags.ROLE}={ENDPOINT_CONTROL} for {region}"
        before = route53.get_health_check(HealthCheckId=check_id)["HealthCheck"]["HealthCheckConfig"]
        inverted = not serving
        if bool(before.get("Inverted")) != inverted:
            route53.update_health_check(HealthCheckId=check_id, Inverted=inverted)
        after = route53.get_health_check(HealthCheckId=check_id)["HealthCheck"]["HealthCheckConfig"]
        ok = bool(after.get("Inverted")) == inverted and bool(after.get("Disabled"))
        state = "serving" if serving else "not serving"
        already = "already " if bool(before.get("Inverted")) == inverted else ""
        if not after.get("Disabled"):
            return False, f"control health check {check_id} is not Disabled, so Inverted alone does not decide"
        return ok, f"control health check {check_id} {already}{state} (Inverted={after.get('Inverted')})"

    def _control_check(self, region: str) -> str | None:
        route53 = self.client("route53", ROUTE53_API_REGION)
        wanted = {tags.STACK: self.stack, tags.REGION: region, tags.ROLE: ENDPOINT_CONTROL}
        ids = [check["Id"] for check in _paged(route53, "list_health_checks", "HealthChecks")]
        for start in range(0, len(ids), 10):  # list_tags_for_resources takes at most 10 IDs
            response = route53.list_tags_for_resources(ResourceType="healthcheck", ResourceIds=ids[start : start + 10])
            for tag_set in response["ResourceTagSets"]:
                found = {tag["Key"]: tag["Value"] for tag in tag_set.get("Tags", [])}
                if all(found.get(key) == value for key, value in wanted.items()):
                    return str(tag_set["ResourceId"])
        return None

    def _accelerator_serving(self, region: str, serving: bool) -> tuple[bool, str]:
        accelerator = self.client("globalaccelerator", ACCELERATOR_API_REGION)
        aws_region = self._aws_region(region)
        name = f"drkit-{self.stack}"
        arn = next(
            (
                a["AcceleratorArn"]
                for a in _paged(accelerator, "list_accelerators", "Accelerators")
                if a["Name"] == name
            ),
            None,
        )
        if arn is None:
            return False, f"no accelerator named {name}"
        dial = 100.0 if serving else 0.0
        groups = []
        for listener in _paged(accelerator, "list_listeners", "Listeners", AcceleratorArn=arn):
            groups += [
                group
                for group in _paged(
                    accelerator, "list_endpoint_groups", "EndpointGroups", ListenerArn=listener["ListenerArn"]
                )
                if group["EndpointGroupRegion"] == aws_region
            ]
        if not groups:
            return False, f"accelerator {name} has no endpoint group in {aws_region}"
        done = []
        for group in groups:
            if float(group.get("TrafficDialPercentage", -1)) == dial:
                done.append(f"{group['EndpointGroupArn']} already at {dial:g}%")
                continue
            updated = accelerator.update_endpoint_group(
                EndpointGroupArn=group["EndpointGroupArn"], TrafficDialPercentage=dial
            )["EndpointGroup"]
            if float(updated["TrafficDialPercentage"]) != dial:
                return False, f"{group['EndpointGroupArn']} dial is {updated['TrafficDialPercentage']}, not {dial:g}"
            done.append(f"{group['EndpointGroupArn']} dial {dial:g}%")
        return True, "; ".join(done)

    # Mirror --------------------------------------------------------------------------------------------------

    def stop_mirror(self, into: str) -> FenceAction:
        script = aws_commands.stop_mirror_script(len(self.mirror.prefixes))
        return self._attempt(
            "stop-mirror", into, lambda: self._on_mirrors(into, script, f"drkit {self.stack}: stop mirror")
        )

    def start_mirror(self, source: str, into: str) -> FenceAction:
        def start() -> tuple[bool, str]:
            source_url, into_url = self._client_endpoint(source), self._client_endpoint(into)
            if source_url is None or into_url is None:
                missing = source if source_url is None else into
                return False, f"no client load balancer tagged {tags.ROLE}={CLIENT_LB} in {missing}"
            arguments = [
                cloud_init.mirror_arguments(source_url, into_url, prefix, self.mirror.tls)
                for prefix in self.mirror.prefixes
            ]
            script = aws_commands.start_mirror_script(arguments)
            ok, detail = self._on_mirrors(into, script, f"drkit {self.stack}: mirror {source} into {into}")
            return ok, f"{source_url} -> {into_url}: {detail}"

        self._aws_region(source)
        return self._attempt("start-mirror", into, start)

    def move_data_aside(self, region: str) -> FenceAction:
        """Stop etcd on every member and move its data dir aside (renamed with a UTC timestamp, never deleted).

        Run Command needs running instances: members the failover stopped are started first. Their stale
        etcd boots while the region is still fenced (client-port ingress revoked, out of the endpoint), and
        the script stops it before moving the data; failback restores the port only after this."""

        def move() -> tuple[bool, str]:
            instances = self._instances(region, "member")
            if not instances:
                return False, f"no member instances tagged {tags.STACK}={self.stack}, {tags.REGION}={region}"
            started, detail = self._set_members(region, running=True)
            if not started:
                return False, detail
            ids = sorted(i["InstanceId"] for i in instances)
            members = {_tag(i, tags.MEMBER): i.get("PrivateIpAddress", "") for i in instances}
            if "" in members or not all(members.values()) or len(members) != len(instances):
                return False, f"member instances in {region} lack a unique {tags.MEMBER} tag or a private IP"
            script = aws_commands.move_data_aside_script(cloud_init.DATA_DIR, members)
            return self._run(region, ids, script, f"drkit {self.stack}: move {region}'s etcd data aside")

        return self._attempt("move-data-aside", region, move)

    def _on_mirrors(self, region: str, script: list[str], comment: str) -> tuple[bool, str]:
        instances = sorted(
            i["InstanceId"] for i in self._instances(region, "mirror") if i["State"]["Name"] == "running"
        )
        if not instances:
            return False, f"no running mirror instance tagged {tags.ROLE}=mirror in {region}"
        return self._run(region, instances, script, comment)

    def _run(self, region: str, instances: list[str], script: list[str], comment: str) -> tuple[bool, str]:
        outcome = aws_commands.run_command(
            self.client("ssm", region),
            instances,
            script,
            comment,
            timeout=self.command_timeout,
            poll_interval=self.poll_interval,
            clock=self.clock,
            sleep=self.sleep,
        )
        return outcome.ok, outcome.summary()

    def _client_endpoint(self, region: str) -> str | None:
        elbv2 = self.client("elbv2", region)
        balancers = {lb["LoadBalancerArn"]: lb for lb in _paged(elbv2, "describe_load_balancers", "LoadBalancers")}
        arns = list(balancers)
        wanted = {tags.STACK: self.stack, tags.REGION: region, tags.ROLE: CLIENT_LB}
        for start in range(0, len(arns), 20):  # describe_tags takes at most 20 ARNs
            for description in elbv2.describe_tags(ResourceArns=arns[start : start + 20])["TagDescriptions"]:
                found = {tag["Key"]: tag["Value"] for tag in description.get("Tags", [])}
                if all(found.get(key) == value for key, value in wanted.items()):
                    scheme = "https" if self.mirror.tls else "http"
                    return f"{scheme}://{balancers[description['ResourceArn']]['DNSName']}:{self.client_port}"
        return None

    # Plumbing ------------------------------------------------------------------------------------------------

    def _attempt(self, method: str, region: str, action: Callable[[], tuple[bool, str]]) -> FenceAction:
        """Run one action; an AWS error (refused, unreachable, throttled) becomes a failed FenceAction."""
        self._aws_region(region)
        try:
            ok, detail = action()
        except (ClientError, BotoCoreError) as error:
            return FenceAction(method, region, False, f"AWS error: {error}")
        except ValueError as error:  # a damaged fenced-ingress record
            return FenceAction(method, region, False, str(error))
        return FenceAction(method, region, ok, detail)

    def _aws_region(self, region: str) -> str:
        try:
            return self.regions[region]
        except KeyError:
            known = ", ".join(sorted(self.regions)) or "none"
            raise ControlPlaneError(f"stack {self.stack} has no AWS region {region!r} (its regions: {known})") from None

    def client(self, service: str, region: str) -> Any:
        aws_region = self.regions.get(region, region)
        key = (service, aws_region)
        if key not in self._cache:
            factory = self.clients
            if hasattr(factory, "client"):
                self._cache[key] = factory.client(service, region_name=aws_region)
            else:
                self._cache[key] = factory(service, aws_region)
        return self._cache[key]

    def _instances(self, region: str, role: str) -> list[dict[str, Any]]:
        filters = [
            {"Name": f"tag:{tags.STACK}", "Values": [self.stack]},
            {"Name": f"tag:{tags.REGION}", "Values": [region]},
            {"Name": f"tag:{tags.ROLE}", "Values": [role]},
            {"Name": "instance-state-name", "Values": _LIVE_STATES},
        ]
        ec2 = self.client("ec2", region)
        return [
            instance
            for reservation in _paged(ec2, "describe_instances", "Reservations", Filters=filters)
            for instance in reservation["Instances"]
        ]


def _tag(resource: Mapping[str, Any], key: str) -> str:
    return next((str(tag["Value"]) for tag in resource.get("Tags", []) if tag["Key"] == key), "")


def _paged(client: Any, operation: str, key: str, **arguments: Any) -> Iterator[dict[str, Any]]:
    """Every item of a listing, through boto3's paginator when the operation has one."""
    if client.can_paginate(operation):
        for page in client.get_paginator(operation).paginate(**arguments):
            yield from page.get(key, [])
    else:
        yield from getattr(client, operation)(**arguments).get(key, [])


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _conforms(plane: AwsControlPlane) -> ControlPlane:
    """mypy checks here that AwsControlPlane provides every ControlPlane method with its signature."""
    return plane
