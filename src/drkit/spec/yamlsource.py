"""Parse YAML into plain data while remembering where every key and value was written.

PyYAML's composer gives a node tree with source marks; this module turns it into plain dicts, lists and
scalars plus an index from key path to line and column, so any later check (schema or rule) can point at
the exact place in the user's file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from drkit.errors import InputError, KeyPath, Location, UnusableInputError

try:  # libyaml is much faster; the pure-Python loader gives identical nodes.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - wheels ship libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


@dataclass
class LocatedDocument:
    """Plain data from a YAML file, with the location of every value and every mapping key."""

    file: str
    data: Any
    value_locations: dict[KeyPath, Location] = field(default_factory=dict)
    key_locations: dict[KeyPath, Location] = field(default_factory=dict)

    def locate(self, path: KeyPath, *, prefer_key: bool = False) -> Location:
        """Where `path` was written; falls back to the nearest ancestor that exists in the file.

        An ancestor is shown at its key: the value of a block mapping starts at its first child, which
        would point at an unrelated line.
        """
        probe = tuple(path)
        first = (self.key_locations, self.value_locations) if prefer_key else (self.value_locations, self.key_locations)
        for index in first:
            if probe in index:
                return index[probe]
        while probe:
            probe = probe[:-1]
            for index in (self.key_locations, self.value_locations):
                if probe in index:
                    return index[probe]
        return Location(self.file, 1, 1)


class _Builder:
    def __init__(self, file: str) -> None:
        self.document = LocatedDocument(file=file, data=None)
        self.errors: list[InputError] = []
        self._constructor = yaml.constructor.SafeConstructor()

    def _location(self, node: yaml.Node) -> Location:
        mark = node.start_mark
        return Location(self.document.file, mark.line + 1, mark.column + 1)

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        block = isinstance(node, yaml.CollectionNode) and not node.flow_style
        if not (block and path in self.document.key_locations):
            # A block mapping or list "starts" at its first child, on the next line: such a value is
            # located at its key instead. Flow values ({...}, [...]) and scalars are located where written.
            self.document.value_locations[path] = self._location(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        return self._scalar(node)

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self._scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                # Pulumi config and the spec only have string keys: `3: x` or `? [a]: b` is a slip.
                self.errors.append(InputError(self._location(key_node), f"keys must be strings, got {key!r}", path))
                continue
            key_path = (*path, key)
            if key in result:
                first = self.document.key_locations[key_path]
                self.errors.append(
                    InputError(
                        self._location(key_node),
                        f"duplicate key '{key}' (first written at line {first.line})",
                        key_path,
                        "YAML keeps only the last one; remove one of them",
                    )
                )
            self.document.key_locations[key_path] = self._location(key_node)
            result[key] = self.build(value_node, key_path)
        return result

    def _scalar(self, node: yaml.Node) -> Any:
        if node.tag == _TIMESTAMP_TAG:
            # Dates stay as written (2027-06-30): the schema checks their format, and JSON has no date type.
            return str(node.value)
        return self._constructor.construct_object(node, deep=True)


def _broken_yaml(error: yaml.MarkedYAMLError, text: str, file: str) -> InputError:
    """PyYAML's complaint in reading order ("while parsing X, did not find Y"), at the problem's place."""
    mark = error.problem_mark or error.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    if error.context == "expected a single document in the stream":
        return InputError(
            Location(file, line, column),
            "broken YAML: a second document starts here ('---')",
            hint="a stack file holds exactly one YAML document",
        )
    message = ", ".join(part for part in (error.context, error.problem) if part) or "unreadable YAML"
    hint = "check indentation, colons and quotes around this line"
    lines = text.splitlines()
    offending = lines[line - 1][column - 1 : column] if line <= len(lines) else ""
    if offending == "\t" or (error.problem or "").endswith("'\\t' that cannot start any token"):
        message, hint = "a tab character", "YAML indents with spaces only; replace the tab"
    opener = error.context_mark
    if opener is not None and error.problem_mark is not None and opener.line != error.problem_mark.line:
        if (error.context or "").startswith("while parsing a flow"):
            # An unclosed { or [: the opener is what needs fixing, not where the parser gave up.
            return InputError(
                Location(file, opener.line + 1, opener.column + 1),
                f"broken YAML: this {text_at(text, opener)} is never closed (the parser gave up at line {line},"
                f" column {column}: {error.problem})",
                hint="close it, or write the mapping as indented block YAML",
            )
        opened = (error.context or "").removeprefix("while parsing ") or "it"
        message += f" ({opened} began at line {opener.line + 1}, column {opener.column + 1})"
    return InputError(Location(file, line, column), f"broken YAML: {message}", hint=hint)


def text_at(text: str, mark: yaml.Mark) -> str:
    """The character a YAML mark points at, quoted."""
    lines = text.splitlines()
    character = lines[mark.line][mark.column : mark.column + 1] if mark.line < len(lines) else ""
    return f"'{character}'" if character else "bracket"


def load_located(text: str, file: str) -> LocatedDocument:
    """Parse one YAML document. Raises UnusableInputError for broken YAML, several documents or bad keys."""
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        raise UnusableInputError([_broken_yaml(error, text, file)]) from None
    except yaml.YAMLError as error:
        raise UnusableInputError([InputError(Location(file, 1, 1), f"broken YAML: {error}")]) from None
    builder = _Builder(file)
    if root is None:
        raise UnusableInputError([InputError(Location(file, 1, 1), "the file is empty")])
    builder.document.data = builder.build(root, ())
    if builder.errors:
        raise UnusableInputError(builder.errors)
    return builder.document
