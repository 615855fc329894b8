"""The one bounded YAML reader: alias bombs, duplicate keys, non-text files, bounded errors."""

import time

import pytest

from neurodyn._yaml import MAX_TEXT_BYTES, parse_yaml, read_yaml
from neurodyn.errors import ConfigError
from neurodyn.runs import load_config

# The classic "billion laughs": nine levels of nine aliases each, about 1.1 KB of text.
ALIAS_BOMB = "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)


def test_an_alias_bomb_is_refused_at_once_with_one_line(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(
        "task: pdm\nmodel: {n_hidden: 8}\nextra:\n" + "  " + ALIAS_BOMB.replace("\n", "\n  ")
    )
    assert len(ALIAS_BOMB) < 1200
    start = time.perf_counter()
    with pytest.raises(ConfigError, match="alias bomb") as err:
        load_config(path)
    assert time.perf_counter() - start < 2.0
    assert "\n" not in str(err.value) and len(str(err.value)) < 300


def test_a_bomb_in_a_valid_field_is_refused_too(tmp_path):
    # the task field once built its error message from repr() of the whole expanded value
    path = tmp_path / "bomb.yaml"
    path.write_text(ALIAS_BOMB + "task: *i\n")
    with pytest.raises(ConfigError, match="alias bomb"):
        load_config(path)


def test_shared_aliases_within_the_bound_still_read():
    data = parse_yaml("base: &b {lr: 0.01, steps: 5}\nx: *b\ny: {<<: *b, steps: 7}\n", "t")
    assert data == {
        "base": {"lr": 0.01, "steps": 5},
        "x": {"lr": 0.01, "steps": 5},
        "y": {"lr": 0.01, "steps": 7},
    }


def test_a_structure_that_contains_itself_is_refused():
    with pytest.raises(ConfigError, match="contains it"):
        parse_yaml("a: &a [1, *a]\n", "t")


@pytest.mark.parametrize(
    "text, key",
    [
        ("task: pdm\ntask: flipflop\n", "'task'"),
        ("model: {n_hidden: 8, n_hidden: 9}\n", "'n_hidden'"),
    ],
)
def test_a_repeated_key_is_refused_naming_it_and_its_line(text, key):
    with pytest.raises(ConfigError, match=f"duplicate key {key} on line"):
        parse_yaml(text, "c.yaml")


@pytest.mark.parametrize(
    "raw, words",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not UTF-8"),
        ("task: d\xe9j\xe0\n".encode("latin-1"), "not UTF-8"),
        (b"task: pdm\x00\n", "NUL"),
        (b"x" * (MAX_TEXT_BYTES + 1), "over the"),
    ],
)
def test_files_that_are_not_yaml_text_are_refused_naming_the_file(tmp_path, raw, words):
    path = tmp_path / "c.yaml"
    path.write_bytes(raw)
    with pytest.raises(ConfigError, match=words) as err:
        read_yaml(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_invalid_yaml_gives_one_bounded_line():
    with pytest.raises(ConfigError, match="not valid YAML") as err:
        parse_yaml("task: [pdm\n" + "x" * 5000, "c.yaml")
    assert "\n" not in str(err.value) and len(str(err.value)) < 300


def test_a_wrong_type_message_quotes_a_bounded_excerpt(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("task: pdm\ntrain: {lr: [" + ", ".join(["1"] * 5000) + "]}\n")
    with pytest.raises(ConfigError, match=r"train.lr.*list of 5000 items") as err:
        load_config(path)
    assert len(str(err.value)) < 300


def test_invalid_yaml_says_where_in_the_files_own_terms():
    with pytest.raises(ConfigError) as err:
        parse_yaml("task: [pdm\nmodel: {n_hidden: 8}\n", "c.yaml")
    assert str(err.value) == (
        "c.yaml is not valid YAML at line 2, column 6: expected ',' or ']', but got ':' "
        "(while parsing a flow sequence at line 1, column 7)"
    )
