"""The lag drill: a slow link between the regions, so `replication.maxLag` is proven rather than assumed.

The lab's mirror (etcdctl make-mirror, in the root namespace) reads the primary's members and writes into the
standby. For the drill it reads them through drkit.sandbox.delay_proxy instead: the lab's mirror program is
stopped, the same make-mirror command runs with the proxy's addresses as its source (it syncs afresh, as any
restarted make-mirror does, and is waited for at no delay), then the delay is switched on under the ledger's
load and the mirror's lag is probed over a window (a key written on the primary, timed until it is read on
the standby). Then the delay is removed, the drill's mirror stopped and the lab's started again (and waited
for). The run fails when the worst lag probed exceeds `replication.maxLag`, besides every drill's checks;
judged with the `region` objectives, whose RPO the mirror's lag is what a region loss would cost.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from drkit.drill.result import DrillRun
from drkit.drill.session import DrillError, Progress, Session
from drkit.sandbox.configs import mirror_programs
from drkit.sandbox.lab import Lab
from drkit.sandbox.plan import Member
from drkit.spec.model import Spec
from drkit.spec.units import format_duration

DEFAULT_DELAY = 0.5  # one way, per direction: a far-away region's latency, well inside the lab's 2s maxLag
CATCH_UP_TIMEOUT = 90.0  # a restarted make-mirror copies every key again before it follows the watch
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class LagSample:
    at: float  # seconds after the delay was switched on
    seconds: float | None  # None: the probe had not arrived on the standby within the probe timeout


def window(delay: float) -> float:
    """How long lag is probed under the delay: long enough for a backlog to build, a few probes at least."""
    return max(4.0, 3 * delay)


def probe_timeout(delay: float, max_lag: float) -> float:
    """How long one probe is waited for: past both the objective and the delay, so a miss is a clear one."""
    return 2 * max(delay, max_lag) + 3.0


def worst_lag(samples: Sequence[LagSample], timeout: float) -> float | None:
    """The longest lag probed (a probe that never arrived counts as the timeout, a lower bound); None: no
    probe at all."""
    if not samples:
        return None
    return max(timeout if sample.seconds is None else sample.seconds for sample in samples)


def lag_reason(samples: Sequence[LagSample], timeout: float, max_lag: float, delay: float) -> str | None:
    """Why the lag missed `replication.maxLag` (None: it did not)."""
    worst = worst_lag(samples, timeout)
    if worst is None:
        return "no lag probe was taken under the delay"
    missed = sum(1 for sample in samples if sample.seconds is None)
    if missed:
        return (
            f"mirror lag over {timeout:.1f}s: {missed} of {len(samples)} probes had not reached the standby"
            f" {timeout:.1f}s after they were written (replication.maxLag {format_duration(max_lag)},"
            f" delay {delay:g}s each way on the mirror's path)"
        )
    if worst > max_lag:
        return (
            f"mirror lag {worst:.2f}s exceeded replication.maxLag {format_duration(max_lag)}"
            f" (delay {delay:g}s each way on the mirror's path)"
        )
    return None


def _die_with_parent() -> None:
    """In the child, before exec: SIGKILL when the drill dies, so no proxy or mirror outlives it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _host_port(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}"


class DelayedPath:
    """The delay proxy as a child process: one listener per primary member, its delay set by a line on stdin."""

    def __init__(self, members: Sequence[Member], log: Path) -> None:
        self.targets = [_host_port(member.client_url) for member in members]
        command = [sys.executable, "-m", "drkit.sandbox.delay_proxy", *[f"--to={t}" for t in self.targets]]
        self._log: IO[str] = log.open("a", encoding="utf-8")
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            preexec_fn=_die_with_parent,  # started before the workload's threads
        )
        line = self._read_line()
        try:
            self.listening: dict[str, str] = json.loads(line)["listening"]
        except (ValueError, KeyError, TypeError):
            self.close()
            raise DrillError(f"the delay proxy did not start ({line.strip() or 'no output'}): see {log}") from None

    def _read_line(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline()

    @property
    def endpoints(self) -> str:
        """The primary's members as the mirror reaches them through the proxy."""
        return ",".join(f"http://{self.listening[target]}" for target in self.targets)

    def set_delay(self, seconds: float) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(f"delay {seconds:g}\n")
            self.process.stdin.flush()
        except OSError as error:
            raise DrillError(f"the delay proxy is gone: {error}") from None
        answer = self._read_line()
        if not answer.startswith("ok"):
            raise DrillError(f"the delay proxy refused a delay of {seconds:g}s: {answer.strip() or 'it stopped'}")

    def close(self) -> None:
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()  # end of input: the proxy stops
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self._log.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _probe(lab: Lab, standby: str, timeout: float) -> float | None:
    measured = lab.mirror_lag(standby, timeout)
    return None if measured is None else measured[0]


def run_lag_drill(lab: Lab, spec: Spec, progress: Progress, delay: float = DEFAULT_DELAY) -> DrillRun:
    plan = lab.plan
    if not plan.standbys:
        raise DrillError(f"stack {plan.stack} has no standby region: there is no mirror to slow down", 2)
    old, standby = plan.primary, plan.standbys[0]
    programs = [name for name in mirror_programs(plan, lab.binaries) if name.startswith(f"mirror-{standby.name}")]
    if not programs:
        raise DrillError(f"stack {plan.stack} mirrors nothing into {standby.name} (replication.mode)", 2)
    cut = sorted(lab.network.unreachable() & {old.name, standby.name})
    if cut:
        raise DrillError(f"{', '.join(cut)} cut off (fence/partition): heal the lab before a lag drill", 2)
    processes = lab.supervisor.processes()
    stopped = [name for name in programs if processes.get(name, {}).get("statename") == "RUNNING"]
    if not stopped:
        raise DrillError(f"the lab's mirror into {standby.name} is not running: `drkit sandbox up` first", 2)
    max_lag = spec.replication.max_lag
    timeout = probe_timeout(delay, max_lag)
    session = Session(lab, spec, "lag", progress)
    ids = session.cluster_ids()
    logs = lab.paths.logs
    path = DelayedPath(old.members, logs / "delay-proxy.log")
    mirrors: list[subprocess.Popen[bytes]] = []
    samples: list[LagSample] = []
    worst: float | None = None
    restored = False
    try:
        for name in stopped:
            lab.supervisor.stop_program(name)
        for name in programs:
            command = mirror_programs(plan, lab.binaries)[name]
            command = [f"--endpoints={path.endpoints}" if part.startswith("--endpoints=") else part for part in command]
            with (logs / f"{name}-delayed.log").open("ab") as log:
                mirrors.append(
                    subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
                )
        caught_up = _probe(lab, standby.name, CATCH_UP_TIMEOUT)
        if caught_up is None:
            raise DrillError(
                f"the mirror through the delay proxy did not catch up in {CATCH_UP_TIMEOUT:.0f}s:"
                f" see {logs}/mirror-{standby.name}*-delayed.log and {logs}/delay-proxy.log"
            )
        session.start()
        session.did(
            f"stopped the lab's {', '.join(stopped)}; make-mirror reads {old.name} through the delay proxy"
            f" ({len(path.targets)} listeners) and caught up at no delay ({caught_up:.2f}s lag)"
        )
        time.sleep(1.0)
        baseline = _probe(lab, standby.name, timeout)
        path.set_delay(delay)
        fault_at = session.mark(f"+{delay:g}s each way on the mirror's path")
        while time.monotonic() - fault_at < window(delay):
            lag = _probe(lab, standby.name, timeout)
            samples.append(LagSample(round(time.monotonic() - fault_at, 3), None if lag is None else round(lag, 3)))
        worst = worst_lag(samples, timeout)
        session.did(
            f"delay {delay:g}s each way for {time.monotonic() - fault_at:.1f}s: {len(samples)} lag probes, worst"
            f" {_seconds(worst)} (before the delay {_seconds(baseline)}; replication.maxLag {format_duration(max_lag)})"
        )
        path.set_delay(0)
        healed_at = session.mark("delay removed")
        after = _probe(lab, standby.name, timeout)
        session.did(f"delay removed: lag {_seconds(after)} {time.monotonic() - healed_at:.1f}s later")
        for process in mirrors:
            _stop(process)
        for name in stopped:
            lab.supervisor.start_program(name)
        if _probe(lab, standby.name, CATCH_UP_TIMEOUT) is None:
            raise DrillError(f"the lab's mirror into {standby.name} did not catch up again: see {logs}/{stopped[0]}*")
        restored = True
        session.did(f"the lab's {', '.join(stopped)} restarted and caught up (the delay proxy stopped)")
        result = session.measure(
            fault=f"{delay:g}s of delay each way on the mirror's path from {old.name} to {standby.name}",
            fault_at=fault_at,
            serving_region=old.name,
            epochs=[(0.0, ids.get(old.name, ""))],
        )
    finally:
        session.stop()
        for process in mirrors:
            if process.poll() is None:
                _stop(process)
        path.close()
        if not restored:
            for name in stopped:  # never leave the lab without its mirror
                lab.supervisor.start_program(name)
    result.lag_seconds = worst
    result.max_lag_seconds = max_lag
    result.delay_seconds = delay
    result.lag_samples = [(sample.at, sample.seconds) for sample in samples]
    reason = lag_reason(samples, timeout, max_lag, delay)
    if reason:
        result.failed_checks.append(reason)
    return result


def _seconds(value: float | None) -> str:
    return "not seen" if value is None else f"{value:.2f}s"
