"""The QA part of the demo seed: a published sample form and a queue assigned to ``qa``."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model

from qa import services
from qa.models import ReviewQueue, ScoreForm

SAMPLE_FORM = "Atendimento padrão (exemplo)"
SAMPLE_QUEUE = "Amostra de demonstração"
SAMPLE_DEFINITION = """# Abertura
Saudou com o nome da empresa e o próprio nome | 2 | sim/não
! Confirmou a identidade do cliente | 3 | sim/não
# Atendimento
Entendeu o motivo do contato | 3 | sim/não
Ofereceu a solução adequada | 3 | sim/não
Cordialidade e tom de voz | 2 | 0-10
# Encerramento
Resumiu o que foi combinado | 1 | sim/não
Ofereceu mais ajuda antes de encerrar | 1 | sim/não
"""


def seed_qa_demo() -> str:
    """Idempotent: the form and the queue are made once, by ``coord``."""
    users = get_user_model().objects
    coord, reviewer = users.get(username="coord"), users.get(username="qa")
    form = ScoreForm.objects.filter(name=SAMPLE_FORM).first()
    if form is None:
        form = services.form_create(
            request=None, actor=coord, name=SAMPLE_FORM, definition=SAMPLE_DEFINITION
        )
        services.form_publish(request=None, actor=coord, form=form)
    if ReviewQueue.objects.filter(name=SAMPLE_QUEUE).exists():
        return "kept the sample form and queue"
    # The simulator's demo data is deterministic: its newest short calls, known without
    # asking it (the seed runs before it starts).
    from vonosim.data import SAO_PAULO, generate

    calls = [
        services.SampledCall(
            r.record_id,
            r.customer_id,
            services.extension_of(r.source, r.destination),
            r.calldate.replace(tzinfo=SAO_PAULO),
        )
        for r in reversed(generate())
        if 20 <= r.duration <= 240
    ][:6]
    services.queue_create(
        request=None,
        actor=coord,
        name=SAMPLE_QUEUE,
        form=form,
        calls=calls,
        reviewers=[reviewer],
        how={"mode": "demo", "since": str(dt.date.today())},
    )
    return "created the sample form and a queue of 6 calls for qa"
