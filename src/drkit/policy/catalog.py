"""Load the policy set of a checkout: spec schema, tier presets, etcd release table and rule files."""

from __future__ import annotations

import importlib.util
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from drkit.errors import InputError, Location, UnusableInputError
from drkit.policy.releases import EtcdReleases
from drkit.policy.rule import Rule
from drkit.policy.tiers import TierPreset
from drkit.spec.schema import SchemaChecker
from drkit.spec.yamlsource import LocatedDocument, load_located


@dataclass(frozen=True)
class PolicySet:
    directory: Path
    spec_schema: SchemaChecker
    tiers: dict[str, TierPreset]
    releases: EtcdReleases
    rules: tuple[Rule, ...]  # sorted by ID, both scopes

    @property
    def rules_by_id(self) -> dict[str, Rule]:
        return {rule.id: rule for rule in self.rules}

    @property
    def spec_rules(self) -> tuple[Rule, ...]:
        """What `drkit validate` runs: the rules that judge the spec itself."""
        return tuple(rule for rule in self.rules if rule.scope == "spec")

    @property
    def resource_rules(self) -> tuple[Rule, ...]:
        """What `drkit plan` and the CrossGuard pack run over the resources built from a passing spec."""
        return tuple(rule for rule in self.rules if rule.scope == "resources")

    @classmethod
    def load(cls, directory: Path) -> PolicySet:
        """Load and check every policy file; raises UnusableInputError naming the broken file and line."""
        missing = [part for part in _LAYOUT if not (directory / part).is_dir()]
        if missing:
            raise UnusableInputError(
                [
                    InputError(
                        Location(str(directory), 1, 1),
                        f"not a policy directory: missing {', '.join(part + '/' for part in missing)}",
                        hint="point --policies at a directory laid out like the checkout's policies/",
                    )
                ]
            )
        schemas = directory / "schema"
        spec_schema = _load_schema(schemas / "dr-spec.schema.json")
        tier_schema = _load_schema(schemas / "tier-preset.schema.json")
        release_schema = _load_schema(schemas / "etcd-releases.schema.json")
        tiers = {
            path.stem: TierPreset.from_data(path.stem, _load_checked(path, tier_schema).data)
            for path in sorted((directory / "tiers").glob("*.yaml"))
        }
        releases = EtcdReleases.from_data(_load_checked(directory / "data" / "etcd-releases.yaml", release_schema).data)
        return cls(directory, spec_schema, tiers, releases, load_rules(directory / "rules"))


_LAYOUT = ("schema", "tiers", "rules", "data")


def _load_schema(path: Path) -> SchemaChecker:
    try:
        return SchemaChecker.from_file(path)
    except (OSError, ValueError) as error:
        raise UnusableInputError([InputError(Location(str(path), 1, 1), f"cannot load schema: {error}")]) from None


def _load_checked(path: Path, schema: SchemaChecker) -> LocatedDocument:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UnusableInputError([InputError(Location(str(path), 1, 1), f"cannot read: {error.strerror}")]) from None
    document = load_located(text, str(path))
    errors = schema.errors(document.data, document.locate)
    if errors:
        raise UnusableInputError(errors)
    return document


def load_rules(directory: Path) -> tuple[Rule, ...]:
    """Import every DRnnn_*.py file in `directory`; each must define exactly the rule its name announces."""
    rules: dict[str, Rule] = {}
    errors: list[InputError] = []
    for path in sorted(directory.glob("DR*.py")):
        try:
            module = _import(path)
        except Exception as error:  # a broken rule file is the user's input: report it, never a traceback
            errors.append(InputError(_failing_line(path, error), f"cannot load rule file: {error}"))
            continue
        found = [value for value in vars(module).values() if isinstance(value, Rule)]
        if len(found) != 1 or not path.stem.startswith(found[0].id + "_"):
            errors.append(
                InputError(
                    Location(str(path), 1, 1),
                    f"a rule file must define exactly one rule whose ID starts its name, found {len(found)}",
                    hint="name it DRnnn_what_it_checks.py and decorate one function with @rule(id='DRnnn', ...)",
                )
            )
            continue
        if found[0].id in rules:
            errors.append(InputError(Location(str(path), 1, 1), f"rule ID {found[0].id} is defined twice"))
            continue
        rules[found[0].id] = found[0]
    if not rules and not errors:
        errors.append(InputError(Location(str(directory), 1, 1), "no rule files (DRnnn_*.py) here"))
    if errors:
        raise UnusableInputError(errors)
    return tuple(rules[rule_id] for rule_id in sorted(rules))


def _import(path: Path) -> ModuleType:
    module_spec = importlib.util.spec_from_file_location(f"drkit_policy_rules.{path.stem}", path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"not a Python module: {path}")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def _failing_line(path: Path, error: Exception) -> Location:
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename == str(path)]
    line = getattr(error, "lineno", None) or (frames[-1].lineno if frames else 1)
    return Location(str(path), line or 1, 1)
