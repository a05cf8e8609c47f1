from __future__ import annotations

import pytest

from drkit.spec.units import format_duration, parse_duration, parse_size


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("30s", 30), ("5m", 300), ("1h30m", 5400), ("7d", 604800), ("2w", 1209600), ("1.5h", 5400)],
)
def test_durations_parse_as_people_write_them(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["30", "30 s", "5 minutes", "", "m5", "-1s"])
def test_malformed_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "none"),
        (0, "0s"),
        (0.25, "250ms"),
        (2.1, "2.1s"),
        (90, "1m30s"),
        (371, "6m11s"),
        (3960, "1h6m"),
        (86400, "1d"),
        (900, "15m"),
    ],
)
def test_durations_format_compactly(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


def test_sizes_use_binary_units() -> None:
    assert parse_size("2GiB") == 2 * 1024**3
    assert parse_size("512MiB") == 512 * 1024**2
    with pytest.raises(ValueError, match="not a size"):
        parse_size("2GB")
