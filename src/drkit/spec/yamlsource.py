"""Parse YAML into plain data while remembering where every key and value was written.

The file is read as PyYAML's event stream (libyaml's parser, which keeps its own stack: no recursion) and
built here, iteratively, into plain dicts, lists and scalars plus an index from key path to line and column,
so any later check (schema or rule) can point at the exact place in the user's file.

A stack file is small, hand-written data, so the reader refuses, each at the place it starts, whatever
plain data does not need and a hostile file could use against it (limits in `Limits`, documented in
docs/spec-reference.md):

- characters YAML or an editor would not show (control characters, U+2028/U+2029 line separators);
- nesting deeper than `max_depth`, more than `max_nodes` values (aliases count for every value they
  repeat, so an alias bomb stops early), text longer than `max_bytes`;
- tags other than the standard ones on values of their own type (`!!str`, `!!int 3`, `!!map`, ...):
  Python object tags, application tags (`!Ref`), `%TAG` shorthands, `!!binary`, `!!set`, ...;
- recursive and undefined aliases; keys that are not strings.

Merge keys (`<<: *defaults`) are resolved as YAML 1.1 (and Pulumi's YAML reader) define them: keys
written in the mapping win over merged ones, and of several merged mappings the first wins.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from drkit.errors import InputError, KeyPath, Location, UnusableInputError, describe_value

try:  # libyaml is much faster; the pure-Python parser gives identical events.
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - wheels ship libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


# libyaml's marks and PyYAML's are different classes with the same line and column.
Mark = Any


@dataclass(frozen=True)
class Limits:
    """What the reader accepts at most: far above any real stack file, far below what hurts."""

    max_bytes: int = 1024 * 1024
    max_depth: int = 64
    max_nodes: int = 20_000  # keys, values and list items, every alias counted for all it repeats


LIMITS = Limits()

_YAML = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (f"{_YAML}{name}" for name in ("str", "int", "float", "bool", "null"))
_MAP, _SEQ, _MERGE, _TIMESTAMP, _VALUE = (f"{_YAML}{name}" for name in ("map", "seq", "merge", "timestamp", "value"))
# Explicit scalar tags accepted on a value that already reads as that type, and what that type is called.
_SCALAR_TAGS = {_STR: "a string", _INT: "an integer", _FLOAT: "a number", _BOOL: "true or false", _NULL: "null"}
# Characters refused anywhere in the file: C0/C1 controls except tab and line ends, DEL, surrogates,
# non-characters, and the Unicode line/paragraph separators YAML counts as line breaks but editors do not.
_BAD_CHARACTER = re.compile("[^\t\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_CONTROL_NAMES = {
    0x00: "NUL",
    0x07: "BEL",
    0x08: "BACKSPACE",
    0x0B: "VERTICAL TAB",
    0x0C: "FORM FEED",
    0x1B: "ESC",
    0x7F: "DELETE",
    0x85: "NEXT LINE",
}
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def character_name(character: str) -> str:
    """U+200B (ZERO WIDTH SPACE): a code point as a message should show it."""
    code = ord(character)
    name = _CONTROL_NAMES.get(code) or unicodedata.name(character, "")
    if not name and unicodedata.category(character) == "Cc":
        name = "a control character"
    return f"U+{code:04X} ({name})" if name else f"U+{code:04X}"


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


class _StopReadingError(Exception):
    """Reading cannot go on (a limit, or YAML that does not parse): report what was found so far."""

    def __init__(self, error: InputError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass
class _Anchor:
    value: Any
    path: KeyPath
    size: int  # nodes, aliases expanded
    records: tuple[int, int]  # its slice of _Builder.records


@dataclass
class _Frame:
    """An open mapping or list, with what is needed to finish it."""

    kind: str  # "map" or "seq"
    path: KeyPath
    value: Any
    mark: Mark
    record: bool  # False inside a key that is itself a collection (an error; its data is dropped)
    anchor: str | None = None
    first_record: int = 0
    nodes_before: int = 0
    key: str | None = None  # the key whose value comes next (mappings)
    key_is_merge: bool = False
    key_pending: bool = False  # a key was read, its value not yet
    bad_key: bool = False  # the key was refused: read its value and drop it
    is_key: bool = False  # this collection is itself a (refused) key of the mapping below it
    merges: list[tuple[Any, KeyPath, Mark]] = field(default_factory=list)


class _Builder:
    def __init__(self, text: str, file: str, limits: Limits) -> None:
        self.text = text
        self.file = file
        self.limits = limits
        self.document = LocatedDocument(file=file, data=None)
        self.errors: list[InputError] = []
        self.loader: Any = _Loader(text)  # Any: libyaml's parser is untyped
        self.stack: list[_Frame] = []
        self.anchors: dict[str, _Anchor] = {}
        self.open_anchors: set[str] = set()
        # (path, is_key, location) in document order: an anchor's slice is copied under each alias.
        self.records: list[tuple[KeyPath, bool, Location]] = []
        self.nodes = 0
        self.documents = 0

    # -- locations ---------------------------------------------------------------------------------

    def _at(self, mark: Mark) -> Location:
        return Location(self.file, mark.line + 1, mark.column + 1)

    def _record(self, path: KeyPath, is_key: bool, location: Location) -> None:
        self.records.append((path, is_key, location))
        (self.document.key_locations if is_key else self.document.value_locations)[path] = location

    def _copy_records(self, start: int, end: int, old: KeyPath, new: KeyPath) -> None:
        """Locations of a repeated value (alias, merge) under its new path, as written where it came from."""
        for path, is_key, location in self.records[start:end]:
            if path[: len(old)] == old:
                moved = (*new, *path[len(old) :])
                if is_key or moved not in self.document.value_locations:
                    self._record(moved, is_key, location)

    # -- the event loop ----------------------------------------------------------------------------

    def run(self) -> Any:
        try:
            while True:
                event = self._next()
                if event is None or isinstance(event, yaml.StreamEndEvent):
                    break
                if isinstance(event, yaml.DocumentStartEvent):
                    self.documents += 1
                    if self.documents > 1:
                        raise _StopReadingError(
                            InputError(
                                self._at(event.start_mark),
                                "broken YAML: a second document starts here ('---')",
                                hint="a stack file holds exactly one YAML document",
                            )
                        )
                elif isinstance(event, yaml.NodeEvent | yaml.CollectionEndEvent):
                    self._node(event)
        except _StopReadingError as stop:
            self.errors.append(stop.error)
        finally:
            self.loader.dispose()
        return self.document.data

    def _next(self) -> yaml.Event | None:
        try:
            return self.loader.get_event() if self.loader.check_event() else None
        except yaml.MarkedYAMLError as error:
            raise _StopReadingError(_broken_yaml(error, self.text, self.file)) from None
        except yaml.YAMLError as error:
            raise _StopReadingError(InputError(Location(self.file, 1, 1), f"broken YAML: {error}")) from None

    def _node(self, event: yaml.Event) -> None:
        if isinstance(event, yaml.CollectionEndEvent):
            self._close(self.stack.pop())
            return
        parent = self.stack[-1] if self.stack else None
        is_key = parent is not None and parent.kind == "map" and not parent.key_pending
        record = parent is None or (parent.record and not parent.bad_key)
        if parent is None:
            path: KeyPath = ()
        elif parent.kind == "seq":
            path = (*parent.path, len(parent.value))
        elif is_key:
            path = parent.path  # a key's own location is recorded under the path it opens
        else:
            path = (*parent.path, parent.key) if parent.key is not None else parent.path
        self._count(1, event.start_mark)
        if is_key:
            assert parent is not None
            self._key(parent, event)
            return
        if isinstance(event, yaml.AliasEvent):
            self._finish(self._alias(event, path, record), path)
            return
        location = self._at(event.start_mark)
        start = len(self.records)
        block = isinstance(event, yaml.CollectionStartEvent) and not event.flow_style
        if record and not (block and path in self.document.key_locations):
            # A block mapping or list "starts" at its first child, on the next line: such a value is
            # located at its key instead. Flow values ({...}, [...]) and scalars are located where written.
            self._record(path, False, location)
        if isinstance(event, yaml.ScalarEvent):
            self._anchor_scalar(event, path, self._scalar(event, path), start)
            return
        assert isinstance(event, yaml.CollectionStartEvent)
        kind = "map" if isinstance(event, yaml.MappingStartEvent) else "seq"
        self._check_collection_tag(event, kind, path)
        self._check_depth(location, path[:8])
        if event.anchor is not None:
            self.open_anchors.add(event.anchor)
        self.stack.append(
            _Frame(
                kind=kind,
                path=path,
                value={} if kind == "map" else [],
                mark=event.start_mark,
                record=record,
                anchor=event.anchor,
                first_record=len(self.records),
                nodes_before=self.nodes - 1,
            )
        )

    def _check_depth(self, location: Location, path: KeyPath) -> None:
        if len(self.stack) >= self.limits.max_depth:
            raise _StopReadingError(
                InputError(
                    location,
                    f"nested more than {self.limits.max_depth} levels deep: drkit does not read a file like this",
                    path,
                    "a stack file is a few levels deep; look for a runaway [ or { or a generated file",
                )
            )

    def _count(self, nodes: int, mark: Mark) -> None:
        self.nodes += nodes
        if self.nodes > self.limits.max_nodes:
            raise _StopReadingError(
                InputError(
                    self._at(mark),
                    f"more than {self.limits.max_nodes} values (counting every value an alias repeats):"
                    " drkit does not read a file this large",
                    hint="a stack file holds a few hundred values; look for aliases that repeat aliases",
                )
            )

    # -- finishing values --------------------------------------------------------------------------

    def _finish(self, value: Any, path: KeyPath) -> None:
        """Hand a finished value to its parent (or make it the document)."""
        if not self.stack:
            self.document.data = value
            return
        parent = self.stack[-1]
        if parent.kind == "seq":
            parent.value.append(value)
            return
        parent.key_pending = False
        if parent.bad_key:
            parent.bad_key = False
        elif parent.key_is_merge:
            parent.merges.append((value, path, parent.mark))
        elif parent.key is not None:
            parent.value[parent.key] = value
        parent.key = None
        parent.key_is_merge = False

    def _close(self, frame: _Frame) -> None:
        if frame.is_key:
            return  # a refused key: its mapping still waits for the value, which is dropped
        if frame.kind == "map" and frame.merges:
            self._merge(frame)
        if frame.anchor is not None:
            self.open_anchors.discard(frame.anchor)
            self.anchors[frame.anchor] = _Anchor(
                frame.value, frame.path, self.nodes - frame.nodes_before, (frame.first_record, len(self.records))
            )
        self._finish(frame.value, frame.path)

    def _anchor_scalar(self, event: yaml.ScalarEvent, path: KeyPath, value: Any, start: int) -> None:
        if event.anchor is not None:
            self.anchors[event.anchor] = _Anchor(value, path, 1, (start, len(self.records)))
        self._finish(value, path)

    def _alias(self, event: yaml.AliasEvent, path: KeyPath, record: bool) -> Any:
        name = str(event.anchor)
        location = self._at(event.start_mark)
        if record:
            self._record(path, False, location)
        if name in self.open_anchors:
            raise _StopReadingError(
                InputError(
                    location,
                    f"recursive alias *{name}: it repeats a value that contains it, which never ends",
                    path,
                    "write the value out, or point the alias at a value outside this one",
                )
            )
        anchor = self.anchors.get(name)
        if anchor is None:
            self.errors.append(
                InputError(location, f"undefined alias *{name}: no &{name} is written before this point", path)
            )
            return None
        self._count(anchor.size - 1, event.start_mark)
        if record:
            self._copy_records(*anchor.records, anchor.path, path)
        return copy.deepcopy(anchor.value)

    def _merge(self, frame: _Frame) -> None:
        """Keys of merged mappings (<<) that the mapping does not write itself; the first merged one wins."""
        merged: dict[str, Any] = {}
        for value, source_path, _ in frame.merges:
            sources = value if isinstance(value, list) else [value]
            for index, source in enumerate(sources):
                where = (*source_path, index) if isinstance(value, list) else source_path
                if not isinstance(source, dict):
                    self.errors.append(
                        InputError(
                            self.document.locate(where),
                            f"a merge key (<<) takes a mapping or a list of mappings, got {describe_value(source)}",
                            frame.path,
                            "merge an alias of a mapping (<<: *defaults), or write the keys out",
                        )
                    )
                    continue
                for key, item in source.items():
                    if key not in frame.value and key not in merged:
                        merged[key] = item
                        self._copy_records(frame.first_record, len(self.records), (*where, key), (*frame.path, key))
        frame.value.update(merged)

    # -- keys --------------------------------------------------------------------------------------

    def _key(self, parent: _Frame, event: yaml.Event) -> None:
        parent.key_pending = True
        location = self._at(event.start_mark)
        if isinstance(event, yaml.CollectionStartEvent):
            what = "a mapping" if isinstance(event, yaml.MappingStartEvent) else "a list"
            self.errors.append(
                InputError(
                    location,
                    f"{what} used as a key: keys must be strings",
                    parent.path,
                    "a '?' or a [..]/{..} before ':' makes a key of that value; write the key as a plain name",
                )
            )
            parent.bad_key = True
            self._check_depth(location, parent.path[:8])
            # Read the key's contents (and its limits) without recording them; the value after it is dropped.
            self.stack.append(
                _Frame(
                    kind="map" if isinstance(event, yaml.MappingStartEvent) else "seq",
                    path=parent.path,
                    value={} if isinstance(event, yaml.MappingStartEvent) else [],
                    mark=event.start_mark,
                    record=False,
                    nodes_before=self.nodes - 1,
                    is_key=True,
                )
            )
            return
        if isinstance(event, yaml.AliasEvent):
            anchor = self.anchors.get(str(event.anchor))
            if anchor is None:
                self.errors.append(
                    InputError(location, f"undefined alias *{event.anchor}: no &{event.anchor} before this point")
                )
                parent.bad_key = True
                return
            key: Any = anchor.value
            source = f"*{event.anchor}"
            resolved = _STR if isinstance(key, str) else None
        else:
            assert isinstance(event, yaml.ScalarEvent)
            resolved = self._resolve(event)
            source = event.value
            if resolved == _MERGE:
                parent.key_is_merge = True
                parent.key = "<<"
                if parent.merges:
                    self.errors.append(InputError(location, "a second merge key (<<) in this mapping", parent.path))
                return
            key = self._scalar(event, parent.path)
        if not isinstance(key, str):
            self.errors.append(_non_string_key(location, source, key, resolved, parent.path))
            parent.bad_key = True
            return
        key_path = (*parent.path, key)
        if key in parent.value and parent.record:
            first = self.document.key_locations.get(key_path, location)
            self.errors.append(
                InputError(
                    location,
                    f"duplicate key '{key}' (first written at line {first.line})",
                    key_path,
                    "YAML keeps only the last one; remove one of them",
                )
            )
        if parent.record:
            self._record(key_path, True, location)
        parent.key = key

    # -- scalars and tags --------------------------------------------------------------------------

    def _resolve(self, event: yaml.ScalarEvent) -> str:
        if event.tag is None or event.tag == "!":
            return str(self.loader.resolve(yaml.ScalarNode, event.value, event.implicit))
        return str(event.tag)

    def _scalar(self, event: yaml.ScalarEvent, path: KeyPath) -> Any:
        tag = self._resolve(event)
        location = self._at(event.start_mark)
        explicit = event.tag not in (None, "!")
        if explicit:
            problem = self._tag_problem(tag, event)
            if problem:
                self.errors.append(InputError(location, problem, path, _TAG_HINT))
                return event.value
        if tag in (_TIMESTAMP, _VALUE, _MERGE):
            # Dates stay as written (2027-06-30): the schema checks their format, and JSON has no date type.
            return event.value
        if tag not in _SCALAR_TAGS:  # pragma: no cover - the resolver yields only the tags above
            return event.value
        node = yaml.ScalarNode(tag, event.value, None, None, event.style)
        try:
            return self.loader.yaml_constructors[tag](self.loader, node)
        except ValueError as error:
            if tag == _INT:
                digits = sum(character.isdigit() for character in event.value)
                message = f"a number with {digits} digits: too large to read"
                self.errors.append(InputError(location, message, path, "no value in a stack file is this large"))
            else:
                self.errors.append(InputError(location, f"cannot read {event.value[:40]!r}: {error}", path))
            return event.value

    def _tag_problem(self, tag: str, event: yaml.ScalarEvent) -> str:
        """Why an explicit tag on a scalar is refused, or '' when it only restates the value's type."""
        if tag in _SCALAR_TAGS:
            implicit = str(self.loader.resolve(yaml.ScalarNode, event.value, (True, False)))
            if tag == _STR or implicit == tag or (tag == _FLOAT and implicit == _INT):
                return ""
            return f"the tag !!{tag.removeprefix(_YAML)} on {event.value!r}, which is not {_SCALAR_TAGS[tag]}"
        return _unsupported_tag(tag)

    def _check_collection_tag(self, event: yaml.CollectionStartEvent, kind: str, path: KeyPath) -> None:
        tag = event.tag
        if tag in (None, "!") or tag == (_MAP if kind == "map" else _SEQ):
            return
        what = "a mapping" if kind == "map" else "a list"
        problem = (
            f"the tag !!{tag.removeprefix(_YAML)} on {what}"
            if tag in (_MAP, _SEQ, *_SCALAR_TAGS)
            else _unsupported_tag(tag)
        )
        self.errors.append(InputError(self._at(event.start_mark), problem, path, _TAG_HINT))


_TAG_HINT = "remove the tag: a stack file is plain YAML data (Pulumi reads no tags either)"


def _unsupported_tag(tag: str) -> str:
    if tag.startswith(f"{_YAML}python/"):
        return f"a Python object tag (!!{tag.removeprefix(_YAML)}): drkit never builds objects or runs code from YAML"
    if tag.startswith(_YAML):
        return f"the YAML tag !!{tag.removeprefix(_YAML)} is not read in stack files"
    if tag.startswith("!"):
        return f"an application tag ({tag}, as in CloudFormation's !Ref): drkit and Pulumi give it no meaning"
    return f"the tag {tag!r} (spelled through a %TAG directive): drkit reads no tags"


def _non_string_key(location: Location, source: str, key: Any, tag: str | None, path: KeyPath) -> InputError:
    """A key YAML reads as something other than a string, explained in the words of what it was read as."""
    if tag == _BOOL:
        return InputError(
            location,
            f"the key {source!r} is read by YAML as the boolean {str(key).lower()}: keys must be strings",
            path,
            f"quote it: '{source}'",
        )
    if tag in (_INT, _FLOAT):
        message = f"the key {source} is read by YAML as a number: keys must be strings"
        return InputError(location, message, path, f"quote it: '{source}'")
    if key is None:
        return InputError(location, "an empty (null) key: keys must be strings", path, "write the key's name first")
    return InputError(location, f"keys must be strings, got {describe_value(key)}", path, "write a plain name")


def _broken_yaml(error: yaml.MarkedYAMLError, text: str, file: str) -> InputError:
    """PyYAML's complaint in reading order ("while parsing X, did not find Y"), at the problem's place."""
    mark = error.problem_mark or error.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    message = ", ".join(part for part in (error.context, error.problem) if part) or "unreadable YAML"
    hint = "check indentation, colons and quotes around this line"
    lines = text.splitlines()
    offending = lines[line - 1][column - 1 : column] if line <= len(lines) else ""
    if offending == "\t" or (error.problem or "").endswith("'\\t' that cannot start any token"):
        message, hint = "a tab character", "YAML indents with spaces only; replace the tab"
    opener = error.context_mark
    if opener is not None and error.problem_mark is not None and opener.line != error.problem_mark.line:
        context = error.context or ""
        if context.startswith("while parsing a flow"):
            # An unclosed { or [: the opener is what needs fixing, not where the parser gave up.
            return InputError(
                Location(file, opener.line + 1, opener.column + 1),
                f"broken YAML: this {text_at(text, opener)} is never closed (the parser gave up at line {line},"
                f" column {column}: {error.problem})",
                hint="close it, or write the mapping as indented block YAML",
            )
        if context.startswith("while scanning a quoted scalar"):
            # An unclosed quote swallows the rest of the file: the quote that opens it is the mistake.
            return InputError(
                Location(file, opener.line + 1, opener.column + 1),
                f"broken YAML: this {text_at(text, opener)} quote is never closed (the parser gave up at line"
                f" {line}, column {column}: {error.problem})",
                hint="close the quote on the same line",
            )
        opened = context.removeprefix("while parsing ") or "it"
        message += f" ({opened} began at line {opener.line + 1}, column {opener.column + 1})"
    return InputError(Location(file, line, column), f"broken YAML: {message}", hint=hint)


def text_at(text: str, mark: Mark) -> str:
    """The character a YAML mark points at, quoted."""
    lines = text.splitlines()
    character = lines[mark.line][mark.column : mark.column + 1] if mark.line < len(lines) else ""
    return f"'{character}'" if character else "bracket"


def _bad_characters(text: str, file: str) -> list[InputError]:
    """Characters a stack file must not hold, each at its line and column (the first few)."""
    errors = []
    for match in _BAD_CHARACTER.finditer(text):
        before = text[: match.start()]
        breaks = list(_LINE_BREAK.finditer(before))
        line = len(breaks) + 1
        column = match.start() - (breaks[-1].end() if breaks else 0) + 1
        character = match.group()
        errors.append(
            InputError(
                Location(file, line, column),
                f"the character {character_name(character)} here: a stack file holds printable text only",
                hint="delete it (it is invisible in most editors; `cat -A` shows it)",
            )
        )
        if len(errors) == 5:
            break
    return errors


def line_count(text: str) -> int:
    """Lines as editors count them: \\n, \\r\\n or \\r end a line; a final line break opens no new line."""
    breaks = len(_LINE_BREAK.findall(text))
    return max(1, breaks if text.endswith(("\n", "\r")) else breaks + 1)


def _within(error: InputError, text: str) -> InputError:
    """The error, moved from past the end of the text (where the parser gives up) to the end of its last line."""
    last = line_count(text)
    if error.location.line <= last:
        return error
    lines = _LINE_BREAK.split(text)
    column = len(lines[last - 1]) + 1 if last <= len(lines) else 1
    return replace(error, location=replace(error.location, line=last, column=column))


def load_located(text: str, file: str, limits: Limits = LIMITS) -> LocatedDocument:
    """Parse one YAML document. Raises UnusableInputError for broken YAML, several documents or bad keys."""
    if len(text) > limits.max_bytes:
        raise UnusableInputError(
            [InputError(Location(file, 1, 1), f"larger than {limits.max_bytes // 1024} KiB: not a stack file")]
        )
    bad = _bad_characters(text, file)
    if bad:
        raise UnusableInputError(bad)
    builder = _Builder(text, file, limits)
    builder.run()
    if builder.errors:
        raise UnusableInputError([_within(error, text) for error in builder.errors])
    if builder.documents == 0:
        raise UnusableInputError([InputError(Location(file, 1, 1), "the file is empty")])
    return builder.document
