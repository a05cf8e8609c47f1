"""Did-you-mean suggestions for mistyped keys and values."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# Below this similarity a suggestion is more confusing than none ("regions" is not a typo of "engine").
_CUTOFF = 0.7


def closest(word: str, choices: Iterable[str]) -> list[str]:
    """The choices a typo most likely meant: a case-insensitive match, else the best equally close ones."""
    candidates = list(dict.fromkeys(choices))
    same_case = [choice for choice in candidates if choice.lower() == word.lower()]
    if same_case:
        return same_case[:1]
    # A shortened value ("route53" for "route53-failover") is a prefix, however low its similarity.
    prefixed = [choice for choice in candidates if len(word) >= 3 and choice.lower().startswith(word.lower())]
    if len(prefixed) == 1:
        return prefixed
    scored = sorted(
        ((difflib.SequenceMatcher(None, word, choice).ratio(), choice) for choice in candidates),
        key=lambda pair: -pair[0],
    )
    best = [choice for score, choice in scored if score >= _CUTOFF and score == scored[0][0]]
    return best[:3]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    matches = closest(word, choices)
    return "did you mean " + " or ".join(f"'{match}'" for match in matches) + "?" if matches else ""
