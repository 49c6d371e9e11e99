"""The failure vocabulary: one registry, and which categories count against the candidate."""

from __future__ import annotations

import pytest

from heldout.platform.failures import CATEGORIES, COUNTED, FAILURES, get_failure


def test_architecture_categories_and_challenge_error_are_registered() -> None:
    assert set(CATEGORIES) == {
        "invalid_notebook",
        "notebook_error",
        "timeout",
        "out_of_memory",
        "invalid_predictions",
        "platform_error",
        "challenge_error",
    }


def test_only_the_candidates_own_failures_count() -> None:
    assert set(CATEGORIES) - {"platform_error", "challenge_error"} == COUNTED


def test_every_category_has_a_title_help_and_hint() -> None:
    for category, failure in FAILURES.items():
        assert failure.category == category
        assert failure.title and failure.help and failure.hint


def test_challenge_error_tells_the_candidate_it_is_not_their_code() -> None:
    text = get_failure("challenge_error").help
    assert "challenge itself" in text and "not your code" in text and "told" in text


def test_unknown_category_lists_the_valid_names() -> None:
    with pytest.raises(KeyError, match="challenge_error"):
        get_failure("nope")
