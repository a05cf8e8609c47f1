"""The lab's network in namespaces mode: one network namespace per region, joined to the root namespace by
a veth pair, and the iptables chains that cut a region off (a partition) or shut its client port (a fence).

Each region's namespace holds two chains, hooked only on traffic crossing its veth, so members of a region
keep talking to each other (over the namespace's own address, through its loopback) whatever the chains say:
- DRKIT-PARTITION (hooked from INPUT -i veth and OUTPUT -o veth): `-j DROP` while partitioned, empty when
  healed. A partitioned region keeps its quorum and still takes writes from a client next to it: the
  split-brain hazard a failover must fence against.
- DRKIT-FENCE (hooked from INPUT -i veth): one `REJECT --reject-with tcp-reset` per member client port while
  fenced: the lab's equivalent of revoking a security group rule. Peer ports are untouched.

The intended state (which regions are partitioned, which fenced) is kept in network.json in the state dir:
fences survive `down`/`up` (a fenced old primary must come back fenced), partitions end with `heal` or `down`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drkit.sandbox.paths import LabPaths
from drkit.sandbox.plan import LOOPBACK, NAMESPACES, LabPlan, RegionLink, RegionPlan

PARTITION_CHAIN = "DRKIT-PARTITION"
FENCE_CHAIN = "DRKIT-FENCE"
STATE_FILE = "network.json"
_COMMAND_TIMEOUT = 30


class NetworkError(Exception):
    """A network command failed, or the lab's network cannot be built; the message names the command and
    what it printed. exit_code as LabError's: 2 for unusable input, 1 for a command that failed."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def run(command: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one ip/iptables command; on failure raise NetworkError naming it and its stderr."""
    try:
        result = subprocess.run(list(command), capture_output=True, text=True, timeout=_COMMAND_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise NetworkError(f"`{' '.join(command)}` could not run: {error}") from error
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).strip() or f"exit {result.returncode}"
        raise NetworkError(f"`{' '.join(command)}` failed: {detail}")
    return result


@dataclass(frozen=True)
class NetworkState:
    """What the lab intends: regions cut off (faults) and regions whose client port is shut (fences)."""

    partitioned: frozenset[str] = frozenset()
    fenced: frozenset[str] = frozenset()
    witness_kept: frozenset[str] = frozenset()  # partitioned regions whose guard still reaches the witness

    def to_json(self) -> str:
        body = {
            "partitioned": sorted(self.partitioned),
            "fenced": sorted(self.fenced),
            "witnessKept": sorted(self.witness_kept),
        }
        return json.dumps(body, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> NetworkState:
        data = json.loads(text)
        return cls(
            frozenset(data.get("partitioned", ())),
            frozenset(data.get("fenced", ())),
            frozenset(data.get("witnessKept", ())),
        )


class LabNetwork:
    """The network of one lab. Every method is a no-op on loopback labs except state(), which says so."""

    def __init__(self, plan: LabPlan, paths: LabPaths) -> None:
        self.plan = plan
        self.paths = paths

    @property
    def enabled(self) -> bool:
        return self.plan.network == NAMESPACES

    @property
    def state_file(self) -> Path:
        return self.paths.root / STATE_FILE

    # --- intended state ------------------------------------------------------------------------------

    def saved(self) -> NetworkState:
        if not self.state_file.exists():
            return NetworkState()
        return NetworkState.from_json(self.state_file.read_text(encoding="utf-8"))

    def _save(self, state: NetworkState) -> None:
        self.state_file.write_text(state.to_json(), encoding="utf-8")

    # --- build and tear down -------------------------------------------------------------------------

    def create(self) -> None:
        """Namespaces, veths, addresses, loopback up and both chains hooked, for every region; then the
        saved partitions and fences applied again. Idempotent: what exists is kept."""
        if not self.enabled:
            return
        namespaces = set(self._namespaces())
        for region in self.plan.regions:
            link = _link(region)
            self._check_address_free(link)
            if link.namespace not in namespaces:
                run(["ip", "netns", "add", link.namespace])
            if not _link_exists(link.root_veth):
                # Created with its peer already inside the namespace: no moment where both ends sit in root.
                peer = ["peer", "name", link.ns_veth, "netns", link.namespace]
                run(["ip", "link", "add", link.root_veth, "type", "veth", *peer])
            run(["ip", "addr", "replace", f"{link.root_address}/30", "dev", link.root_veth])
            run(["ip", "link", "set", link.root_veth, "up"])
            run(["ip", "-n", link.namespace, "addr", "replace", f"{link.ns_address}/30", "dev", link.ns_veth])
            run(["ip", "-n", link.namespace, "link", "set", link.ns_veth, "up"])
            # Members of a region reach each other over the namespace address, which routes through lo.
            run(["ip", "-n", link.namespace, "link", "set", "lo", "up"])
            self._hook_chains(link)
        state = self.saved()
        for region in self.plan.regions:
            self._apply(
                region,
                partitioned=region.name in state.partitioned,
                fenced=region.name in state.fenced,
                keep_witness=region.name in state.witness_kept,
            )

    def destroy(self) -> None:
        """Delete every region's veth and namespace (their rules go with the namespace). Partitions end
        here; fences stay intended and come back with the next create()."""
        if not self.enabled:
            return
        namespaces = set(self._namespaces())
        for region in self.plan.regions:
            link = _link(region)
            if _link_exists(link.root_veth):
                run(["ip", "link", "del", link.root_veth])  # deletes its peer in the namespace too
            if link.namespace in namespaces:
                run(["ip", "netns", "del", link.namespace])
        state = self.saved()
        if state.partitioned:
            self._save(NetworkState(fenced=state.fenced))

    # --- faults and fences ---------------------------------------------------------------------------

    def partition(self, region: str, keep_witness: bool = False) -> None:
        """Cut the region off from every other region and from the endpoint: drop all traffic on its veth.
        keep_witness: all but the witness (the inter-region link cut while both regions reach the witness)."""
        self._change(region, partitioned=True, keep_witness=keep_witness)

    def heal(self, region: str) -> None:
        self._change(region, partitioned=False)

    def fence_client_port(self, region: str) -> None:
        """Reset every connection to the region's members' client ports arriving over its veth."""
        self._change(region, fenced=True)

    def unfence_client_port(self, region: str) -> None:
        self._change(region, fenced=False)

    def _change(
        self, name: str, *, partitioned: bool | None = None, fenced: bool | None = None, keep_witness: bool = False
    ) -> None:
        region = self._region(name)
        state = self.saved()
        now_partitioned = state.partitioned if partitioned is None else _toggle(state.partitioned, name, partitioned)
        now_fenced = state.fenced if fenced is None else _toggle(state.fenced, name, fenced)
        kept = state.witness_kept
        if partitioned is not None:
            kept = _toggle(kept, name, partitioned and keep_witness)
        self._apply(region, partitioned=name in now_partitioned, fenced=name in now_fenced, keep_witness=name in kept)
        self._save(NetworkState(now_partitioned, now_fenced, kept))

    def _apply(self, region: RegionPlan, *, partitioned: bool, fenced: bool, keep_witness: bool = False) -> None:
        """Make both chains of the region say exactly what is intended (flush, then fill)."""
        link = _link(region)
        self._iptables(link, "-F", PARTITION_CHAIN)
        if partitioned and keep_witness:
            # The witness's port stays open both ways (the chain sees INPUT and OUTPUT on the veth).
            witness = str(self.plan.witness_port)
            self._iptables(link, "-A", PARTITION_CHAIN, "-p", "tcp", "--dport", witness, "-j", "ACCEPT")
            self._iptables(link, "-A", PARTITION_CHAIN, "-p", "tcp", "--sport", witness, "-j", "ACCEPT")
        if partitioned:
            self._iptables(link, "-A", PARTITION_CHAIN, "-j", "DROP")
        self._iptables(link, "-F", FENCE_CHAIN)
        if fenced:
            for member in region.members:
                port = str(member.client_port)
                reject = ["-j", "REJECT", "--reject-with", "tcp-reset"]
                self._iptables(link, "-A", FENCE_CHAIN, "-p", "tcp", "--dport", port, *reject)

    # --- reading back --------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """The mode, the intended partitions and fences, and every region's rules read back from the kernel
        (`iptables -S` in its namespace; None when the namespace does not exist)."""
        report: dict[str, Any] = {"mode": self.plan.network, "partitioned": [], "fenced": [], "regions": {}}
        if not self.enabled:
            return report
        state = self.saved()
        report["partitioned"] = sorted(state.partitioned)
        report["fenced"] = sorted(state.fenced)
        namespaces = set(self._namespaces())
        for region in self.plan.regions:
            link = _link(region)
            rules = None
            if link.namespace in namespaces:
                rules = run(["ip", "netns", "exec", link.namespace, "iptables", "-S"]).stdout.splitlines()
            report["regions"][region.name] = {
                "namespace": link.namespace,
                "rootVeth": link.root_veth,
                "rootAddress": link.root_address,
                "address": link.ns_address,
                "rules": rules,
            }
        return report

    def unreachable(self) -> frozenset[str]:
        """Regions the root namespace cannot reach members' client ports of (partitioned or fenced)."""
        if not self.enabled:
            return frozenset()
        state = self.saved()
        return state.partitioned | state.fenced

    def run_inside(self, region: str, command: Sequence[str], timeout: float = 10) -> bool:
        """Run a command inside the region's namespace (where a partition or fence does not reach);
        True when it succeeded."""
        link = _link(self._region(region))
        try:
            result = subprocess.run(
                [*link.exec_prefix(), *command], capture_output=True, text=True, timeout=timeout, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
        return result.returncode == 0

    # --- helpers -------------------------------------------------------------------------------------

    def _region(self, name: str) -> RegionPlan:
        region = self.plan.region(name)
        if region is None:
            known = ", ".join(r.name for r in self.plan.regions)
            raise NetworkError(f"no region {name} in the lab (regions: {known})", exit_code=2)
        if not self.enabled:
            raise NetworkError(
                f"lab {self.plan.stack} runs on loopback, so a region cannot be cut off: run"
                " `drkit sandbox down --purge`, then `drkit sandbox up --network namespaces` as root",
                exit_code=2,
            )
        return region

    def _namespaces(self) -> list[str]:
        # `ip netns list` prints "name" or "name (id: N)".
        return [line.split()[0] for line in run(["ip", "netns", "list"]).stdout.splitlines() if line.strip()]

    def _check_address_free(self, link: RegionLink) -> None:
        """Refuse a /30 another interface already holds (another lab whose base port wrapped onto ours)."""
        for line in run(["ip", "-br", "addr"]).stdout.splitlines():
            fields = line.split()
            if not fields:
                continue
            interface = fields[0].split("@")[0]
            addresses = {field.split("/")[0] for field in fields[2:]}
            if interface != link.root_veth and addresses & {link.root_address, link.ns_address}:
                raise NetworkError(
                    f"{link.root_address}/30 is already used by interface {interface}: another lab holds it;"
                    " take that lab down or choose another block with --base-port (after `down --purge`)",
                    exit_code=2,
                )

    def _hook_chains(self, link: RegionLink) -> None:
        chains = run(["ip", "netns", "exec", link.namespace, "iptables", "-S"]).stdout.splitlines()
        for chain in (PARTITION_CHAIN, FENCE_CHAIN):
            if f"-N {chain}" not in chains:
                self._iptables(link, "-N", chain)
        # Only traffic crossing the veth: the partition first (it drops all), then the fence.
        hooks = [
            ("INPUT", "-i", PARTITION_CHAIN),
            ("OUTPUT", "-o", PARTITION_CHAIN),
            ("INPUT", "-i", FENCE_CHAIN),
        ]
        for hook, direction, chain in hooks:
            rule = [hook, direction, link.ns_veth, "-j", chain]
            checked = run(["ip", "netns", "exec", link.namespace, "iptables", "-C", *rule], check=False)
            if checked.returncode != 0:
                self._iptables(link, "-A", *rule)

    def _iptables(self, link: RegionLink, *arguments: str) -> None:
        run(["ip", "netns", "exec", link.namespace, "iptables", "-w", *arguments])


def _link(region: RegionPlan) -> RegionLink:
    assert region.link is not None, f"region {region.name} has no namespace: the lab runs on loopback"
    return region.link


def _link_exists(name: str) -> bool:
    return run(["ip", "link", "show", "dev", name], check=False).returncode == 0


def _toggle(names: frozenset[str], name: str, on: bool) -> frozenset[str]:
    return names | {name} if on else names - {name}


def namespaces_available() -> str | None:
    """None when this process can build namespaces (root, with ip and iptables); else what is missing."""
    if os.geteuid() != 0:
        return "namespaces need root"
    missing = [tool for tool in ("ip", "iptables") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not found (Debian packages iproute2, iptables)"
    return None


def choose_mode(requested: str) -> str:
    """The network mode for a new lab: `auto` is namespaces where they can be built, else loopback."""
    if requested == "auto":
        return LOOPBACK if namespaces_available() else NAMESPACES
    if requested == NAMESPACES and (missing := namespaces_available()):
        raise NetworkError(f"cannot run the lab in network namespaces: {missing}", exit_code=2)
    return requested
