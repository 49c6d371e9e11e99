"""challenge.toml: precise, located errors for every kind of mistake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from heldout.challenges import ChallengeError, load_spec
from heldout.challenges.errors import SpecError
from heldout.challenges.rubric import DEFAULT_RUBRIC
from tests.challenges.conftest import Kit


def error_of(kit: Kit, **replace: str) -> SpecError:
    with pytest.raises(SpecError) as caught:
        load_spec(kit(replace=replace))
    return caught.value


def test_valid_kit_loads_with_every_part(kit: Kit) -> None:
    spec = load_spec(kit())
    assert spec.slug == "people" and spec.brief.startswith("# People")
    assert spec.data.id == "customer_id" and spec.data.target == "churned"
    assert spec.split.test_fraction == 0.3 and spec.split.stratify and spec.split.seed == 7
    assert spec.metric.name == "f1" and spec.metric.params == {}
    zip_rule = spec.rule_for("zip")
    assert zip_rule is not None and zip_rule.params == {"truncate": 3}
    assert spec.privacy.quasi_identifiers == ("age", "zip", "gender") and spec.privacy.suppress
    assert spec.limits.timeout_s == 600 and spec.limits.submissions == 5
    assert spec.rubric == DEFAULT_RUBRIC and spec.rubric.criteria[0]["weight"] == 2
    assert len(spec.rubric.red_flags) == 4
    assert json.loads(json.dumps(spec.to_dict()))["columns"]["age"] == {"bins": [18, 35, 50, 120]}


def test_kit_dir_or_toml_path_both_work(kit: Kit) -> None:
    root = kit()
    assert load_spec(root / "challenge.toml") == load_spec(root)


def test_unknown_key_is_named_with_its_line(kit: Kit) -> None:
    error = error_of(kit, **{"seed = 7": "seed = 7\nsede = 8"})
    assert "unknown key 'sede' in [split]" in str(error)
    assert error.line == 13 and "challenge.toml:13:" in str(error)


def test_unknown_top_level_key(kit: Kit) -> None:
    error = error_of(kit, **{'title = "People"': 'title = "People"\ndescription = "x"'})
    assert "unknown key 'description' in the top level" in str(error) and error.line == 3


def test_wrong_type_names_the_key_and_the_value(kit: Kit) -> None:
    error = error_of(kit, **{"test_fraction = 0.3": 'test_fraction = "0.3"'})
    assert "[split] test_fraction must be a whole number or a number, got '0.3'" in str(error)
    assert error.line == 9


def test_bool_is_not_a_number(kit: Kit) -> None:
    assert "k must be a whole number" in str(error_of(kit, **{"k = 5": "k = true"}))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("test_fraction = 0.3", "test_fraction = 1.5", "test_fraction must be between 0 and 1"),
        ("test_fraction = 0.3", "test_fraction = 0", "test_fraction must be between 0 and 1"),
        ("private_fraction = 0.5", "private_fraction = 1", "private_fraction must be at least 0"),
        ("k = 5", "k = 0", "k must be at least 1"),
    ],
)
def test_fractions_and_k_out_of_range(kit: Kit, old: str, new: str, message: str) -> None:
    assert message in str(error_of(kit, **{old: new}))


def test_missing_source_file(kit: Kit) -> None:
    error = error_of(kit, **{"data/people.csv": "data/nope.csv"})
    assert "source file 'data/nope.csv' does not exist" in str(error) and error.line == 5


def test_source_outside_the_kit_is_refused(kit: Kit) -> None:
    assert "inside the kit" in str(error_of(kit, **{"data/people.csv": "../../etc/passwd"}))


@pytest.mark.parametrize("key", ["id", "target"])
def test_id_or_target_column_absent(kit: Kit, key: str) -> None:
    old = {"id": 'id = "customer_id"', "target": 'target = "churned"'}[key]
    error = error_of(kit, **{old: f'{key} = "missing_col"'})
    assert f"[data] {key} column 'missing_col' is not in people.csv" in str(error)
    assert "its columns are: customer_id, name" in str(error)


def test_unknown_metric_lists_the_registry(kit: Kit) -> None:
    error = error_of(kit, **{'name = "f1"': 'name = "f2"'})
    assert "unknown metric 'f2'; valid metrics:" in str(error) and "rmse" in str(error)
    assert error.line == 14


def test_metric_params_are_checked_by_the_grader(kit: Kit) -> None:
    error = error_of(kit, **{'name = "f1"': 'name = "f1"\nparams = { nope = 1 }'})
    assert "[metric] params" in str(error)


def test_rule_for_a_column_that_does_not_exist(kit: Kit) -> None:
    error = error_of(kit, **{'name = "drop"': 'nmae = "drop"'})
    assert "[columns] has a rule for 'nmae', which is not a column of people.csv" in str(error)
    assert error.line == 17


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ('"hash"', "unknown rule 'hash'; valid rules: drop, keep, pseudonymize"),
        ("{ bins = [3, 2] }", "bin edges must increase strictly"),
        ('{ noise = "uniform", scale = 1 }', "noise must be one of laplace, gaussian"),
        ('{ noise = "laplace" }', "noise needs a scale"),
        ("{ truncate = 0 }", "truncate must keep at least 1 character"),
        ("{ shift_days = -3 }", "shift_days must be a positive whole number"),
        ('{ mask = ["shoe_size"] }', "unknown mask kind 'shoe_size'"),
        ("{ bins = [1, 2], colour = 1 }", "unknown parameter 'colour' for bins"),
        ('"bins"', "bins needs parameters"),
    ],
)
def test_bad_rules_say_what_is_wrong(kit: Kit, rule: str, message: str) -> None:
    error = error_of(kit, **{"age = { bins = [18, 35, 50, 120] }": f"age = {rule}"})
    assert message in str(error) and "[columns] age" in str(error)


def test_id_column_cannot_be_dropped(kit: Kit) -> None:
    error = error_of(kit, **{'customer_id = "pseudonymize"': 'customer_id = "drop"'})
    assert "customer_id is the [data] id column and cannot be dropped" in str(error)


def test_quasi_identifier_must_exist_and_be_shipped(kit: Kit) -> None:
    assert "quasi-identifier 'height' is not a column" in str(
        error_of(kit, **{'"gender"]': '"height"]'})
    )
    assert "quasi-identifier 'name' is dropped" in str(error_of(kit, **{'"gender"]': '"name"]'}))


def test_toml_syntax_error_has_a_line(kit: Kit) -> None:
    error = error_of(kit, **{"seed = 7": "seed = = 7"})
    assert "not valid TOML" in str(error) and error.line == 12


def test_bad_slug(kit: Kit) -> None:
    assert "lower-case letters" in str(error_of(kit, **{'slug = "people"': 'slug = "Pe ople"'}))


def test_rubric_criteria_are_parsed_and_checked(kit: Kit) -> None:
    rubric = (
        '\n[rubric]\ncriteria = [{ name = "Method", weight = 2, anchors = ["1: x", "5: y"] }]\n'
        'red_flags = ["no validation"]\n'
    )
    root = kit()
    toml = root / "challenge.toml"
    toml.write_text(toml.read_text() + rubric)
    spec = load_spec(root)
    assert spec.rubric.criteria[0].name == "Method"
    assert spec.rubric.criteria[0]["anchors"] == ["1: x", "5: y"]
    assert spec.rubric.red_flags == ("no validation",)
    toml.write_text(toml.read_text().replace("weight = 2", "weight = -1"))
    with pytest.raises(SpecError, match="weight must be a positive number"):
        load_spec(root)


def test_no_challenge_toml(tmp_path: Path) -> None:
    with pytest.raises(ChallengeError, match=r"no challenge\.toml"):
        load_spec(tmp_path)


def test_scaffolded_kit_has_default_rubric_and_builds_once_data_is_there(tmp_path: Path) -> None:
    import pandas as pd

    from heldout.challenges import build
    from heldout.challenges.scaffold import scaffold

    root = tmp_path / "My Kit"
    scaffold(root)
    with pytest.raises(SpecError, match=r"data/source\.csv"):
        load_spec(root)
    frame = pd.DataFrame({"id": range(60), "x": range(60), "target": [0, 1] * 30})
    frame.to_csv(root / "data" / "source.csv", index=False)
    spec = load_spec(root)
    assert spec.slug == "my-kit"
    names = [c.name for c in spec.rubric.criteria]
    assert names[0] == "Problem framing and business grounding" and len(names) == 6
    assert all(len(c.anchors) == 3 for c in spec.rubric.criteria)
    assert "Ignores data quality" in spec.rubric.red_flags
    assert build(spec, "s", tmp_path / "out").report["rows"]["train"] == 42
    with pytest.raises(ChallengeError, match="already exists"):
        scaffold(root)


def test_symlinked_brief_is_refused(kit: Kit, tmp_path: Path) -> None:
    root = kit()
    secret = tmp_path / "environ"
    secret.write_text("HELDOUT_SECRET_KEY=leaked\n")
    (root / "brief.md").unlink()
    (root / "brief.md").symlink_to(secret)
    with pytest.raises(SpecError, match=r"brief 'brief\.md' is a symbolic link"):
        load_spec(root)


def test_symlink_to_proc_environ_as_brief_is_refused(kit: Kit) -> None:
    root = kit()
    (root / "brief.md").unlink()
    (root / "brief.md").symlink_to("/proc/self/environ")
    with pytest.raises(SpecError, match="symbolic link"):
        load_spec(root)


def test_brief_inside_a_linked_folder_is_refused(kit: Kit, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "brief.md").write_text("# Elsewhere\n")
    root = kit(replace={'brief = "brief.md"': 'brief = "docs/brief.md"'})
    (root / "docs").symlink_to(outside)
    with pytest.raises(SpecError, match="symbolic link"):
        load_spec(root)


def test_symlinked_starter_is_refused(kit: Kit, tmp_path: Path) -> None:
    notebook = tmp_path / "real.ipynb"
    notebook.write_text(json.dumps({"cells": [], "nbformat": 4, "nbformat_minor": 5}))
    root = kit(replace={'brief = "brief.md"': 'brief = "brief.md"\nstarter = "starter.ipynb"'})
    (root / "starter.ipynb").symlink_to(notebook)
    with pytest.raises(SpecError, match=r"starter 'starter\.ipynb' is a symbolic link"):
        load_spec(root)


def test_data_source_may_link_to_a_regular_file_elsewhere(kit: Kit, tmp_path: Path) -> None:
    root = kit()
    kept = tmp_path / "kept-out-of-git.csv"
    (root / "data" / "people.csv").rename(kept)
    (root / "data" / "people.csv").symlink_to(kept)
    assert load_spec(root).data.source.name == "people.csv"


def test_attempts_default_to_three_runs_per_scored_submission(kit: Kit) -> None:
    spec = load_spec(kit())
    assert spec.limits.attempts == 3 * spec.limits.submissions
    assert spec.to_dict()["limits"]["attempts"] == 15


def test_attempts_below_submissions_are_refused_with_the_reason(kit: Kit) -> None:
    root = kit()
    toml = root / "challenge.toml"
    toml.write_text(toml.read_text() + "\n[limits]\nsubmissions = 4\nattempts = 2\n")
    with pytest.raises(SpecError, match=r"attempts \(2\) must be at least submissions \(4\)"):
        load_spec(root)


def test_stored_specs_from_before_attempts_get_the_default() -> None:
    from heldout.challenges.limits import LimitsSpec

    assert LimitsSpec.from_stored({"submissions": 2}).attempts == 6
    assert LimitsSpec.from_stored(None) == LimitsSpec()
