"""YAML is read into plain data with the line and column of every key and value."""

from __future__ import annotations

import pytest

from drkit.errors import Location, UnusableInputError
from drkit.spec.yamlsource import load_located

TEXT = """\
config:
  drkit:spec:
    tier: critical
    regions:
      - {name: us-east-1, role: primary}
      - name: us-west-2
        role: standby
    waivers:
      - {rule: DR102, expires: 2027-05-31}
"""


def test_values_and_keys_are_located() -> None:
    document = load_located(TEXT, "f.yaml")
    spec = ("config", "drkit:spec")
    assert document.locate((*spec, "tier")) == Location("f.yaml", 3, 11)
    assert document.locate((*spec, "tier"), prefer_key=True) == Location("f.yaml", 3, 5)
    assert document.locate((*spec, "regions", 1, "role")) == Location("f.yaml", 7, 15)
    assert document.locate((*spec, "regions", 0, "name")) == Location("f.yaml", 5, 16)


def test_missing_paths_fall_back_to_the_nearest_ancestor() -> None:
    document = load_located(TEXT, "f.yaml")
    assert document.locate(("config", "drkit:spec", "regions", 1, "members")) == Location("f.yaml", 6, 9)


def test_dates_stay_text() -> None:
    document = load_located(TEXT, "f.yaml")
    assert document.data["config"]["drkit:spec"]["waivers"][0]["expires"] == "2027-05-31"


def test_duplicate_keys_are_errors_naming_both_lines() -> None:
    with pytest.raises(UnusableInputError) as failure:
        load_located("a: 1\nb: 2\na: 3\n", "f.yaml")
    (error,) = failure.value.errors
    assert error.location == Location("f.yaml", 3, 1)
    assert "duplicate key 'a' (first written at line 1)" in error.message


def test_broken_yaml_names_line_and_column() -> None:
    with pytest.raises(UnusableInputError) as failure:
        load_located("config:\n  a: b\n c: d\n", "f.yaml")
    (error,) = failure.value.errors
    assert error.location == Location("f.yaml", 3, 2)
    assert error.message.startswith("broken YAML: while parsing a block mapping, did not find expected key")


def test_an_unclosed_bracket_is_shown_where_it_opens() -> None:
    with pytest.raises(UnusableInputError) as failure:
        load_located("config:\n  a: [1, 2\n  b: 3\n", "f.yaml")
    (error,) = failure.value.errors
    assert error.location == Location("f.yaml", 2, 6)
    assert "this '[' is never closed" in error.message


def test_a_tab_is_named() -> None:
    with pytest.raises(UnusableInputError) as failure:
        load_located("config:\n\ta: 1\n", "f.yaml")
    assert "a tab character" in failure.value.errors[0].message


def test_non_string_keys_are_errors() -> None:
    with pytest.raises(UnusableInputError) as failure:
        load_located("3: x\n", "f.yaml")
    assert "keys must be strings" in failure.value.errors[0].message


@pytest.mark.parametrize("text", ["", "# only a comment\n"])
def test_empty_documents_are_errors(text: str) -> None:
    with pytest.raises(UnusableInputError, match="empty"):
        load_located(text, "f.yaml")
