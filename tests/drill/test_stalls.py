"""Stall attribution: the longest gap between acknowledged writes that overlaps a member's turn."""

from __future__ import annotations

from drkit.drill.stalls import longest_stall, member_windows, stalls_by_member


def test_the_longest_gap_inside_a_window_is_its_stall() -> None:
    acks = [0.0, 0.1, 0.2, 1.7, 1.8, 1.9, 5.0]
    assert longest_stall(acks, 0.15, 1.85) == 1.5


def test_a_gap_spanning_the_window_edge_counts_whole() -> None:
    # The client was blocked from 1.0 to 4.0; the member's turn began at 2.0: that stall is the turn's.
    acks = [0.0, 0.5, 1.0, 4.0, 4.1]
    assert longest_stall(acks, 2.0, 3.0) == 3.0


def test_windows_are_attributed_separately() -> None:
    acks = [float(t) / 10 for t in range(0, 100)]  # every 0.1 s ...
    acks = [t for t in acks if not 2.0 < t < 2.9] + [12.0]  # ... but nothing between 2.0 and 2.9
    stalls = stalls_by_member(acks, {"a": (1.0, 3.0), "b": (5.0, 6.0)})
    assert stalls["a"] == 0.9
    assert stalls["b"] == 0.1


def test_no_acknowledgement_at_all_is_a_stall_of_the_whole_window() -> None:
    assert longest_stall([], 1.0, 4.0) == 3.0


def test_member_windows_are_read_from_an_upgrade_report() -> None:
    report = {
        "members": [{"member": "a", "began": "1.5", "finished": 3.0}, {"member": "b", "began": 3.0, "finished": "4"}]
    }
    assert member_windows(report) == {"a": (1.5, 3.0), "b": (3.0, 4.0)}
