"""The measurement core on hand-made ledgers: each figure a drill is judged on, including its edge cases."""

from __future__ import annotations

import pytest

from drkit.drill import measure
from drkit.drill.workload import Ack


def _acks(*times: float, cluster: str = "east") -> list[Ack]:
    return [Ack(f"/k/{index}", f"v{index}", index + 1, at, cluster=cluster) for index, at in enumerate(times)]


@pytest.mark.parametrize(
    ("times", "fault", "expected"),
    [
        ([1.0, 2.0, 5.5], 2.5, 3.0),  # the first ack after the fault
        ([1.0, 2.0], 2.0, None),  # an ack at the very instant of the fault predates it
        ([], 0.0, None),
        ([3.0], 1.0, 2.0),
    ],
)
def test_rto_is_fault_to_first_ack_after_it(times: list[float], fault: float, expected: float | None) -> None:
    assert measure.rto(times, fault) == expected


def test_rto_counts_only_the_serving_cluster_after_a_promotion() -> None:
    # The old primary acknowledged a write in flight at the cut (0.001 s after it); the new one served at 5.2.
    acks = [*_acks(9.0, 10.001, cluster="east"), *_acks(15.2, 15.4, cluster="west")]
    epochs = [(0.0, "east"), (15.2, "west")]
    assert measure.rto(measure.serving_ack_times(acks, epochs), 10.0) == pytest.approx(5.2)
    # Without the promotion in the epochs (a drill that keeps its primary), every ack counts.
    assert measure.rto(measure.serving_ack_times(acks, [(0.0, "east")]), 10.0) == pytest.approx(0.001)
    assert measure.rto(measure.serving_ack_times(acks, []), 10.0) == pytest.approx(0.001)
    # An ack whose cluster is unknown is not dropped.
    assert measure.serving_ack_times(_acks(11.0, cluster=""), epochs) == [11.0]


def test_lost_counts_missing_and_wrong_values_exactly() -> None:
    acks = _acks(1, 2, 3, 4)
    present = {"/k/0": "v0", "/k/1": "stale", "/k/3": "v3"}
    assert [ack.key for ack in measure.lost(acks, present)] == ["/k/1", "/k/2"]
    assert measure.lost(acks, {ack.key: ack.value for ack in acks}) == []


@pytest.mark.parametrize(
    ("missing_indexes", "expected"),
    [
        ([], 0.0),
        ([3, 4], 4.5 - 3.0),  # the tail after the last kept ack at 3.0 (the restore drill's case)
        ([0], 0.0),  # only the very first write: nothing kept before it, a single instant lost
        ([2], 3.0 - 2.0),
    ],
)
def test_rpo_is_the_span_of_acknowledged_time_lost(missing_indexes: list[int], expected: float) -> None:
    acks = _acks(1.0, 2.0, 3.0, 4.0, 4.5)
    missing = [acks[index] for index in missing_indexes]
    assert measure.rpo(acks, missing) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("registered", "ok"),
    [
        ({"/s/a", "/s/b"}, True),
        ({"/s/a", "/s/b", "/s/dead"}, False),  # a dead instance outlived its lease
        ({"/s/a"}, False),  # a live instance lost its registration
    ],
)
def test_registrations_live_kept_dead_expired(registered: set[str], ok: bool) -> None:
    result = measure.registrations(["/s/a", "/s/b"], ["/s/dead"], registered)
    assert result.ok is ok and result.live == 2 and result.dead == 1


@pytest.mark.parametrize(
    ("hashes", "expected"),
    [({"m1": 7, "m2": 7, "m3": 7}, True), ({"m1": 7, "m2": 8}, False), ({}, False)],
)
def test_consistent_needs_equal_hashes(hashes: dict[str, int], expected: bool) -> None:
    assert measure.consistent(hashes) is expected


def test_split_brain_counts_acks_from_a_cluster_not_primary_for_that_epoch() -> None:
    epochs = [(0.0, "east"), (10.0, "west")]
    acks = [*_acks(1, 9, cluster="east"), *_acks(11, 12, cluster="west"), Ack("/k/late", "x", 99, 10.5, cluster="east")]
    assert [ack.key for ack in measure.split_brain(acks, epochs)] == ["/k/late"]
    assert measure.split_brain(_acks(1, 2, cluster="east"), [(0.0, "east")]) == []
    # An epoch with no primary (the fenced interval) accepts no acknowledgement at all.
    assert len(measure.split_brain(_acks(5, cluster="east"), [(0.0, "east"), (4.0, "")])) == 1


def test_acked_after_counts_the_old_primary_after_its_fence() -> None:
    assert measure.acked_after([1.0, 2.0, 3.0], 2.0) == 1
    assert measure.acked_after([1.0], 2.0) == 0


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([5.0], measure.Spread(5.0, 5.0, 5.0, 5.0)),
        ([4.0, 1.0, 3.0, 2.0], measure.Spread(1.0, 2.5, 4.0, 4.0)),
        ([float(v) for v in range(1, 21)], measure.Spread(1.0, 10.5, 19.0, 20.0)),  # p95 of 20 runs: the 19th
    ],
)
def test_spread(values: list[float], expected: measure.Spread) -> None:
    assert measure.spread(values) == expected


def test_an_old_primarys_ack_in_flight_at_the_fault_is_not_split_brain_but_one_after_the_new_primarys_is() -> None:
    # east acks up to 10.2 (a write in flight at the cut at 10.0), west from 12.0; then east once more.
    acks = [
        *_acks(8, 9, 10.2, cluster="east"),
        *_acks(12, 13, cluster="west"),
        Ack("/k/late", "x", 99, 12.5, cluster="east"),
    ]
    epochs = measure.epochs_from_first_ack(acks, 10.0, "east", "west")
    assert epochs == [(0.0, "east"), (12, "west")]
    assert [ack.key for ack in measure.split_brain(acks, epochs)] == ["/k/late"]
    # No ack from the new primary yet: the epoch changes at the fault itself.
    assert measure.epochs_from_first_ack(_acks(8, 9, cluster="east"), 10.0, "east", "west")[1] == (10.0, "west")
