"""`drkit sandbox ...`: the local DR lab (real etcd clusters on this machine) and the faults drills use."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from drkit.cli.common import lab_state_dir, load_stack_spec
from drkit.sandbox.binaries import BinaryMissingError
from drkit.sandbox.endpoint import EndpointError
from drkit.sandbox.lab import Lab, LabError
from drkit.sandbox.network import NetworkError, choose_mode
from drkit.sandbox.paths import StateDirError
from drkit.sandbox.plan import DEFAULT_BASE_PORT, NETWORK_MODES, load_saved_plan, plan_lab
from drkit.sandbox.ports import PortBusyError
from drkit.sandbox.status_table import render_status
from drkit.sandbox.supervisor_client import SupervisorError


@contextmanager
def lab_errors() -> Iterator[None]:
    """Every lab failure the user can act on becomes one clear line and an exit code, never a traceback."""
    try:
        yield
    except (BinaryMissingError, PortBusyError, StateDirError) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    except (LabError, NetworkError) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(error.exit_code)
    except (SupervisorError, EndpointError) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)


stack_option = click.option("--stack", default="local", show_default=True, help="Stack whose spec the lab runs.")
state_option = click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where the lab keeps data, logs and sockets. Default: .drkit/sandbox/<stack>/ in the checkout.",
)


@click.group()
def sandbox() -> None:
    """The local DR lab: the stack's spec as real etcd clusters, mirror, rsync target and HAProxy on 127.0.0.1."""


@sandbox.command()
@stack_option
@state_option
@click.option(
    "--base-port",
    type=click.IntRange(1024, 65000),
    default=DEFAULT_BASE_PORT,
    show_default=True,
    help="First port of the block the lab allocates (used when the lab is first created).",
)
@click.option(
    "--network",
    type=click.Choice(["auto", *NETWORK_MODES]),
    default="auto",
    show_default=True,
    help="loopback: every member on 127.0.0.1. namespaces: each region in its own network namespace, so"
    " `partition` can cut it off (needs root, ip and iptables). auto: namespaces when possible."
    " Used when the lab is first created; an existing lab keeps its mode.",
)
def up(stack: str, state_dir: Path | None, base_port: int, network: str) -> None:
    """Start the lab (or finish starting it); a second `up` changes nothing and says so."""
    spec = load_stack_spec(stack)
    with lab_errors():
        directory = lab_state_dir(stack, state_dir)
        saved = load_saved_plan(directory)
        mode = saved.network if saved else choose_mode(network)
        if saved and network not in ("auto", saved.network):
            click.echo(
                f"  the lab keeps its {saved.network} network (chosen when it was created);"
                f" `drkit sandbox down --purge` first to start it with {network}"
            )
        lab = Lab.prepare(plan_lab(stack, spec, base_port, mode, directory), directory)
        click.echo(lab.up(lambda line: click.echo(f"  {line}")))


@sandbox.command()
@stack_option
@state_option
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def status(stack: str, state_dir: Path | None, output_format: str) -> None:
    """Members, leader, raft index, db size and health per region; mirror lag; endpoint; backup target."""
    with lab_errors():
        report = Lab.existing(lab_state_dir(stack, state_dir)).status()
    click.echo(json.dumps(report, indent=2) if output_format == "json" else render_status(report))


def _member_or_lab(action: str, whole: Callable[[Lab], str], one: Callable[[Lab, str], str]) -> Any:
    @click.argument("member", required=False)
    @stack_option
    @state_option
    def command(member: str | None, stack: str, state_dir: Path | None) -> None:
        with lab_errors():
            lab = Lab.existing(lab_state_dir(stack, state_dir))
            click.echo(one(lab, member) if member else whole(lab))

    command.__doc__ = action
    return command


def _stop_lab(lab: Lab) -> str:
    killed = lab.stop()
    extra = f" (killed {len(killed)} that did not stop in time: {killed})" if killed else ""
    return f"lab {lab.plan.stack} stopped; data kept in {lab.paths.root}{extra}"


def _start_lab(lab: Lab) -> str:
    return lab.up(lambda line: click.echo(f"  {line}"))


def _stop_member(lab: Lab, member: str) -> str:
    lab.stop_member(member)
    return f"stopped {member}"


def _start_member(lab: Lab, member: str) -> str:
    if lab.start_member(member):
        return f"started {member}; it is healthy"
    return f"started {member}; too few of its region's members run for a quorum, so it waits for its peers"


sandbox.command("stop")(
    _member_or_lab(
        "Stop the whole lab (data kept), or one MEMBER (SIGTERM, as a clean shutdown).", _stop_lab, _stop_member
    )
)
sandbox.command("start")(
    _member_or_lab("Start the stopped lab from its saved layout, or one stopped MEMBER.", _start_lab, _start_member)
)


@sandbox.command()
@stack_option
@state_option
@click.option("--purge", is_flag=True, help="Also move the state dir aside (renamed with a timestamp, never deleted).")
def down(stack: str, state_dir: Path | None, purge: bool) -> None:
    """Stop every process the lab started, by pid; with --purge move its state dir aside."""
    with lab_errors():
        lab = Lab.existing(lab_state_dir(stack, state_dir))
        killed, aside = lab.down(purge)
    click.echo(f"lab {stack} is down" + (f"; state moved to {aside}" if aside else "; data kept"))
    if killed:
        click.echo(f"  killed {len(killed)} processes that did not stop in time: {killed}")


def _signal_command(name: str, signum: signal.Signals, doc: str) -> None:
    @sandbox.command(name, help=doc)
    @click.argument("member")
    @stack_option
    @state_option
    def command(member: str, stack: str, state_dir: Path | None) -> None:
        with lab_errors():
            pid = Lab.existing(lab_state_dir(stack, state_dir)).signal_member(member, signum)
        click.echo(f"sent {signum.name} to {member} (pid {pid})")

    command.__doc__ = doc


_signal_command("kill", signal.SIGKILL, "Kill MEMBER with SIGKILL (a crash; it stays down until `start MEMBER`).")
_signal_command("pause", signal.SIGSTOP, "Freeze MEMBER with SIGSTOP (a hung process: alive, not answering).")
_signal_command("resume", signal.SIGCONT, "Thaw a paused MEMBER with SIGCONT.")


@sandbox.command("kill-region")
@click.argument("region")
@stack_option
@state_option
def kill_region(region: str, stack: str, state_dir: Path | None) -> None:
    """SIGKILL every member of REGION at once (a region outage)."""
    with lab_errors():
        pids = Lab.existing(lab_state_dir(stack, state_dir)).kill_region(region)
    click.echo(f"killed region {region}: pids {pids}")


@sandbox.command("wipe-region")
@click.argument("region")
@stack_option
@state_option
def wipe_region(region: str, stack: str, state_dir: Path | None) -> None:
    """Lose REGION's data: SIGKILL its members and move their data dirs aside (kept, never deleted)."""
    with lab_errors():
        moved = Lab.existing(lab_state_dir(stack, state_dir)).wipe_region(region)
    click.echo(f"wiped region {region}: data moved aside to {', '.join(str(path) for path in moved) or 'nothing'}")


def _region_command(name: str, act: Callable[[Lab, str], None], done: str, doc: str) -> None:
    """`drkit sandbox NAME REGION`: one action on one region of the lab, then `done` (with {region})."""

    @sandbox.command(name, help=doc)
    @click.argument("region")
    @stack_option
    @state_option
    def command(region: str, stack: str, state_dir: Path | None) -> None:
        with lab_errors():
            act(Lab.existing(lab_state_dir(stack, state_dir)), region)
        click.echo(done.format(region=region))

    command.__doc__ = doc


_region_command(
    "drain-region",
    lambda lab, region: lab.set_region_serving(region, False),
    "endpoint: region {region} drained (maintenance)",
    "Take REGION out of the endpoint's rotation (HAProxy maintenance).",
)
_region_command(
    "enable-region",
    lambda lab, region: lab.set_region_serving(region, True),
    "endpoint: region {region} in rotation",
    "Put REGION in the endpoint's rotation (only after promoting it!).",
)


@sandbox.command("partition")
@click.argument("region")
@click.option(
    "--keep-witness", is_flag=True, help="Cut only the links to the other regions and the endpoint, not the witness."
)
@stack_option
@state_option
def partition(region: str, keep_witness: bool, stack: str, state_dir: Path | None) -> None:
    """Cut REGION off from the other regions, the endpoint and the witness (namespaces labs; ends with heal)."""
    with lab_errors():
        Lab.existing(lab_state_dir(stack, state_dir)).network.partition(region, keep_witness=keep_witness)
    kept = " (it still reaches the witness)" if keep_witness else " and the witness"
    click.echo(f"region {region} partitioned: cut off from the other regions, the endpoint{kept}; it keeps its quorum")


@sandbox.group()
def guards() -> None:
    """Automatic promotion: a witness and a guard per region (drkit.failover.guard)."""


def _guards_command(name: str, act: Callable[[Lab], None], done: str, doc: str) -> None:
    @guards.command(name, help=doc)
    @stack_option
    @state_option
    def command(stack: str, state_dir: Path | None) -> None:
        with lab_errors():
            act(Lab.existing(lab_state_dir(stack, state_dir)))
        click.echo(done)

    command.__doc__ = doc


_guards_command(
    "start",
    lambda lab: lab.start_guards(lambda line: click.echo(f"  {line}")),
    "guards started: a standby is promoted when the primary's lease at the witness expires",
    "Start the witness and the guards (kept on across `up` until `guards stop`).",
)
_guards_command("stop", Lab.stop_guards, "guards stopped: promotion is manual", "Stop the guards and the witness.")
_guards_command(
    "pause",
    lambda lab: lab.set_guards_paused(True),
    "guards paused: no automatic promotion (the primary still renews its lease)",
    "Maintenance: standbys' guards do not promote until `guards resume`.",
)
_guards_command(
    "resume",
    lambda lab: lab.set_guards_paused(False),
    "guards resumed",
    "End a pause: automatic promotion again.",
)


@sandbox.group()
def schedule() -> None:
    """Scheduled backups: the members' timers, fired by the lab (drkit.sandbox.scheduler)."""


@schedule.command(name="start")
@click.option(
    "--every",
    type=float,
    default=None,
    help="Seconds between backups instead of the spec's cron schedule (drills and tests; kept until changed).",
)
@stack_option
@state_option
def schedule_start(every: float | None, stack: str, state_dir: Path | None) -> None:
    """Fire scheduled backups: every member of the primary region, the leader backs up (kept across `up`)."""
    if every is not None and every <= 0:
        click.echo(f"error: --every {every:g}: give a positive number of seconds", err=True)
        sys.exit(2)
    with lab_errors():
        Lab.existing(lab_state_dir(stack, state_dir)).start_schedule(lambda line: click.echo(line), every)


@schedule.command(name="stop")
@stack_option
@state_option
def schedule_stop(stack: str, state_dir: Path | None) -> None:
    """Stop firing scheduled backups. A backup in progress is stopped too: it counts for nothing (a snapshot
    is a backup only once its manifest is written, last)."""
    with lab_errors():
        Lab.existing(lab_state_dir(stack, state_dir)).stop_schedule()
    click.echo("scheduled backups off")


_region_command(
    "heal",
    lambda lab, region: lab.network.heal(region),
    "region {region} healed: reachable again",
    "End REGION's partition: its veth carries traffic again.",
)
