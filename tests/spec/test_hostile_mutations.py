"""Generated hostile stack files: the committed stacks, mutated, through `drkit validate`.

Every mutation (keys inserted, deleted or replaced, values of the wrong type or absurd size, YAML features
drkit refuses, control and invisible characters, truncation) must give exit 0, 1 or 2, never a traceback
or a crash reported as a bug, every error located inside the user's file, in under 2 s and 200 MB.

Memory is the peak resident size of this process during the example (Linux's VmHWM, reset before each
example through /proc/self/clear_refs), so whatever earlier tests allocated does not count; time is wall time
per example. The examples are derandomized and few, so the layer is reproducible and runs in well under a minute.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drkit.cli import main
from drkit.spec.yamlsource import line_count
from tests.conftest import ROOT, STACKS, TODAY

STACK_TEXTS = {path.name: path.read_text(encoding="utf-8") for path in sorted(STACKS.glob("Pulumi.*.yaml"))}
MAX_SECONDS = 2.0
MAX_BYTES = 200 * 1024 * 1024


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current resident size


def _peak_rss() -> int:
    status = Path("/proc/self/status").read_text()
    return next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmHWM:"))


SETTINGS = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- values a hostile or careless user writes ------------------------------------------------------------

_ODD_TEXT = st.text(
    alphabet=st.sampled_from([*"abz09 -:/.*#&!{}[]'\"", "\u200b", "\u0430", "\u00a0", "\t", "\n", "\x00"]),
    max_size=12,
)
HOSTILE_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, -1, 2379, 2380, 2381, 65536, 10**400, 10**5000]),
    st.floats(allow_nan=True, allow_infinity=True),
    _ODD_TEXT,
    st.sampled_from(
        [
            "30s\n",
            "9" * 400 + "w",
            "99999999999999999999d",
            "1e9s",
            "0ms",
            "0.0001ms",
            "3.5.17\n",
            "03.5.17",
            "99999999.0.0",
            "3.5",
            "9" * 30 + "TiB",
            "2GB",
            "0 0 31 2 *",
            "0 0 30 2 *",
            "* * * *",
            "*/0 * * * *",
            "10.0.0.1/16",
            "0.0.0.0/0",
            "999.1.1.1/8",
            "10.0.0.0/33",
            "10.40.0.0/24",
            "          ",
            "DR101",
            "2027-02-30",
            "primary",
            "standby",
            "local",
            "route53-failover",
            "haproxy",
        ]
    ),
    st.just({"secure": "v1:AAABAKx"}),
    st.lists(st.integers(min_value=0, max_value=9), max_size=3),
    st.dictionaries(st.sampled_from(["a", "type", "name", "role"]), st.integers(), max_size=2),
)
HOSTILE_KEYS = st.sampled_from(
    ["tier", "t\u0456er", "ti\u200ber", "secure", "<<", "members", "regions", "x", "clientPort", "version", "role"]
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


@st.composite
def data_mutations(draw: st.DrawFn) -> str:
    """A committed stack with one to three structural changes, written back as YAML."""
    data = yaml.safe_load(STACK_TEXTS[draw(st.sampled_from(sorted(STACK_TEXTS)))])
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(_paths(data)[1:]))
        parent = _parent(data, path)
        action = draw(st.sampled_from(["replace", "replace", "delete", "insert", "wrap"]))
        if action == "replace":
            parent[path[-1]] = draw(HOSTILE_VALUES)
        elif action == "delete":
            del parent[path[-1]]
        elif action == "wrap":
            parent[path[-1]] = [parent[path[-1]]] if draw(st.booleans()) else {"value": parent[path[-1]]}
        else:
            target = parent[path[-1]]
            if isinstance(target, dict):
                target[draw(HOSTILE_KEYS)] = draw(HOSTILE_VALUES)
            elif isinstance(target, list):
                target.append(draw(HOSTILE_VALUES))
        if not _paths(data)[1:]:
            break
    # A drawn 10**5000 is hostile input for the reader; PyYAML's dumper would trip on Python's limit on
    # int-to-text conversion (4300 digits) before the reader ever saw it, so the limit is lifted to write it.
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)
    finally:
        sys.set_int_max_str_digits(limit)


# Raw YAML a user pastes or a generator emits: features drkit refuses or resolves, broken syntax.
SNIPPETS = [
    "!!python/object/apply:os.system ['true']",
    "!Ref Something",
    "!!int abc",
    "!!bool maybe",
    "!!float x",
    "!!str 3",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "&anchor",
    "*undefined",
    "&loop [*loop]",
    "[" * 5000,
    "{a: " * 300,
    "9" * 5000,
    '"never closed',
    "'never closed",
    "\x00",
    "\x1b[31m",
    "\u200b",
    "\u2028",
    "\t",
    "? [a, b]",
    "---",
    "...",
    "@",
    "`",
    "%",
]
LINES = [
    "<<: *undefined",
    "<<: {tier: standard}",
    "<<: [1, 2]",
    "on: yes",
    "3: x",
    "~: x",
    "? [a, b]\n  : c",
    "x: &a [1, 2]\ny: *a",
    "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]",
    "secure: v1:AAAB",
    "clientPort: 2380",
    "electionTimeout: 10ms",
    "heartbeatInterval: 1s",
]


@st.composite
def text_mutations(draw: st.DrawFn) -> str:
    """A committed stack's text with YAML features, characters or truncation injected at some place."""
    text = STACK_TEXTS[draw(st.sampled_from(sorted(STACK_TEXTS)))]
    lines = text.splitlines(keepends=True)
    action = draw(st.sampled_from(["snippet", "snippet", "line", "line", "truncate", "directive", "drop"]))
    index = draw(st.integers(min_value=0, max_value=len(lines) - 1))
    line = lines[index]
    if action == "truncate":
        return text[: draw(st.integers(min_value=0, max_value=len(text)))]
    if action == "directive":
        return "%TAG ! tag:example.com,2000:\n---\n" + text
    if action == "drop":
        return "".join(lines[:index] + lines[index + 1 :])
    if action == "line":
        indent = line[: len(line) - len(line.lstrip(" "))]
        block = "".join(f"{indent}{part}\n" for part in draw(st.sampled_from(LINES)).split("\n"))
        return "".join([*lines[:index], block, *lines[index:]])
    snippet = draw(st.sampled_from(SNIPPETS))
    column = draw(st.integers(min_value=0, max_value=max(0, len(line.rstrip("\n")))))
    lines[index] = line[:column] + snippet + line[column:]
    return "".join(lines)


# -- the check ---------------------------------------------------------------------------------------


def check_validate(tmp_path: Path, text: str) -> None:
    path = tmp_path / "Pulumi.mutant.yaml"
    path.write_text(text, encoding="utf-8")
    args = ["validate", str(path), "--policies", str(ROOT / "policies"), "--today", TODAY.isoformat()]
    _reset_peak()
    before = _peak_rss()
    started = time.perf_counter()
    result = CliRunner().invoke(main, [*args, "--format", "json"])
    elapsed = time.perf_counter() - started
    grown = _peak_rss() - before
    shown = f"\n--- input ---\n{text[:2000]!r}\n--- output ---\n{result.output[:4000]}"
    assert result.exception is None or isinstance(result.exception, SystemExit), f"raised {result.exception!r}{shown}"
    assert result.exit_code in (0, 1, 2), f"exit {result.exit_code}{shown}"
    assert "Traceback" not in result.output, shown
    assert elapsed < MAX_SECONDS, f"took {elapsed:.2f}s{shown}"
    assert grown < MAX_BYTES, f"peak memory grew by {grown / 1e6:.0f} MB{shown}"
    report = json.loads(result.output)
    assert report["exitCode"] == result.exit_code, shown
    lines = line_count(text)
    for stack in report["stacks"]:
        places = [*stack["errors"]]
        places += [finding for rule in stack["rules"] for finding in rule["findings"]]
        for place in places:
            assert place["file"] == str(path), f"located outside the file: {place}{shown}"
            assert 1 <= place["line"] <= lines and place["column"] >= 1, f"located past the end: {place}{shown}"
        for error in stack["errors"]:
            assert "a bug in" not in error["message"], f"a crash, reported: {error}{shown}"
            assert "does not match" not in error["message"], f"raw jsonschema wording: {error}{shown}"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mutants")


@SETTINGS
@given(text=data_mutations())
def test_structural_mutations_are_judged_or_refused_in_place(scratch: Path, text: str) -> None:
    check_validate(scratch, text)


@SETTINGS
@given(text=text_mutations())
def test_textual_mutations_are_judged_or_refused_in_place(scratch: Path, text: str) -> None:
    check_validate(scratch, text)


@pytest.mark.parametrize("name", sorted(STACK_TEXTS))
def test_committed_stacks_pass_the_same_check(tmp_path: Path, name: str) -> None:
    check_validate(tmp_path, STACK_TEXTS[name])
