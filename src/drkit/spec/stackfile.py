"""Read a Pulumi stack file (stacks/Pulumi.<env>.yaml) and pull out its DR spec (config key drkit:spec)."""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from drkit.errors import InputError, KeyPath, Location, UnusableInputError, describe_value
from drkit.spec.yamlsource import LIMITS, LocatedDocument, load_located
from drkit.suggest import closest, did_you_mean

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
        raw = _read_regular_file(path, file)
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise UnusableInputError(
            [
                InputError(
                    Location(file, line, column),
                    f"not UTF-8: byte 0x{raw[error.start]:02x} here is not valid UTF-8 text",
                    hint="save the file as UTF-8",
                )
            ]
        ) from None
    except OSError as error:
        raise UnusableInputError(
            [InputError(Location(file, 1, 1), f"cannot read the file: {error.strerror}")]
        ) from None
    document = load_located(text, file)
    _check_shape(document)
    return StackFile(path=path, stack=stack, document=document)


_FILE_KINDS = {
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a directory",
}


def _read_regular_file(path: Path, file: str) -> bytes:
    """The bytes of a regular file of at most LIMITS.max_bytes. Anything else is refused before it is opened:
    reading a FIFO or a device would block or never end."""
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        kind = _FILE_KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
        raise UnusableInputError(
            [InputError(Location(file, 1, 1), f"not a regular file: this is {kind}", hint="name a stack file")]
        )
    limit = LIMITS.max_bytes
    if info.st_size > limit:
        raise UnusableInputError([_too_large(file, info.st_size)])
    with path.open("rb") as handle:
        raw = handle.read(limit + 1)
    if len(raw) > limit:  # grew since stat
        raise UnusableInputError([_too_large(file, len(raw))])
    return raw


def _too_large(file: str, size: int) -> InputError:
    return InputError(
        Location(file, 1, 1),
        f"{size} bytes: larger than the {LIMITS.max_bytes // 1024} KiB drkit reads in a stack file",
        hint="a stack file is a few KiB; is this the right file?",
    )


def _refuse(document: LocatedDocument, path: KeyPath, message: str, hint: str = "", *, key: bool = True) -> NoReturn:
    raise UnusableInputError([InputError(document.locate(path, prefer_key=key), message, path, hint)])


def _check_shape(document: LocatedDocument) -> None:
    data = document.data
    if not isinstance(data, dict):
        _refuse(document, (), "not a Pulumi stack file: the top level must be a mapping with a 'config:' key")
    errors = [
        InputError(
            document.locate((key,), prefer_key=True),
            f"unknown top-level key '{key}' in a Pulumi stack file",
            (key,),
            did_you_mean(key, _STACK_FILE_KEYS)
            or (f"config keys such as {key} go under config:" if ":" in key else "")
            or f"Pulumi reads only {', '.join(_STACK_FILE_KEYS)}",
        )
        for key in data
        if key not in _STACK_FILE_KEYS
    ]
    if errors:
        raise UnusableInputError(errors)
    config = data.get("config")
    if not isinstance(config, dict):
        where: KeyPath = ("config",) if "config" in data else ()
        _refuse(
            document,
            where,
            "not a Pulumi stack file with a DR spec: expected a 'config:' mapping",
            f"add config: {{{SPEC_KEY}: {{...}}}}",
        )
    if SPEC_KEY not in config:
        _missing_spec(document, config)
    spec = config[SPEC_KEY]
    if isinstance(spec, dict) and set(spec) == {"secure"}:
        _refuse(
            document,
            SPEC_PATH,
            "the DR spec is encrypted as one Pulumi secret; drkit reads it as plain structured config",
            "keep it as plain YAML: it holds no credentials, and secrets belong in keys of their own",
        )
    if not isinstance(spec, dict):
        hint = "write the spec's keys indented under it" if spec is None else "write it as structured YAML"
        _refuse(document, SPEC_PATH, f"expected the DR spec to be a mapping, got {describe_value(spec)}", hint)


def _missing_spec(document: LocatedDocument, config: dict[str, Any]) -> NoReturn:
    """No drkit:spec under config: point at the key that was probably meant, if there is one."""
    if "spec" in config:
        _refuse(document, ("config", "spec"), "the DR spec key needs its namespace", f"write it as {SPEC_KEY}")
    near = closest(SPEC_KEY, [key for key in config if isinstance(key, str)])
    if near:
        _refuse(
            document,
            ("config", near[0]),
            f"unknown config key '{near[0]}': the DR spec is read from {SPEC_KEY}",
            f"did you mean '{SPEC_KEY}'?",
        )
    _refuse(
        document,
        ("config",),
        f"missing the DR spec: no '{SPEC_KEY}' key under config",
        f"add the spec under config as {SPEC_KEY}: (see docs/spec-reference.md)",
    )
