"""Did-you-mean suggestions for mistyped keys and values."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable

# Below this similarity a suggestion is more confusing than none ("regions" is not a typo of "engine").
_CUTOFF = 0.7


# Letters of other scripts drawn like Latin ones (the look-alikes seen in pasted text), by what they resemble.
_LOOK_ALIKES = dict(
    zip(
        "\u0430\u0435\u043e\u0440\u0441\u0443\u0445\u0456\u0455\u0458\u0501\u04bb\u0261\u03bf\u03b1\u03bd\u03b9\u03ba\u03c1\u03c4"
        "\u0410\u0415\u041e\u0420\u0421\u0425\u0406\u041c\u0422\u041d\u0412\u041a\u0399\u039f",
        "aeopcyxisjdhgoavikptAEOPCXIMTHBKIO",
        strict=True,
    )
)


def _is_invisible(character: str) -> bool:
    """Format characters (zero-width space, BOM, direction marks) and spaces other than the plain one."""
    category = unicodedata.category(character)
    return category == "Cf" or (category.startswith("Z") and character != " ")


def ascii_skeleton(word: str) -> str:
    """The word as it looks: invisible characters dropped, look-alikes and full-width forms made ASCII."""
    shown = "".join(_LOOK_ALIKES.get(character, character) for character in word if not _is_invisible(character))
    return unicodedata.normalize("NFKC", shown)


def odd_characters(word: str) -> str:
    """Names the invisible and look-alike characters in a word ('' when it has none)."""
    notes = []
    for character in dict.fromkeys(word):
        code = f"U+{ord(character):04X} ({unicodedata.name(character, 'unnamed')})"
        if _is_invisible(character):
            notes.append(f"{code}, which is invisible")
        elif not character.isascii():
            looks = ascii_skeleton(character)
            notes.append(f"{code}, which looks like '{looks}'" if looks.isascii() and looks else code)
    return "it contains " + " and ".join(notes) if notes else ""


def closest(word: str, choices: Iterable[str]) -> list[str]:
    """The choices a typo most likely meant: a case-insensitive match, else the best equally close ones."""
    candidates = list(dict.fromkeys(choices))
    skeleton = ascii_skeleton(word)
    if skeleton != word and skeleton in candidates:
        return [skeleton]
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
    """'did you mean X?', after naming any invisible or look-alike character the word holds."""
    matches = closest(word, choices)
    suggestion = "did you mean " + " or ".join(f"'{match}'" for match in matches) + "?" if matches else ""
    odd = odd_characters(word)
    return f"{odd}; {suggestion}" if odd and suggestion else odd or suggestion
