"""Did-you-mean suggestions for mistyped keys and values."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice a typo most likely meant, or None when nothing is close enough."""
    candidates = list(choices)
    lowered = {choice.lower(): choice for choice in candidates}
    if word.lower() in lowered:  # a case slip: tierR -> tier is caught below, Tier -> tier here
        return lowered[word.lower()]
    matches = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    match = closest(word, choices)
    return f"did you mean '{match}'?" if match else ""
