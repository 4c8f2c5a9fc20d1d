"""The deletion workflow's models, moved from ``recordings`` with their tables (state only)."""

from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def move_content_types(apps: Any, schema_editor: Any) -> None:
    """Keep the content types (and the permissions that hang on them) of the moved models."""
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in ("deletionrequest", "deletionitem"):
        if not content_type.objects.filter(app_label="deletions", model=model).exists():
            content_type.objects.filter(app_label="recordings", model=model).update(
                app_label="deletions"
            )


class Migration(migrations.Migration):
    initial = True
    dependencies = [
        ("recordings", "0004_move_audit_and_deletions"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="DeletionRequest",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("ids", "gravações escolhidas"),
                                    ("filter", "todas as gravações do filtro"),
                                ],
                                max_length=8,
                                verbose_name="tipo",
                            ),
                        ),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("pending", "aguardando aprovação"),
                                    ("approved", "aprovado, na fila"),
                                    ("running", "excluindo"),
                                    ("done", "concluído"),
                                    ("partial", "concluído em parte"),
                                    ("failed", "falhou"),
                                    ("rejected", "rejeitado"),
                                    ("cancelled", "cancelado"),
                                    ("expired", "expirado"),
                                    ("stale", "desatualizado"),
                                ],
                                db_index=True,
                                default="pending",
                                max_length=10,
                                verbose_name="situação",
                            ),
                        ),
                        ("requested_at", models.DateTimeField(verbose_name="pedido em")),
                        ("reason", models.TextField(verbose_name="motivo")),
                        (
                            "customer_id",
                            models.PositiveIntegerField(
                                blank=True, null=True, verbose_name="assinante"
                            ),
                        ),
                        (
                            "filters",
                            models.JSONField(blank=True, default=dict, verbose_name="filtro"),
                        ),
                        (
                            "snapshot",
                            models.JSONField(default=dict, verbose_name="retrato no pedido"),
                        ),
                        ("expires_at", models.DateTimeField(verbose_name="expira em")),
                        (
                            "decided_at",
                            models.DateTimeField(blank=True, null=True, verbose_name="decidido em"),
                        ),
                        (
                            "decision_note",
                            models.TextField(blank=True, verbose_name="observação da decisão"),
                        ),
                        (
                            "started_at",
                            models.DateTimeField(blank=True, null=True, verbose_name="início"),
                        ),
                        (
                            "finished_at",
                            models.DateTimeField(blank=True, null=True, verbose_name="fim"),
                        ),
                        ("runs", models.PositiveIntegerField(default=0, verbose_name="execuções")),
                        (
                            "decided_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="decidido por",
                            ),
                        ),
                        (
                            "requested_by",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="pedido por",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "recordings_deletionrequest",
                        "verbose_name": "pedido de exclusão",
                        "verbose_name_plural": "pedidos de exclusão",
                        "ordering": ("-requested_at",),
                        "default_permissions": ("view",),
                    },
                ),
                migrations.CreateModel(
                    name="DeletionItem",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("record_id", models.PositiveBigIntegerField()),
                        (
                            "outcome",
                            models.CharField(
                                choices=[
                                    ("pending", "a excluir"),
                                    ("sending", "enviado ao Vono"),
                                    ("deleted", "excluída"),
                                    ("absent", "já não existia"),
                                    ("unknown", "resultado desconhecido"),
                                    ("failed", "falhou"),
                                ],
                                default="pending",
                                max_length=8,
                            ),
                        ),
                        ("detail", models.CharField(blank=True, max_length=300)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "request",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="items",
                                to="deletions.deletionrequest",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "recordings_deletionitem",
                        "ordering": ("record_id",),
                        "default_permissions": (),
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, migrations.RunPython.noop),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddConstraint(
                    model_name="deletionitem",
                    constraint=models.UniqueConstraint(
                        fields=("request", "record_id"), name="one_item_per_record"
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
