"""The corpus of invalid stack files in tests/spec/invalid/: each one holds one mistake a user makes.

Every file starts with comment lines stating what `drkit validate` must say about it:

    # expect-exit: 2                           2: unusable input; 1: a rule violation
    # expect-at: 12:16                         line:column the error points at (required for exit 2)
    # expect-key: drkit:spec.registry.members  the key path named in the error (omitted when it has none)
    # expect-message: expected an integer      a substring of the rendered error (for exit 1: the rule ID)
    # expect-not-message: did you mean 'x'     optional: a substring that same error must not contain
    # expect-xfail: why                        optional: drkit does not do this right yet (strict xfail)

For exit 2 one error must match the location, key path and message together. For exit 1 the rule must
fail, and when expect-at is given one of its findings must point there.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from drkit.errors import InputError, format_key_path
from drkit.policy.catalog import PolicySet
from drkit.validate import StackReport, validate_file
from tests.conftest import ROOT, TODAY

CORPUS = Path(__file__).resolve().parent / "invalid"
_HEADER_PREFIX = "# expect-"
_KNOWN_FIELDS = {"exit", "at", "key", "message", "not-message", "xfail"}


@dataclass(frozen=True)
class Expectation:
    exit: int
    message: str
    at: tuple[int, int] | None = None
    key: str | None = None
    not_message: str | None = None
    xfail: str | None = None


def read_expectation(path: Path) -> Expectation:
    """The expect-* header of a corpus file (read as bytes: one case is deliberately not UTF-8)."""
    fields: dict[str, str] = {}
    for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
        if not line.startswith("#"):
            break
        if not line.startswith(_HEADER_PREFIX):
            continue
        name, sep, value = line.removeprefix(_HEADER_PREFIX).partition(":")
        assert sep, f"{path.name}: header line without a colon: {line!r}"
        assert name in _KNOWN_FIELDS, f"{path.name}: unknown header field expect-{name}"
        assert name not in fields, f"{path.name}: expect-{name} given twice"
        fields[name] = value.strip()
    assert "exit" in fields, f"{path.name}: no '# expect-exit:' line"
    assert "message" in fields, f"{path.name}: no '# expect-message:' line"
    exit_code = int(fields["exit"])
    assert exit_code in (1, 2), f"{path.name}: expect-exit must be 1 or 2"
    at = None
    if "at" in fields:
        line_text, _, column_text = fields["at"].partition(":")
        at = (int(line_text), int(column_text))
    assert at is not None or exit_code == 1, f"{path.name}: exit 2 cases need '# expect-at: LINE:COLUMN'"
    return Expectation(
        exit=exit_code,
        message=fields["message"],
        at=at,
        key=fields.get("key"),
        not_message=fields.get("not-message"),
        xfail=fields.get("xfail"),
    )


def corpus_files() -> list[Path]:
    return sorted(path for path in CORPUS.iterdir() if path.is_file())


def _cases() -> list[object]:
    cases: list[object] = []
    for path in corpus_files():
        expectation = read_expectation(path)
        marks = [pytest.mark.xfail(reason=expectation.xfail, strict=True)] if expectation.xfail else []
        cases.append(pytest.param(path, expectation, marks=marks, id=path.name))
    return cases


@pytest.mark.parametrize(("path", "expected"), _cases())
def test_invalid_stack_file(path: Path, expected: Expectation, policies: PolicySet) -> None:
    report = validate_file(path, policies, TODAY)
    if expected.exit == 2:
        _assert_unusable(report.verdict, report.errors, expected)
    else:
        _assert_violation(report, expected)


def _assert_unusable(verdict: str, errors: tuple[InputError, ...], expected: Expectation) -> None:
    shown = "\n".join(error.render() for error in errors) or "(no errors)"
    assert verdict == "error", f"expected unusable input, got verdict {verdict}:\n{shown}"
    matching = [
        error
        for error in errors
        if (error.location.line, error.location.column) == expected.at
        and (expected.key is None or format_key_path(error.key_path) == expected.key)
        and expected.message in _words(error)
        and (expected.not_message is None or expected.not_message not in _words(error))
    ]
    want = f"at {expected.at}, key {expected.key or '(any)'}, message containing {expected.message!r}"
    if expected.not_message:
        want += f" but not {expected.not_message!r}"
    assert matching, f"no error {want}; drkit said:\n{shown}"


def _words(error: InputError) -> str:
    """The rendered error without its file:line:col prefix, so a file name never matches a message."""
    return error.render().removeprefix(str(error.location))


def _assert_violation(report: StackReport, expected: Expectation) -> None:
    shown = "\n".join(error.render() for error in report.errors)
    assert report.verdict == "fail", f"expected a rule violation, got verdict {report.verdict}\n{shown}"
    failed = {result.rule.id: result for result in report.results if result.status == "fail"}
    assert expected.message in failed, f"{expected.message} did not fail; failed: {sorted(failed)}"
    if expected.at is not None:
        places = [(f.location.line, f.location.column) for f in failed[expected.message].findings]
        assert expected.at in places, f"{expected.message} findings are at {places}, expected {expected.at}"


def test_corpus_is_large_enough() -> None:
    assert len(corpus_files()) >= 30


def test_console_script_over_the_corpus() -> None:
    """The installed `drkit` command over the whole directory: exit 2, and no crash on any file."""
    drkit = Path(sys.executable).with_name("drkit")
    assert drkit.exists(), f"no drkit console script next to {sys.executable}"
    # The directory argument picks up Pulumi.*.yaml; the badly named files are passed by name.
    odd_names = [str(path) for path in corpus_files() if not path.match("Pulumi.*.yaml")]
    completed = subprocess.run(
        [
            str(drkit),
            "validate",
            str(CORPUS),
            *odd_names,
            "--policies",
            str(ROOT / "policies"),
            "--today",
            TODAY.isoformat(),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in completed.stdout
    assert "Traceback" not in completed.stderr
    assert completed.returncode == 2, completed.stdout + completed.stderr
    for path in corpus_files():
        assert path.name in completed.stdout, f"{path.name} is missing from the output"
