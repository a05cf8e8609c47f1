"""The measurement core every drill shares: pure functions from what the workload saw and what was read back
after recovery to the figures a drill is judged on.

The inputs are plain data (acknowledgement times, the keys read back, hashes per member), so each function is
table-tested without a lab, and every drill kind measures RTO, RPO and loss the same way.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from drkit.drill.workload import Ack


def rto(ack_times: Sequence[float], fault: float) -> float | None:
    """Seconds from the fault to the first write acknowledged after it (None: none was). `ack_times` sorted."""
    index = bisect.bisect_right(ack_times, fault)
    return None if index == len(ack_times) else ack_times[index] - fault


def serving_ack_times(acks: Iterable[Ack], epochs: Sequence[tuple[float, str]]) -> list[float]:
    """The acknowledgement times that count toward RTO: those of the cluster primary in the last epoch (the
    one serving once the drill is over). A write in flight at a region's cut that the old primary still
    acknowledged is the old service's last breath, not recovery: counted from it, a partition run measured an
    RTO of 0.001 s while clients waited 5 s for the promotion. With one epoch (a drill that keeps its
    primary), or no cluster ID known, every acknowledgement counts."""
    serving = epochs[-1][1] if epochs else ""
    return sorted(ack.at for ack in acks if not serving or not ack.cluster or ack.cluster == serving)


def lost(acks: Iterable[Ack], present: Mapping[str, str]) -> list[Ack]:
    """Acknowledged writes not read back with the value acknowledged: lost, counted exactly."""
    return [ack for ack in acks if present.get(ack.key) != ack.value]


def rpo(acks: Sequence[Ack], missing: Sequence[Ack]) -> float:
    """The span of acknowledged time lost: from the last write kept before the first one missing to the last
    one missing (0 when nothing is missing). A restore that lost everything after its snapshot and a mirror
    that had not applied its last second measure alike. `acks` in acknowledgement order."""
    if not missing:
        return 0.0
    gone = {ack.key for ack in missing}
    first_missing = min(ack.at for ack in missing)
    kept_before = [ack.at for ack in acks if ack.key not in gone and ack.at < first_missing]
    since = kept_before[-1] if kept_before else first_missing
    return max(ack.at for ack in missing) - since


@dataclass(frozen=True)
class Registrations:
    live: int
    live_kept: int
    dead: int
    dead_expired: int

    @property
    def ok(self) -> bool:
        return self.live_kept == self.live and self.dead_expired == self.dead


def registrations(live: Iterable[str], dead: Iterable[str], registered: Iterable[str]) -> Registrations:
    """Live instances must still be registered, dead ones gone (read at least one leaseTtl after the fault)."""
    present = set(registered)
    live, dead = list(live), list(dead)
    return Registrations(
        live=len(live),
        live_kept=sum(1 for key in live if key in present),
        dead=len(dead),
        dead_expired=sum(1 for key in dead if key not in present),
    )


def consistent(hashes: Mapping[str, int]) -> bool:
    """hashkv at one revision is equal across the serving region's members (at least one answered)."""
    return len(set(hashes.values())) == 1


def split_brain(acks: Iterable[Ack], epochs: Sequence[tuple[float, str]]) -> list[Ack]:
    """Acknowledgements from a cluster other than the one that was primary for that epoch: two primaries.

    `epochs`: (start time, cluster ID of that epoch's primary) in time order; the first starts the drill. An
    ack before the first epoch is judged against the first one. An epoch whose primary is "" accepts none."""
    starts = [start for start, _ in epochs]
    wrong = []
    for ack in acks:
        if not ack.cluster or not epochs:
            continue
        index = max(bisect.bisect_right(starts, ack.at) - 1, 0)
        if ack.cluster != epochs[index][1]:
            wrong.append(ack)
    return wrong


def epochs_from_first_ack(
    acks: Iterable[Ack], fault_at: float, old_cluster: str, new_cluster: str
) -> list[tuple[float, str]]:
    """The old primary's epoch until the new primary's first acknowledgement after the fault, then the new
    one's (split_brain's `epochs`). An old acknowledgement in between is a write in flight at the fault or
    taken before the old primary fenced itself, not two primaries."""
    first_new = next((ack.at for ack in acks if ack.at >= fault_at and ack.cluster == new_cluster), fault_at)
    return [(0.0, old_cluster), (first_new, new_cluster)]


def acked_after(ack_times: Iterable[float], moment: float) -> int:
    """How many acknowledgements came after `moment` (the old primary's, after its fence: must be 0)."""
    return sum(1 for at in ack_times if at > moment)


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (share in 0..1) of a non-empty list: p95 of 20 runs is the 19th value."""
    ordered = sorted(values)
    rank = max(1, math.ceil(round(share * len(ordered), 9)))  # round first: 0.95 * 20 is 19.000000000000004
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True)
class Spread:
    min: float
    median: float
    p95: float
    max: float


def spread(values: Sequence[float]) -> Spread:
    ordered = sorted(values)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return Spread(ordered[0], median, percentile(ordered, 0.95), ordered[-1])
