"""Check YAML data against a JSON Schema and explain every failure in words, at its place in the file.

Used for the DR spec (policies/schema/dr-spec.schema.json) and for drkit's own policy files.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError

from drkit.errors import InputError, KeyPath, Location, describe_value
from drkit.spec import cron, secrets, units
from drkit.suggest import did_you_mean, odd_characters

_FORMATS = FormatChecker(formats=["date"])


@_FORMATS.checks("cron", raises=ValueError)
def _is_cron(value: object) -> bool:
    if isinstance(value, str) and cron.problem(value):
        raise ValueError(cron.problem(value))
    return True


@_FORMATS.checks("duration", raises=ValueError)
def _is_duration(value: object) -> bool:
    problem = units.duration_problem(value) if isinstance(value, str) else ""
    if problem and problem != "not a duration":  # the pattern reports a wrong shape
        raise ValueError(problem)
    return True


@_FORMATS.checks("size", raises=ValueError)
def _is_size(value: object) -> bool:
    problem = units.size_problem(value) if isinstance(value, str) else ""
    if problem and problem != "not a size":  # the pattern reports a wrong shape
        raise ValueError(problem)
    return True


_FORMAT_EXPECTED = {
    "cron": "a five-field cron schedule that fires, like '*/15 * * * *' (minute hour day-of-month month day-of-week)",
    "date": "a date like 2027-06-30",
    "duration": f"a duration of at most {units.MAX_DURATION_TEXT}",
    "size": f"a size of at most {units.MAX_SIZE_TEXT}",
}


@cache
def _pattern(pattern: str) -> re.Pattern[str]:
    """A schema pattern as drkit means it: a final `$` is the end of the text. (Python's `$` also matches
    before a final newline, which would let "3.5.17\\n" through as a version.)"""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _check_pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _pattern(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


# Draft 2020-12 with drkit's reading of "pattern" (above): the one validator class every schema uses.
_extend: Any = validators.extend  # untyped in types-jsonschema
_Validator = _extend(Draft202012Validator, {"pattern": _check_pattern})
_JSON_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "nothing",
}


Locate = Callable[..., Location]


@dataclass(frozen=True)
class _Target:
    """The data being checked: how to find a key path in its file, and how to name that path."""

    locate: Locate
    prefix: KeyPath


def _inline_refs(node: Any, definitions: dict[str, Any]) -> Any:
    """The schema with every local "$ref": "#/$defs/name" replaced by that definition (siblings win)."""
    if isinstance(node, list):
        return [_inline_refs(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    inlined = {key: _inline_refs(value, definitions) for key, value in node.items() if key != "$ref"}
    if "$ref" in node:
        name = str(node["$ref"]).removeprefix("#/$defs/")
        return {**_inline_refs(definitions[name], definitions), **inlined}
    return inlined


class SchemaChecker:
    """A JSON Schema (draft 2020-12), compiled once and reused for every file."""

    def __init__(self, schema: dict[str, Any]) -> None:
        Draft202012Validator.check_schema(schema)
        # drkit's schemas refer only to their own, non-recursive $defs: inlining them once spares the
        # validator a reference lookup at every use, which is most of its time on a stack file.
        self.schema = _inline_refs(schema, schema.get("$defs", {}))
        self.validator = _Validator(self.schema, format_checker=_FORMATS)

    @classmethod
    def from_file(cls, path: Path) -> SchemaChecker:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def errors(self, instance: Any, locate: Locate, prefix: KeyPath = ()) -> list[InputError]:
        """Every violation, located with `locate(path, prefer_key=...)` and named with `prefix` in front."""
        target = _Target(locate, prefix)
        raw_errors = list(self.validator.iter_errors(instance))
        # A value already too short or too long is not also told about its pattern (one error per mistake).
        sized = {tuple(raw.absolute_path) for raw in raw_errors if raw.validator in ("minLength", "maxLength")}
        found = [
            error
            for raw in raw_errors
            if not (raw.validator == "pattern" and tuple(raw.absolute_path) in sized)
            for error in self._explain(raw, target)
        ]
        found.sort(key=lambda error: (error.location.line, error.location.column))
        return found

    def _explain(self, error: ValidationError, target: _Target) -> Iterator[InputError]:
        path: KeyPath = tuple(error.absolute_path)
        kind = str(error.validator)
        explain = self._explainers.get(kind)
        if explain is not None:
            yield from explain(error, path, target)
            return
        yield self._error(target, path, error.message)

    def _error(self, target: _Target, path: KeyPath, message: str, hint: str = "", *, key: bool = False) -> InputError:
        return InputError(target.locate(path, prefer_key=key), message, (*target.prefix, *path), hint)

    @cached_property
    def _explainers(self) -> dict[str, Callable[[ValidationError, KeyPath, _Target], Iterator[InputError]]]:
        return {
            "additionalProperties": self._unknown_keys,
            "required": self._missing_key,
            "type": self._wrong_type,
            "enum": self._not_one_of,
            "const": self._not_one_of,
            "pattern": self._bad_shape,
            "format": self._bad_shape,
            "minimum": self._out_of_range,
            "maximum": self._out_of_range,
            "minItems": self._too_few,
            "minLength": self._too_few,
            "maxItems": self._too_many,
            "maxLength": self._too_many,
            "uniqueItems": self._duplicates,
            "contains": self._contains,
            "minContains": self._contains,
            "maxContains": self._contains,
        }

    def _unknown_keys(self, error: ValidationError, path: KeyPath, target: _Target) -> Iterator[InputError]:
        allowed = list(error.schema.get("properties", {})) if isinstance(error.schema, dict) else []
        instance = error.instance if isinstance(error.instance, dict) else {}
        for key in instance:
            if key in allowed:
                continue
            hint = did_you_mean(key, allowed)
            if not hint and key in self._key_homes:
                # A real key in the wrong mapping is an indentation slip more often than a typo.
                hint = f"'{key}' belongs under {' or '.join(self._key_homes[key])}: check the indentation"
            hint = hint or f"allowed here: {', '.join(allowed)}"
            yield self._error(target, (*path, key), f"unknown key {_quoted(key)}", hint, key=True)

    def _missing_key(self, error: ValidationError, path: KeyPath, target: _Target) -> Iterator[InputError]:
        instance = error.instance if isinstance(error.instance, dict) else {}
        allowed = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        strays = [key for key in instance if isinstance(key, str) and key not in allowed]
        required: list[str] = list(error.validator_value)  # type: ignore[arg-type]
        for key in required:
            if key not in instance:
                near = did_you_mean(key, strays).replace("did you mean", "is it")
                # Shown at the key that owns the incomplete mapping, not at its first child.
                yield self._error(target, path, f"missing required key '{key}'", near, key=True)

    def _wrong_type(self, error: ValidationError, path: KeyPath, target: _Target) -> Iterator[InputError]:
        wanted: Any = error.validator_value
        names = [wanted] if isinstance(wanted, str) else list(wanted)
        schema = error.schema if isinstance(error.schema, dict) else {}
        # A value with a shape of its own (duration, version) is described by that shape, not its JSON type.
        shape = schema.get("x-expected") if names == ["string"] else None
        expected = shape or " or ".join(_JSON_TYPE_NAMES.get(name, name) for name in names)
        hint = ""
        instance = error.instance
        if secrets.is_secret(instance):
            if schema.get(secrets.SCHEMA_MARK) and "string" in names:
                return  # an opaque secret of the expected kind (drkit.spec.secrets): validate says so
            yield self._error(
                target,
                path,
                f"expected {expected}, got a Pulumi secret (secure:): drkit checks or computes with this value and"
                " cannot read encrypted config",
                "write this value in plain text (pulumi config set --path without --secret): the DR spec holds"
                " no credentials; only names and instance types may be secrets (docs/spec-reference.md)",
            )
            return
        if "string" in names and isinstance(instance, int | float) and not isinstance(instance, bool):
            pattern = schema.get("pattern")
            if pattern is None or re.search(pattern, str(instance)):
                hint = f'quote it: "{instance}"'
        elif "integer" in names and isinstance(instance, str) and instance.strip().isdigit():
            hint = f"write it without quotes: {instance.strip()}"
        yield self._error(target, path, f"expected {expected}, got {describe_value(instance)}", hint)

    def _not_one_of(self, error: ValidationError, path: KeyPath, target: _Target) -> Iterator[InputError]:
        value: Any = error.validator_value
        choices = [value] if error.validator == "const" else list(value)
        shown = ", ".join(repr(choice) for choice in choices)
        hint = did_you_mean(error.instance, [str(c) for c in choices]) if isinstance(error.instance, str) else ""
        yield self._error(target, path, f"expected one of {shown}, got {describe_value(error.instance)}", hint)

    def _bad_shape(self, error: ValidationError, path: KeyPath, target: _Target) -> Iterator[InputError]:
        expected = error.schema.get("x-expected") if isinstance(error.schema, dict) else None
        reason = ""
        if error.validator == "format":
            expected = _FORMAT_EXPECTED.get(str(error.validator_value), expected)
            reason = str(error.cause or "")
        if expected is None:
            # Every pattern of drkit's schemas has an x-expected; a custom one gets plain words, not a regex dump.
            expected = f"text of the form {error.validator_value}"
        instance = error.instance
        message = f"expected {expected}, got {_shown(instance)}"
        if reason:
            message += f": {reason}"
        odd = odd_characters(instance) if isinstance(instance, str) else ""
        if isinstance(instance, str) and instance != instance.strip():
            odd = "it has spaces or a line break at its start or end" + (f"; {odd}" if odd else "")
        yield self._error(target, path, message, odd)

    def _out_of_range(self, error: ValidationError, path: KeyPath, target: _Target) -> Iterator[InputError]:
        bound = "at least" if error.validator == "minimum" else "at most"
        yield self._error(target, path, f"expected {bound} {error.validator_value}, got {error.instance}")

    def _too_few(self, error: ValidationError, path: KeyPath, target: _Target) -> Iterator[InputError]:
        what = "item" if error.validator == "minItems" else "character"
        count = error.validator_value
        got = len(error.instance) if isinstance(error.instance, str | list) else 0
        yield self._error(target, path, f"expected at least {count} {what}{'s' if count != 1 else ''}, got {got}")

    def _too_many(self, error: ValidationError, path: KeyPath, target: _Target) -> Iterator[InputError]:
        what = "item" if error.validator == "maxItems" else "character"
        count = error.validator_value
        got = len(error.instance) if isinstance(error.instance, str | list) else 0
        yield self._error(target, path, f"expected at most {count} {what}{'s' if count != 1 else ''}, got {got}")

    def _duplicates(self, error: ValidationError, path: KeyPath, target: _Target) -> Iterator[InputError]:
        yield self._error(target, path, "expected every item to be different, found a repeated one")

    def _contains(self, error: ValidationError, path: KeyPath, target: _Target) -> Iterator[InputError]:
        expected = error.schema.get("x-expected", error.message) if isinstance(error.schema, dict) else error.message
        yield self._error(target, path, f"expected {expected}")

    @cached_property
    def _key_homes(self) -> dict[str, list[str]]:
        """Every key the schema allows, and the mappings it is allowed in (for misplaced-key hints)."""
        homes: dict[str, list[str]] = {}

        def walk(schema: Any, where: str) -> None:
            if isinstance(schema, list):
                for item in schema:
                    walk(item, where)
                return
            if not isinstance(schema, dict):
                return
            for key, sub in schema.get("properties", {}).items():
                place = where or "the top level of the spec"
                if place not in homes.setdefault(key, []):
                    homes[key].append(place)
                walk(sub, f"{where}.{key}" if where else key)
            for keyword in ("items", "allOf", "then"):
                if keyword in schema:
                    walk(schema[keyword], f"{where}[]" if keyword == "items" else where)

        walk(self.schema, "")
        return homes

    def with_defaults(self, spec: dict[str, Any]) -> dict[str, Any]:
        """A copy of a valid spec with every default of the schema filled in (the schema is the one source)."""
        filled = copy.deepcopy(spec)
        self._fill(self.schema, filled)
        return filled

    def _fill(self, schema: dict[str, Any], instance: Any) -> None:
        if isinstance(instance, dict):
            for key, subschema in schema.get("properties", {}).items():
                if key not in instance and "default" in subschema:
                    instance[key] = copy.deepcopy(subschema["default"])
                if key in instance:
                    self._fill(subschema, instance[key])
            for branch in schema.get("allOf", []):
                if "if" not in branch or self.validator.evolve(schema=branch["if"]).is_valid(instance):
                    self._fill(branch.get("then", branch), instance)
        elif isinstance(instance, list) and isinstance(schema.get("items"), dict):
            for item in instance:
                self._fill(schema["items"], item)


def _quoted(text: str) -> str:
    """A key or value in quotes, with invisible and look-alike characters shown as escapes."""
    return ascii(text) if odd_characters(text) else f"'{text}'"


def _shown(value: Any) -> str:
    if isinstance(value, str) and (odd_characters(value) or value != value.strip()):
        return f"the string {value!a}"
    return describe_value(value)
