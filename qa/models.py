"""Quality review of calls: notes on a recording's timeline, scorecards (evaluation forms,
versioned), evaluations, and review queues.

Recordings live on Vono: these rows name them by ``record_id`` and keep the subscriber
(``customer_id``) and the agent's extension as they were when the row was written, so scope
checks and reports never need the upstream. Rows are written only by ``qa.services``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Note(models.Model):
    """A reviewer's remark at one moment of a call."""

    record_id = models.PositiveBigIntegerField(_("gravação"), db_index=True)
    customer_id = models.PositiveIntegerField(_("assinante"), null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("autor"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    at_ms = models.PositiveIntegerField(_("momento (ms)"))
    text = models.TextField(_("texto"), max_length=2000)
    tag = models.CharField(_("marcador"), max_length=40, blank=True)
    created_at = models.DateTimeField(_("criada em"))
    updated_at = models.DateTimeField(_("alterada em"))

    class Meta:
        verbose_name = _("anotação")
        verbose_name_plural = _("anotações")
        default_permissions = ()
        permissions = [("annotate_recording", _("Pode anotar gravações"))]
        ordering = ("record_id", "at_ms", "pk")

    def __str__(self) -> str:
        return f"{self.record_id}@{self.at_ms}ms"


class ScoreForm(models.Model):
    """An evaluation form ("scorecard"); its content lives in its versions."""

    name = models.CharField(_("nome"), max_length=120)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("criado em"))

    class Meta:
        verbose_name = _("formulário de avaliação")
        verbose_name_plural = _("formulários de avaliação")
        default_permissions = ()
        permissions = [
            ("manage_forms", _("Pode definir formulários de avaliação e reabrir avaliações")),
            ("evaluate_recording", _("Pode avaliar gravações")),
            ("build_queue", _("Pode montar filas de revisão")),
            ("view_qa_reports", _("Pode ver relatórios de qualidade")),
        ]
        ordering = ("name", "pk")

    def __str__(self) -> str:
        return self.name


class FormVersion(models.Model):
    """One version of a form. A draft may change; once published it never does: editing it
    makes the next version, and evaluations keep the version they were filled with."""

    form = models.ForeignKey(ScoreForm, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("versão"))
    # The coordinator's text, kept as written (qa.scoring.parse_definition reads it).
    definition = models.TextField(_("definição"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("criada em"))
    published_at = models.DateTimeField(_("publicada em"), null=True, blank=True)

    class Meta:
        default_permissions = ()
        ordering = ("form", "-number")
        constraints = [
            models.UniqueConstraint(fields=["form", "number"], name="qa_version_number"),
        ]

    def __str__(self) -> str:
        return f"{self.form} v{self.number}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class Section(models.Model):
    version = models.ForeignKey(FormVersion, on_delete=models.CASCADE, related_name="sections")
    position = models.PositiveIntegerField()
    title = models.CharField(_("seção"), max_length=120)

    class Meta:
        default_permissions = ()
        ordering = ("version", "position")

    def __str__(self) -> str:
        return self.title


class Criterion(models.Model):
    class Kind(models.TextChoices):
        YES_NO = "yes_no", _("sim / não / não se aplica")
        SCALE = "scale", _("0 a 10")

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="criteria")
    position = models.PositiveIntegerField()
    text = models.CharField(_("critério"), max_length=200)
    weight = models.PositiveIntegerField(_("peso"))
    kind = models.CharField(_("tipo de resposta"), max_length=8, choices=Kind.choices)
    critical = models.BooleanField(_("crítico"), default=False)

    class Meta:
        default_permissions = ()
        ordering = ("section__position", "position")

    def __str__(self) -> str:
        return self.text


class Evaluation(models.Model):
    """One reviewer's evaluation of one recording, with the form version it was filled with."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("rascunho")
        SUBMITTED = "submitted", _("enviada")

    record_id = models.PositiveBigIntegerField(_("gravação"), db_index=True)
    customer_id = models.PositiveIntegerField(_("assinante"), null=True, blank=True)
    extension = models.CharField(_("ramal"), max_length=80, blank=True)
    calldate = models.DateTimeField(_("data da chamada"))
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revisor"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    version = models.ForeignKey(FormVersion, on_delete=models.PROTECT, related_name="evaluations")
    status = models.CharField(
        _("situação"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    # 0–100, computed by qa.scoring on submission; None while a draft, or when every
    # criterion was "not applicable".
    score = models.DecimalField(_("nota"), max_digits=5, decimal_places=2, null=True, blank=True)
    critical_failed = models.BooleanField(_("falha crítica"), default=False)
    comment = models.TextField(_("comentário"), max_length=4000, blank=True)
    created_at = models.DateTimeField(_("criada em"))
    updated_at = models.DateTimeField(_("alterada em"))
    submitted_at = models.DateTimeField(_("enviada em"), null=True, blank=True)

    class Meta:
        verbose_name = _("avaliação")
        verbose_name_plural = _("avaliações")
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["record_id", "reviewer"], name="qa_one_per_reviewer"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(submitted_at__isnull=False),
                name="qa_submitted_has_time",
            ),
        ]
        indexes = [models.Index(fields=["customer_id", "extension", "submitted_at"])]

    def __str__(self) -> str:
        return f"{self.record_id} {self.reviewer_id} {self.status}"


class Answer(models.Model):
    """``value``: "yes", "no", "na", or "0".."10"."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="answers")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="+")
    value = models.CharField(max_length=3)

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "criterion"], name="qa_one_answer"),
        ]

    def __str__(self) -> str:
        return f"{self.evaluation_id}:{self.criterion_id}={self.value}"


class ReviewQueue(models.Model):
    """A sample of calls to review, split among reviewers, all with one form."""

    name = models.CharField(_("nome"), max_length=120)
    form = models.ForeignKey(ScoreForm, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The builder's scope: a scoped supervisor samples (and sees) only their subscriber.
    customer_id = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(_("criada em"))
    how = models.JSONField(default=dict, blank=True)  # the sample's recipe, for people

    class Meta:
        verbose_name = _("fila de revisão")
        verbose_name_plural = _("filas de revisão")
        default_permissions = ()
        ordering = ("-created_at", "-pk")

    def __str__(self) -> str:
        return self.name


class QueueItem(models.Model):
    queue = models.ForeignKey(ReviewQueue, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    record_id = models.PositiveBigIntegerField()
    customer_id = models.PositiveIntegerField(null=True, blank=True)
    extension = models.CharField(max_length=80, blank=True)
    calldate = models.DateTimeField()
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        default_permissions = ()
        ordering = ("queue", "position")
        constraints = [
            models.UniqueConstraint(fields=["queue", "record_id"], name="qa_queue_once"),
        ]
        indexes = [models.Index(fields=["assignee", "queue", "position"])]

    def __str__(self) -> str:
        return f"{self.queue_id}#{self.position} {self.record_id}"
