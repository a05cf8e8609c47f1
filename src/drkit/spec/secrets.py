"""Pulumi secrets inside the DR spec: `{secure: <ciphertext>}` where the schema allows one.

`pulumi config set --secret --path 'drkit:spec.globalEndpoint.name' ...` encrypts one value of the structured
spec. drkit validates the stack file, where only the ciphertext is, so it cannot read the value; at
`pulumi up` the engine hands the program the decrypted spec. A key may therefore be a secret only if
nothing drkit checks or estimates reads it (the schema marks those with "x-secret": true: names and
instance types the cloud uses but no rule judges). There, validation takes the secret as a string of the
expected kind, unread (OpaqueSecret), and says so; the program builds from the decrypted value. Anywhere
else a secret is refused, naming why: a rule or an estimate needs the value.
"""

from __future__ import annotations

from typing import Any

from drkit.errors import KeyPath

SCHEMA_MARK = "x-secret"
PLACEHOLDER = "[secret]"


class OpaqueSecret(str):
    """Stands in for a secret's value while validating: a string nobody reads."""

    __slots__ = ()


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"} and isinstance(value["secure"], str)


def secret_paths(value: Any, path: KeyPath = ()) -> list[KeyPath]:
    """Where the spec holds Pulumi secrets."""
    if is_secret(value):
        return [path]
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in secret_paths(item, (*path, key))]
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in secret_paths(item, (*path, index))]
    return []


def opaque(value: Any) -> Any:
    """A copy of the spec with each secret replaced by an OpaqueSecret (after the schema allowed it there)."""
    if is_secret(value):
        return OpaqueSecret(PLACEHOLDER)
    if isinstance(value, dict):
        return {key: opaque(item) for key, item in value.items()}
    if isinstance(value, list):
        return [opaque(item) for item in value]
    return value


def same_spec(written: Any, decrypted: Any) -> bool:
    """The engine's spec is the file's, with each secret of the file decrypted to some string."""
    if is_secret(written):
        return isinstance(decrypted, str)
    if isinstance(written, dict):
        return (
            isinstance(decrypted, dict)
            and written.keys() == decrypted.keys()
            and all(same_spec(written[key], decrypted[key]) for key in written)
        )
    if isinstance(written, list):
        return (
            isinstance(decrypted, list)
            and len(written) == len(decrypted)
            and all(same_spec(a, b) for a, b in zip(written, decrypted, strict=True))
        )
    return type(written) is type(decrypted) and bool(written == decrypted)
