"""Errors about a user's input, carrying where they are so they can be shown as file:line:col."""

from __future__ import annotations

from dataclasses import dataclass, field

KeyPath = tuple[str | int, ...]


def format_key_path(path: KeyPath) -> str:
    """Render a key path the way people write it: registry.members, regions[1].role."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "(top level)"


@dataclass(frozen=True)
class Location:
    file: str
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class InputError:
    """One reason an input file cannot be used. Never raised: collected and reported together."""

    location: Location
    message: str
    key_path: KeyPath = field(default=())
    hint: str = ""

    def render(self) -> str:
        where = f"{self.location}: {format_key_path(self.key_path)}: " if self.key_path else f"{self.location}: "
        text = where + self.message
        return f"{text} ({self.hint})" if self.hint else text


class UnusableInputError(Exception):
    """Raised when an input cannot be used at all; holds every error found."""

    def __init__(self, errors: list[InputError]) -> None:
        super().__init__("\n".join(error.render() for error in errors))
        self.errors = errors
