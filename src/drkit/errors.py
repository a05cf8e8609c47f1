"""Errors about a user's input, carrying where they are so they can be shown as file:line:col."""

from __future__ import annotations

from dataclasses import dataclass, field

KeyPath = tuple[str | int, ...]


def format_key_path(path: KeyPath) -> str:
    """Render a key path the way people write it: drkit:spec.registry.members, regions[1].role.

    Pulumi config keys are named by their namespaced key alone (drkit:spec, aws:region), as `pulumi
    config` names them, so a leading `config` before such a key is left out.
    """
    if len(path) >= 2 and path[0] == "config" and isinstance(path[1], str) and ":" in path[1]:
        path = path[1:]
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


def describe_value(value: object) -> str:
    """A value as a message should name it: the string 'five', the number 3.5, a mapping, nothing."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


class UnusableInputError(Exception):
    """Raised when an input cannot be used at all; holds every error found."""

    def __init__(self, errors: list[InputError]) -> None:
        super().__init__("\n".join(error.render() for error in errors))
        self.errors = errors
