"""Pure rules of scorecards: reading a form's definition and computing a score. No I/O.

A form is written as text, one line per criterion, sections opened by ``#``::

    # Abertura
    Saudou com o nome da empresa | 2 | sim/não
    ! Confirmou os dados do cliente | 3 | sim/não
    # Atendimento
    Cordialidade | 1 | 0-10

Each criterion line is ``text | weight | answer type``; a leading ``!`` marks it critical
(answering "no" zeroes the whole score). Only yes/no criteria can be critical: a 0–10 answer
has no single "failed" value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

YES, NO, NOT_APPLICABLE = "yes", "no", "na"
YES_NO, SCALE = "yes_no", "scale"
MAX_WEIGHT = 100
_KINDS = {
    "sim/não": YES_NO,
    "sim/nao": YES_NO,
    "yes/no": YES_NO,
    "0-10": SCALE,
    "0–10": SCALE,
}


class DefinitionError(ValueError):
    """A definition that cannot be read; the message names the line."""


@dataclass(frozen=True)
class CriterionSpec:
    text: str
    weight: int
    kind: str
    critical: bool = False


@dataclass(frozen=True)
class SectionSpec:
    title: str
    criteria: list[CriterionSpec] = field(default_factory=list)


def parse_definition(text: str) -> list[SectionSpec]:
    """The sections and criteria of a form's text; DefinitionError naming the first bad line."""
    sections: list[SectionSpec] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            title = line.lstrip("#").strip()
            if not title:
                raise DefinitionError(
                    _("linha %(n)d: a seção precisa de um título.") % {"n": number}
                )
            sections.append(SectionSpec(title[:120]))
            continue
        critical = line.startswith("!")
        parts = [p.strip() for p in line.lstrip("!").split("|")]
        if len(parts) != 3 or not parts[0]:
            raise DefinitionError(
                _("linha %(n)d: escreva “critério | peso | sim/não” ou “critério | peso | 0-10”.")
                % {"n": number}
            )
        label, weight_text, kind_text = parts
        weight_text = weight_text.lower().removeprefix("peso").strip()
        if not (weight_text.isascii() and weight_text.isdigit()) or not (
            1 <= int(weight_text) <= MAX_WEIGHT
        ):
            raise DefinitionError(
                _("linha %(n)d: o peso é um número inteiro de 1 a %(max)d.")
                % {"n": number, "max": MAX_WEIGHT}
            )
        kind = _KINDS.get(kind_text.lower().replace(" ", ""))
        if kind is None:
            raise DefinitionError(
                _("linha %(n)d: o tipo de resposta é “sim/não” ou “0-10”.") % {"n": number}
            )
        if critical and kind != YES_NO:
            raise DefinitionError(
                _("linha %(n)d: só critérios sim/não podem ser críticos.") % {"n": number}
            )
        if not sections:
            sections.append(SectionSpec(_("Geral")))
        sections[-1].criteria.append(
            CriterionSpec(label[:200], int(weight_text), kind, critical=critical)
        )
    if not any(s.criteria for s in sections):
        raise DefinitionError(_("o formulário precisa de pelo menos um critério."))
    return [s for s in sections if s.criteria]


def valid_answer(kind: str, value: str) -> bool:
    if kind == YES_NO:
        return value in (YES, NO, NOT_APPLICABLE)
    return value.isascii() and value.isdigit() and 0 <= int(value) <= 10


@dataclass(frozen=True)
class Score:
    value: Decimal | None  # 0–100; None when every criterion was "not applicable"
    critical_failed: bool


def compute_score(criteria: list[tuple[CriterionSpec, str]]) -> Score:
    """The score of complete answers: the weighted share of points, 0–100.

    "yes" is worth the criterion's whole weight, "no" nothing, a 0–10 answer its tenth of the
    weight; "not applicable" leaves the criterion out of both sides. A critical criterion
    answered "no" makes the score 0 whatever the rest says.
    """
    earned = Decimal(0)
    possible = Decimal(0)
    failed = False
    for spec, value in criteria:
        if spec.kind == YES_NO:
            if value == NOT_APPLICABLE:
                continue
            if value == NO and spec.critical:
                failed = True
            points = Decimal(1 if value == YES else 0)
        else:
            points = Decimal(int(value)) / 10
        earned += points * spec.weight
        possible += spec.weight
    if failed:
        return Score(Decimal("0.00"), True)
    if not possible:
        return Score(None, False)
    share = (earned * 100 / possible).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return Score(share, False)
