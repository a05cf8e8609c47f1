"""What moto cannot show: Global Accelerator (not implemented in moto) through botocore's Stubber, which
checks every request's parameters against what the test expects; and the wait for Run Command results,
against a scripted SSM client and a fake clock (no sleeping)."""

from __future__ import annotations

import subprocess
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from drkit.failover import aws_commands
from drkit.failover.aws import AwsControlPlane

ACCELERATOR = "arn:aws:globalaccelerator::123456789012:accelerator/abc"
LISTENER = f"{ACCELERATOR}/listener/l1"
EAST_GROUP = f"{LISTENER}/endpoint-group/east"
WEST_GROUP = f"{LISTENER}/endpoint-group/west"


@pytest.fixture
def accelerator() -> Any:
    return boto3.client(
        "globalaccelerator", region_name="us-west-2", aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def _plane(client: Any) -> AwsControlPlane:
    def only_the_accelerator(service: str, region: str) -> Any:
        assert (service, region) == ("globalaccelerator", "us-west-2")  # its API lives in us-west-2 only
        return client

    return AwsControlPlane(
        stack="staging",
        regions={"us-east-1": "us-east-1", "us-west-2": "us-west-2"},
        endpoint_type="global-accelerator",
        client_port=2379,
        clients=only_the_accelerator,
    )


def _group(arn: str, region: str, dial: float) -> dict[str, Any]:
    return {"EndpointGroupArn": arn, "EndpointGroupRegion": region, "TrafficDialPercentage": dial}


def _find(stubber: Stubber, west_dial: float) -> None:
    """The look-ups: the accelerator by name among others, its listener, the endpoint groups."""
    stubber.add_response(
        "list_accelerators",
        {
            "Accelerators": [
                {"AcceleratorArn": "arn:aws:globalaccelerator::123456789012:accelerator/other", "Name": "drkit-prod"},
                {"AcceleratorArn": ACCELERATOR, "Name": "drkit-staging"},
            ]
        },
        {},
    )
    stubber.add_response("list_listeners", {"Listeners": [{"ListenerArn": LISTENER}]}, {"AcceleratorArn": ACCELERATOR})
    stubber.add_response(
        "list_endpoint_groups",
        {"EndpointGroups": [_group(EAST_GROUP, "us-east-1", 100.0), _group(WEST_GROUP, "us-west-2", west_dial)]},
        {"ListenerArn": LISTENER},
    )


def test_set_serving_turns_the_regions_dial_up(accelerator: Any) -> None:
    stubber = Stubber(accelerator)
    _find(stubber, west_dial=0.0)
    stubber.add_response(
        "update_endpoint_group",
        {"EndpointGroup": _group(WEST_GROUP, "us-west-2", 100.0)},
        {"EndpointGroupArn": WEST_GROUP, "TrafficDialPercentage": 100.0},
    )
    with stubber:
        action = _plane(accelerator).set_serving("us-west-2", True)
    stubber.assert_no_pending_responses()
    assert action.ok and action.method == "endpoint-in" and f"{WEST_GROUP} dial 100%" in action.detail


def test_set_serving_false_turns_it_down_to_zero(accelerator: Any) -> None:
    stubber = Stubber(accelerator)
    _find(stubber, west_dial=0.0)
    stubber.add_response(
        "update_endpoint_group",
        {"EndpointGroup": _group(EAST_GROUP, "us-east-1", 0.0)},
        {"EndpointGroupArn": EAST_GROUP, "TrafficDialPercentage": 0.0},
    )
    with stubber:
        action = _plane(accelerator).set_serving("us-east-1", False)
    stubber.assert_no_pending_responses()
    assert action.ok and action.method == "endpoint-out"


def test_a_dial_already_set_is_not_updated(accelerator: Any) -> None:
    stubber = Stubber(accelerator)
    _find(stubber, west_dial=100.0)  # no update_endpoint_group queued: calling it would fail the test
    with stubber:
        action = _plane(accelerator).set_serving("us-west-2", True)
    assert action.ok and "already at 100%" in action.detail


def test_a_dial_that_did_not_take_is_a_failed_action(accelerator: Any) -> None:
    stubber = Stubber(accelerator)
    _find(stubber, west_dial=0.0)
    stubber.add_response(
        "update_endpoint_group",
        {"EndpointGroup": _group(WEST_GROUP, "us-west-2", 0.0)},
        {"EndpointGroupArn": WEST_GROUP, "TrafficDialPercentage": 100.0},
    )
    with stubber:
        action = _plane(accelerator).set_serving("us-west-2", True)
    assert not action.ok and "not 100" in action.detail


def test_no_accelerator_of_the_stack_is_a_failed_action(accelerator: Any) -> None:
    stubber = Stubber(accelerator)
    stubber.add_response("list_accelerators", {"Accelerators": []}, {})
    with stubber:
        action = _plane(accelerator).set_serving("us-west-2", True)
    assert not action.ok and "no accelerator named drkit-staging" in action.detail


def test_an_accelerator_api_error_is_a_failed_action(accelerator: Any) -> None:
    stubber = Stubber(accelerator)
    stubber.add_client_error("list_accelerators", "AccessDeniedException", "no globalaccelerator:List*")
    with stubber:
        action = _plane(accelerator).set_serving("us-west-2", True)
    assert not action.ok and "AccessDeniedException" in action.detail


# Waiting for Run Command -------------------------------------------------------------------------------------


class ScriptedSsm:
    """An SSM client whose invocations go through the given statuses, one per poll."""

    def __init__(self, statuses: dict[str, list[str]]) -> None:
        self.statuses = statuses
        self.polls: list[str] = []

    def send_command(self, **params: Any) -> dict[str, Any]:
        self.sent = params
        return {"Command": {"CommandId": "cmd-1"}}

    def get_command_invocation(self, CommandId: str, InstanceId: str) -> dict[str, Any]:  # noqa: N803 (boto3's names)
        self.polls.append(InstanceId)
        queue = self.statuses[InstanceId]
        return {"Status": queue.pop(0) if len(queue) > 1 else queue[0]}


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _run(ssm: ScriptedSsm, clock: FakeClock, timeout: float = 10.0) -> aws_commands.CommandOutcome:
    return aws_commands.run_command(
        ssm, sorted(ssm.statuses), ["true"], "test", timeout=timeout, poll_interval=2.0, clock=clock, sleep=clock.sleep
    )


def test_run_command_polls_until_every_instance_is_final() -> None:
    ssm, clock = ScriptedSsm({"i-1": ["Pending", "InProgress", "Success"], "i-2": ["Success"]}), FakeClock()
    outcome = _run(ssm, clock)
    assert outcome.ok and outcome.statuses == {"i-1": "Success", "i-2": "Success"}
    assert clock.slept == [2.0, 2.0]
    assert ssm.polls == ["i-1", "i-2", "i-1", "i-1"]  # a finished instance is not asked again
    assert ssm.sent["DocumentName"] == "AWS-RunShellScript" and ssm.sent["InstanceIds"] == ["i-1", "i-2"]


def test_run_command_gives_up_at_the_timeout_and_says_so() -> None:
    ssm, clock = ScriptedSsm({"i-1": ["InProgress"]}), FakeClock()
    outcome = _run(ssm, clock, timeout=5.0)
    assert not outcome.ok and outcome.statuses == {"i-1": "InProgress"}
    assert clock.now >= 5.0 and "i-1 InProgress" in outcome.summary()


def test_a_failed_invocation_fails_the_outcome() -> None:
    outcome = _run(ScriptedSsm({"i-1": ["Success"], "i-2": ["Failed"]}), FakeClock())
    assert not outcome.ok and "i-2 Failed" in outcome.summary()


def test_start_mirror_script_restarts_only_units_whose_arguments_changed() -> None:
    script = aws_commands.start_mirror_script(["--endpoints=https://a:2379 make-mirror https://b:2379"])
    assert script[2] == (
        "printf '%s\\n' 'MIRROR_ARGS=--endpoints=https://a:2379 make-mirror https://b:2379'"
        " > /etc/drkit/mirror-0.env.new"
    )
    assert "action=start" in script[3] and "action=restart" in script[3]
    assert script[4:] == ["systemctl enable drkit-mirror@0.service", 'systemctl "$action" drkit-mirror@0.service']


@pytest.mark.parametrize("script", [aws_commands.start_mirror_script(["a b", "c"]), aws_commands.stop_mirror_script(2)])
def test_the_scripts_parse_as_shell(script: list[str]) -> None:
    subprocess.run(["sh", "-n", "-c", "\n".join(script)], check=True)
