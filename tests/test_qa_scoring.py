"""Scorecards: reading a form's definition and computing scores (pure, no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from qa.scoring import (
    SCALE,
    YES_NO,
    CriterionSpec,
    DefinitionError,
    compute_score,
    parse_definition,
    valid_answer,
)

DEFINITION = """
# Abertura
Saudou com o nome da empresa | 2 | sim/não
! Confirmou a identidade | 3 | sim/não

# Atendimento
Cordialidade | peso 1 | 0-10
"""


def test_definition_reads_sections_weights_types_and_critical_marks() -> None:
    sections = parse_definition(DEFINITION)
    assert [s.title for s in sections] == ["Abertura", "Atendimento"]
    assert sections[0].criteria == [
        CriterionSpec("Saudou com o nome da empresa", 2, YES_NO, critical=False),
        CriterionSpec("Confirmou a identidade", 3, YES_NO, critical=True),
    ]
    assert sections[1].criteria == [CriterionSpec("Cordialidade", 1, SCALE)]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("# A\nSaudou | 2", "linha 2"),
        ("# A\nSaudou | zero | sim/não", "linha 2"),
        ("Saudou | 0 | sim/não", "linha 1"),
        ("Saudou | 101 | sim/não", "linha 1"),
        ("Saudou | ² | sim/não", "linha 1"),
        ("# A\n\nSaudou | 1 | talvez", "linha 3"),
        ("! Cordialidade | 1 | 0-10", "linha 1"),  # only yes/no can be critical
        ("#\nSaudou | 1 | sim/não", "linha 1"),
    ],
)
def test_a_bad_definition_names_its_line(text: str, line: str) -> None:
    with pytest.raises(DefinitionError, match=line):
        parse_definition(text)


def test_a_definition_without_criteria_is_refused() -> None:
    with pytest.raises(DefinitionError):
        parse_definition("# Só uma seção\n")


def test_criteria_before_any_section_go_to_a_general_one() -> None:
    assert parse_definition("Saudou | 1 | sim/não")[0].title == "Geral"


GREETED = CriterionSpec("Saudou", 2, YES_NO)
IDENTIFIED = CriterionSpec("Confirmou a identidade", 3, YES_NO, critical=True)
KIND = CriterionSpec("Cordialidade", 1, SCALE)
SOLVED = CriterionSpec("Resolveu", 4, YES_NO)


def test_score_is_the_weighted_share_of_points() -> None:
    # 2 (yes) + 3 (yes) + 0.7 * 1 + 0 (no) over 2 + 3 + 1 + 4 = 5.7 / 10
    score = compute_score([(GREETED, "yes"), (IDENTIFIED, "yes"), (KIND, "7"), (SOLVED, "no")])
    assert score.value == Decimal("57.00")
    assert not score.critical_failed


def test_not_applicable_leaves_the_criterion_out_of_both_sides() -> None:
    score = compute_score([(GREETED, "yes"), (IDENTIFIED, "yes"), (SOLVED, "na")])
    assert score.value == Decimal("100.00")
    score = compute_score([(GREETED, "na"), (IDENTIFIED, "yes"), (SOLVED, "no")])
    assert score.value == Decimal("42.86")  # 3 / 7, rounded half up


def test_failing_a_critical_criterion_zeroes_the_score() -> None:
    score = compute_score([(GREETED, "yes"), (IDENTIFIED, "no"), (KIND, "10"), (SOLVED, "yes")])
    assert score.value == Decimal("0.00")
    assert score.critical_failed


def test_a_critical_criterion_answered_not_applicable_does_not_fail() -> None:
    score = compute_score([(GREETED, "yes"), (IDENTIFIED, "na")])
    assert score.value == Decimal("100.00")
    assert not score.critical_failed


def test_every_answer_not_applicable_gives_no_score() -> None:
    score = compute_score([(GREETED, "na"), (SOLVED, "na")])
    assert score.value is None
    assert not score.critical_failed


def test_scale_answers_are_worth_their_tenth_of_the_weight() -> None:
    assert compute_score([(KIND, "0")]).value == Decimal("0.00")
    assert compute_score([(KIND, "10")]).value == Decimal("100.00")
    assert compute_score([(KIND, "3")]).value == Decimal("30.00")


@pytest.mark.parametrize(
    ("kind", "value", "ok"),
    [
        (YES_NO, "yes", True),
        (YES_NO, "na", True),
        (YES_NO, "7", False),
        (SCALE, "10", True),
        (SCALE, "11", False),
        (SCALE, "na", False),
        (SCALE, "³", False),
        (SCALE, "-1", False),
    ],
)
def test_answers_are_checked_against_their_type(kind: str, value: str, ok: bool) -> None:
    assert valid_answer(kind, value) is ok
