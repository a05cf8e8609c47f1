"""One test per class of hostile input found against `drkit validate` (issue 17): each is refused with a
located error (exit 2), judged by the rules, or resolved, never a traceback, a hang or a crash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from drkit.cli import main
from drkit.errors import InputError, Location, UnusableInputError, format_key_path
from drkit.policy.catalog import PolicySet
from drkit.spec import cron
from drkit.spec.yamlsource import LIMITS, load_located
from drkit.validate import validate_file
from tests.conftest import ROOT, STACKS, TODAY, committed_spec, patched

DEV = (STACKS / "Pulumi.dev.yaml").read_text(encoding="utf-8")


def refused(text: str) -> list[InputError]:
    with pytest.raises(UnusableInputError) as failure:
        load_located(text, "f.yaml")
    return failure.value.errors


def validated(tmp_path: Path, policies: PolicySet, text: str) -> tuple[str, list[InputError]]:
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text(text, encoding="utf-8")
    report = validate_file(path, policies, TODAY, display="f.yaml")
    return report.verdict, list(report.errors)


def spec_text(spec: dict[str, Any]) -> str:
    return yaml.safe_dump({"config": {"drkit:spec": spec}}, sort_keys=False)


def only(errors: list[InputError]) -> InputError:
    assert len(errors) == 1, [error.render() for error in errors]
    return errors[0]


# -- YAML features ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "at", "words"),
    [
        ("a: !!python/object/apply:os.system ['true']\n", (1, 4), "a Python object tag"),
        ("a: !Ref Something\n", (1, 4), "an application tag (!Ref"),
        ("%TAG !e! tag:example.com,2000:\n---\na: !e!thing 1\n", (3, 4), "%TAG directive"),
        ("a: !!int abc\n", (1, 4), "the tag !!int on 'abc', which is not an integer"),
        ("a: !!bool maybe\n", (1, 4), "which is not true or false"),
        ("a: !!float x\n", (1, 4), "which is not a number"),
        ("a: !!binary aGVsbG8=\n", (1, 4), "!!binary is not read"),
        ("a: !!map [1]\n", (1, 4), "the tag !!map on a list"),
    ],
)
def test_unsupported_tags_are_refused_where_written(text: str, at: tuple[int, int], words: str) -> None:
    error = only(refused(text))
    assert (error.location.line, error.location.column) == at
    assert words in error.message


def test_tags_that_restate_the_type_are_read() -> None:
    assert load_located("a: !!int 3\nb: !!str 3\nc: !!float 1\n", "f").data == {"a": 3, "b": "3", "c": 1.0}


def test_merge_keys_are_resolved_written_keys_winning() -> None:
    text = "base: &b {x: 1, y: 2}\nother: {z: 0}\nm:\n  <<: [*b, {x: 9, w: 3}]\n  y: 5\n"
    document = load_located(text, "f")
    assert document.data["m"] == {"y": 5, "x": 1, "w": 3}
    assert document.locate(("m", "x")) == Location("f", 1, 14)  # where the merged value was written


def test_a_merge_of_something_else_is_refused() -> None:
    assert "a merge key (<<) takes a mapping" in only(refused("m:\n  <<: [1]\n")).message


@pytest.mark.parametrize(
    ("text", "words"),
    [("a: &x [1, *x]\n", "recursive alias *x"), ("a: &x {b: *x}\n", "recursive alias *x"), ("a: *y\n", "undefined")],
)
def test_recursive_and_undefined_aliases_are_refused(text: str, words: str) -> None:
    assert words in only(refused(text)).message


def test_aliases_are_copied_with_their_locations() -> None:
    document = load_located("a: &x {b: 1}\nc: *x\n", "f")
    assert document.data == {"a": {"b": 1}, "c": {"b": 1}}
    assert document.data["a"] is not document.data["c"]
    assert document.locate(("c", "b")) == Location("f", 1, 11)


def test_an_alias_bomb_stops_at_the_node_limit_quickly() -> None:
    lines = ["a: &a [x,x,x,x,x,x,x,x,x,x]"]
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{','.join([f'*{previous}'] * 10)}]")
    error = only(refused("\n".join(lines) + "\n"))
    assert f"more than {LIMITS.max_nodes} values" in error.message
    assert 1 < error.location.line <= len(lines)


@pytest.mark.parametrize(
    "text", ["a: " + "[" * 100 + "]" * 100, "a:\n" + "".join(" " * (i + 2) + "k:\n" for i in range(100))]
)
def test_deep_nesting_stops_at_the_depth_limit(text: str) -> None:
    error = only(refused(text))
    assert f"nested more than {LIMITS.max_depth} levels deep" in error.message


def test_a_huge_integer_is_refused_not_raised() -> None:
    error = only(refused("a: " + "9" * 5000 + "\n"))
    assert error.message.startswith("a number with 5000 digits") and error.location == Location("f.yaml", 1, 4)


@pytest.mark.parametrize(
    ("text", "words", "hint"),
    [
        ("on: 1\n", "the key 'on' is read by YAML as the boolean true", "quote it: 'on'"),
        ("3: x\n", "the key 3 is read by YAML as a number", "quote it"),
        ("[a, b]: x\n", "a list used as a key", ""),
        ("? {a: 1}\n: x\n", "a mapping used as a key", ""),
        ("~: x\n", "an empty (null) key", ""),
    ],
)
def test_non_string_keys_say_what_yaml_read(text: str, words: str, hint: str) -> None:
    error = only(refused(text))
    assert words in error.message and "keys must be strings" in error.message
    assert hint in error.hint


# -- characters and locations --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "at", "name"),
    [
        ("a: b\nc: d\x00e\n", (2, 5), "U+0000 (NUL)"),
        ("a: \x1b[31m\n", (1, 4), "U+001B (ESC)"),
        ("a: b\r\nc:\x07\n", (2, 3), "U+0007 (BEL)"),
        ("a: b\u2028c\n", (1, 5), "U+2028 (LINE SEPARATOR)"),
    ],
)
def test_control_characters_are_named_where_they_are(text: str, at: tuple[int, int], name: str) -> None:
    error = refused(text)[0]
    assert (error.location.line, error.location.column) == at and name in error.message


def test_an_unclosed_quote_is_shown_where_it_opens() -> None:
    error = only(refused('a:\n  b: "open\n  c: 1\n  d: 2\n  e: 3\n'))
    assert error.location == Location("f.yaml", 2, 6)
    assert "quote is never closed" in error.message


def test_an_error_at_the_end_of_the_text_stays_inside_the_file() -> None:
    error = only(refused("a: [1,\n"))
    assert error.location.line == 1


@pytest.mark.parametrize(
    ("key", "words"),
    [("ti\u200ber", "U+200B (ZERO WIDTH SPACE), which is invisible"), ("t\u0456er", "U+0456"), ("\uff54ier", "U+FF54")],
)
def test_invisible_and_look_alike_characters_in_keys_are_named(
    tmp_path: Path, policies: PolicySet, key: str, words: str
) -> None:
    verdict, errors = validated(tmp_path, policies, DEV.replace("tier:", f"{key}:", 1))
    unknown = [error for error in errors if "unknown key" in error.message]
    assert verdict == "error" and unknown
    assert words in unknown[0].hint and "did you mean 'tier'?" in unknown[0].hint
    assert "\\u" in unknown[0].message or "\\uff" in unknown[0].message.lower()  # shown escaped


def test_a_pulumi_secret_inside_the_spec_is_named(tmp_path: Path, policies: PolicySet) -> None:
    _, errors = validated(tmp_path, policies, DEV.replace('version: "3.5.17"', "version: {secure: v1:AAAB}"))
    error = only(errors)
    assert "a Pulumi secret (secure:)" in error.message and "cannot read" in error.message
    assert format_key_path(error.key_path) == "drkit:spec.registry.version"


def test_pattern_failures_are_in_words(tmp_path: Path, policies: PolicySet) -> None:
    spec = patched(committed_spec("dev"), {"globalEndpoint": {"type": "haproxy", "healthCheck": {"path": "health"}}})
    _, errors = validated(tmp_path, policies, spec_text(spec))
    error = only(errors)
    assert "an HTTP path starting with /" in error.message and "does not match" not in error.message


# -- values the schema must stop before a rule or an estimate sees them -------------------------------------


@pytest.mark.parametrize(
    ("patch", "key", "words"),
    [
        ({"registry": {"version": "3.5.17\n"}}, "registry.version", "at its start or end"),
        ({"registry": {"version": "03.5.17"}}, "registry.version", "no leading zeros"),
        ({"registry": {"version": "99999999.0.0"}}, "registry.version", "a version like"),
        ({"registry": {"leaseTtl": "9" * 40 + "w"}}, "registry.leaseTtl", "longer than 3650d"),
        ({"registry": {"leaseTtl": "30s\n"}}, "registry.leaseTtl", "a duration like"),
        ({"registry": {"quotaBackendBytes": "99999TiB"}}, "registry.quotaBackendBytes", "larger than 1TiB"),
        ({"backups": {"schedule": "0 0 31 2 *"}}, "backups.schedule", "never fires"),
        ({"backups": {"retention": {"hourly": 10**30}}}, "backups.retention.hourly", "at most 8784"),
        (
            {"waivers": [{"rule": "DR202", "reason": "           ", "expires": "2027-01-01"}]},
            "waivers[0].reason",
            "besides spaces",
        ),
    ],
)
def test_absurd_values_are_refused_by_the_schema(
    tmp_path: Path, policies: PolicySet, patch: dict[str, Any], key: str, words: str
) -> None:
    verdict, errors = validated(tmp_path, policies, spec_text(patched(committed_spec("dev"), patch)))
    assert verdict == "error"
    matching = [e for e in errors if format_key_path(e.key_path) == f"drkit:spec.{key}" and words in e.render()]
    assert matching, [error.render() for error in errors]


def test_cron_problems_are_explained() -> None:
    assert cron.problem("0 0 31 2 *").startswith("it never fires")
    assert cron.problem("* * * *") == "it has 4 fields, not five"
    assert cron.problem("*/15 * * * *") == ""
    assert cron.problem("0 0 29 2 *") == ""  # fires in leap years


# -- checks validate does that only plan did (or nobody) ---------------------------------------------------


@pytest.mark.parametrize(
    ("patch", "key", "words"),
    [
        ({"registry": {"peerPort": 2379}}, "registry.peerPort", "is also the clientPort"),
        ({"registry": {"metricsPort": 2380}}, "registry.metricsPort", "is also the peerPort"),
        ({"registry": {"electionTimeout": "400ms"}}, "registry.electionTimeout", "less than 5 x heartbeatInterval"),
        ({"registry": {"electionTimeout": "60s"}}, "registry.electionTimeout", "above etcd's limit"),
        ({"registry": {"clientCidrs": ["10.0.0.1/16"]}}, "registry.clientCidrs[0]", "host bits are set"),
        ({"registry": {"clientCidrs": ["0.0.0.0/0"]}}, "registry.clientCidrs[0]", "whole internet"),
        ({"registry": {"clientCidrs": ["999.0.0.0/8"]}}, "registry.clientCidrs[0]", "not an IPv4 network"),
        (
            {"regions": [{"name": "us-east-1", "role": "primary", "network": {"cidr": "10.0.0.0/24"}}]},
            "regions[0].network.cidr",
            "/16 to /22",
        ),
        (
            {
                "regions": [
                    {"name": "us-east-1", "role": "primary", "network": {"cidr": "10.41.0.0/16"}},
                    {"name": "us-west-2", "role": "standby"},
                ]
            },
            "regions[1].network.cidr",
            "overlaps regions[0]",
        ),
        (
            {
                "regions": [
                    {
                        "name": "us-east-1",
                        "role": "primary",
                        "network": {"vpcId": "vpc-0abc", "subnetIds": ["subnet-0a1", "subnet-0b2"]},
                    }
                ]
            },
            "regions[0].network.subnetIds",
            "2 subnets for 3 availabilityZones",
        ),
        (
            {"recovery": {"witness": {"placement": "region", "regions": ["us-east-2"], "leaseTtl": "2500ms"}}},
            "recovery.witness.leaseTtl",
            "not a whole number of seconds: etcd grants leases in whole seconds",
        ),
        (
            {"recovery": {"witness": {"placement": "region", "regions": ["us-east-2"], "loopWait": "0s"}}},
            "recovery.witness.loopWait",
            "must be longer than 0s",
        ),
        (
            {"recovery": {"witness": {"placement": "region", "regions": ["us-east-2"], "retryTimeout": "0ms"}}},
            "recovery.witness.retryTimeout",
            "must be longer than 0s",
        ),
        (
            {
                "regions": [{"name": "us-east-1", "role": "primary", "network": {"cidr": "10.39.0.0/16"}}],
                "recovery": {"witness": {"placement": "region", "regions": ["us-east-2"]}},
            },
            "regions[0].network.cidr",
            "where drkit creates the witness VPCs",
        ),
    ],
)
def test_cross_value_checks_run_at_validate(
    tmp_path: Path, policies: PolicySet, patch: dict[str, Any], key: str, words: str
) -> None:
    verdict, errors = validated(tmp_path, policies, spec_text(patched(committed_spec("dev"), patch)))
    assert verdict == "error"
    matching = [e for e in errors if format_key_path(e.key_path) == f"drkit:spec.{key}" and words in e.message]
    assert matching, [error.render() for error in errors]
    assert all(error.location.file == "f.yaml" and error.location.line > 1 for error in matching)


# -- files and the project -------------------------------------------------------------------------------


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "Pulumi.pipe.yaml"
    os.mkfifo(fifo)
    result = CliRunner().invoke(main, ["validate", str(fifo), "--policies", str(ROOT / "policies")])
    assert result.exit_code == 2
    assert "not a regular file: this is a named pipe (FIFO)" in result.output


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "Pulumi.big.yaml"
    big.write_text("# " + "x" * LIMITS.max_bytes + "\n")
    result = CliRunner().invoke(main, ["validate", str(big), "--policies", str(ROOT / "policies")])
    assert result.exit_code == 2 and "larger than the 1024 KiB" in result.output


def test_outside_any_project_validate_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 2
    assert "no drkit project in" in result.output


def test_inside_a_project_validate_finds_it_from_the_working_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT / "stacks")
    result = CliRunner().invoke(main, ["validate", "--today", TODAY.isoformat()])
    assert result.exit_code == 0, result.output


def _console(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The installed command in a process of its own, memory capped (a crash or a blow-up shows here)."""
    limit = "import resource; resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))"
    run = f"{limit}; import sys; from drkit.cli import main; sys.argv = ['drkit', *{args!r}]; main()"
    return subprocess.run(
        [sys.executable, "-c", run],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])},
        check=False,
    )


@pytest.mark.parametrize(
    "text",
    [
        "config: " + "[" * 100_000 + "]" * 100_000 + "\n",  # once a segfault
        "config:\n  a: &a [x,x,x,x,x,x,x,x,x,x]\n"
        + "".join(f"  {n}: &{n} [{','.join([f'*{p}'] * 10)}]\n" for p, n in zip("abcdef", "bcdefg", strict=True)),
    ],
    ids=["deep-100k", "alias-bomb"],
)
def test_crashers_exit_2_in_a_process_of_their_own(tmp_path: Path, text: str) -> None:
    (tmp_path / "Pulumi.x.yaml").write_text(text)
    completed = _console(["validate", "Pulumi.x.yaml", "--policies", str(ROOT / "policies")], tmp_path)
    assert completed.returncode == 2, completed.stderr[-2000:]
    assert "Traceback" not in completed.stdout + completed.stderr
