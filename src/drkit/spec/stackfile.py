"""Read a Pulumi stack file (stacks/Pulumi.<env>.yaml) and pull out its DR spec (config key drkit:spec)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drkit.errors import InputError, KeyPath, Location, UnusableInputError
from drkit.spec.yamlsource import LocatedDocument, load_located
from drkit.suggest import did_you_mean

SPEC_KEY = "drkit:spec"
SPEC_PATH: KeyPath = ("config", SPEC_KEY)
_STACK_FILE_NAME = re.compile(r"^Pulumi\.(?P<stack>[A-Za-z0-9_.-]+)\.yaml$")
# The top-level keys Pulumi itself reads in a stack settings file.
_STACK_FILE_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")


@dataclass(frozen=True)
class StackFile:
    path: Path
    stack: str
    document: LocatedDocument

    @property
    def spec(self) -> Any:
        return self.document.data["config"][SPEC_KEY]

    def locate(self, spec_path: KeyPath, *, prefer_key: bool = False) -> Location:
        """Where a key path inside the spec was written in this file."""
        return self.document.locate((*SPEC_PATH, *spec_path), prefer_key=prefer_key)


def stack_name(path: Path) -> str | None:
    match = _STACK_FILE_NAME.match(path.name)
    return match.group("stack") if match else None


def read_stack_file(path: Path, display: str | None = None) -> StackFile:
    """Load a stack file and check its Pulumi shape. Raises UnusableInputError saying what is wrong and where."""
    file = display or str(path)
    stack = stack_name(path)
    if stack is None:
        raise UnusableInputError(
            [
                InputError(
                    Location(file, 1, 1),
                    f"not a Pulumi stack file: the name '{path.name}' is not Pulumi.<stack>.yaml",
                    hint="stack files are named like stacks/Pulumi.prod.yaml",
                )
            ]
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UnusableInputError([InputError(Location(file, 1, 1), "not a text file (it is not UTF-8)")]) from None
    except OSError as error:
        raise UnusableInputError(
            [InputError(Location(file, 1, 1), f"cannot read the file: {error.strerror}")]
        ) from None
    document = load_located(text, file)
    _check_shape(document)
    return StackFile(path=path, stack=stack, document=document)


def _check_shape(document: LocatedDocument) -> None:
    data = document.data
    if not isinstance(data, dict):
        raise UnusableInputError(
            [
                InputError(
                    document.locate(()),
                    "not a Pulumi stack file: the top level must be a mapping with a 'config:' key",
                )
            ]
        )
    errors = [
        InputError(
            document.locate((key,), prefer_key=True),
            f"unknown top-level key '{key}' in a Pulumi stack file",
            (key,),
            did_you_mean(key, _STACK_FILE_KEYS) or f"Pulumi reads only {', '.join(_STACK_FILE_KEYS)}",
        )
        for key in data
        if key not in _STACK_FILE_KEYS
    ]
    if errors:
        raise UnusableInputError(errors)
    config = data.get("config")
    if not isinstance(config, dict):
        where = ("config",) if "config" in data else ()
        raise UnusableInputError(
            [
                InputError(
                    document.locate(where),
                    "not a Pulumi stack file with a DR spec: expected a 'config:' mapping",
                    where,
                    f"add config: {{{SPEC_KEY}: {{...}}}}",
                )
            ]
        )
    if SPEC_KEY not in config:
        suggestion = did_you_mean(SPEC_KEY, config) if config else ""
        bare = "spec" in config and "write the key with its namespace: drkit:spec"
        raise UnusableInputError(
            [
                InputError(
                    document.locate(("config",), prefer_key=True),
                    f"missing the DR spec: no '{SPEC_KEY}' key under config",
                    ("config",),
                    bare or suggestion or f"add the spec under config as {SPEC_KEY}: (see docs/spec-reference.md)",
                )
            ]
        )
    if isinstance(config[SPEC_KEY], dict) and set(config[SPEC_KEY]) == {"secure"}:
        raise UnusableInputError(
            [
                InputError(
                    document.locate(SPEC_PATH),
                    "the DR spec is encrypted as one Pulumi secret; drkit reads it as plain structured config",
                    SPEC_PATH,
                    "keep it as plain YAML: it holds no credentials, and secrets belong in keys of their own",
                )
            ]
        )
    if not isinstance(config[SPEC_KEY], dict):
        got = type(config[SPEC_KEY]).__name__
        raise UnusableInputError(
            [
                InputError(
                    document.locate(SPEC_PATH),
                    f"expected the DR spec to be a mapping, got {got}",
                    SPEC_PATH,
                    "write it as structured YAML under the key, not as a string",
                )
            ]
        )
