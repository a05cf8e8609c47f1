"""Durations and sizes as people write them (30s, 1h30m, 2GiB) and back."""

from __future__ import annotations

import re

_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d|w)")
_DURATION_WHOLE = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?(?:ms|s|m|h|d|w))+")
_SECONDS_PER_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE = re.compile(r"([0-9]+)(B|KiB|MiB|GiB|TiB)")
_BYTES_PER_UNIT = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4}
# The longest duration and the largest size a spec may write: ten years (Object Lock retention is the
# longest real one) and 1 TiB (etcd's backend quota is 8 GiB at most in practice). Past these, sums and
# conversions in the estimates would overflow or mean nothing.
MAX_DURATION_SECONDS = 3650 * 86400.0
MAX_DURATION_TEXT = "3650d (ten years)"
MAX_SIZE_BYTES = 1024**4
MAX_SIZE_TEXT = "1TiB"


def parse_duration(text: str) -> float:
    """Seconds in a duration like 30s, 1h30m or 500ms. The schema has already checked the shape."""
    if not _DURATION_WHOLE.fullmatch(text):
        raise ValueError(f"not a duration: {text!r} (write it like 30s, 5m, 1h30m)")
    return sum(float(number) * _SECONDS_PER_UNIT[unit] for number, unit in _DURATION_PART.findall(text))


def parse_size(text: str) -> int:
    match = _SIZE.fullmatch(text)
    if not match:
        raise ValueError(f"not a size: {text!r} (write it like 512MiB or 2GiB)")
    return int(match.group(1)) * _BYTES_PER_UNIT[match.group(2)]


def duration_problem(text: str) -> str:
    """Why `text` is not a duration drkit accepts ('' when it is one)."""
    try:
        seconds = parse_duration(text)
    except ValueError:
        return "not a duration"
    return f"longer than {MAX_DURATION_TEXT}" if seconds > MAX_DURATION_SECONDS else ""


def size_problem(text: str) -> str:
    """Why `text` is not a size drkit accepts ('' when it is one)."""
    try:
        count = parse_size(text)
    except ValueError:
        return "not a size"
    return f"larger than {MAX_SIZE_TEXT}" if count > MAX_SIZE_BYTES else ""


def format_size(count: int) -> str:
    """Compact human form of a byte count: 32KiB below a MiB, 285.3MiB above."""
    return f"{count / 1024:.0f}KiB" if count < 1024 * 1024 else f"{count / 1024 / 1024:.1f}MiB"


def format_duration(seconds: float | None) -> str:
    """Compact human form: 2.1s, 1m30s, 6m12s, 1h15m, 3d. None (unreachable) is shown as 'none'."""
    if seconds is None:
        return "none"
    if seconds < 1:
        return "0s" if seconds == 0 else f"{round(seconds * 1000)}ms"
    if seconds < 60:
        text = f"{seconds:.1f}".rstrip("0").rstrip(".")
        return f"{text}s"
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    shown = [f"{value}{unit}" for value, unit in parts if value]
    return "".join(shown[:2])  # two units are precise enough for an estimate
