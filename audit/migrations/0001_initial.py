"""The audit log's models, moved from ``recordings`` with their tables (state only)."""

from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def move_content_types(apps: Any, schema_editor: Any) -> None:
    """Keep the content types (and the permissions that hang on them) of the moved models."""
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in ("auditevent", "auditchainhead"):
        if not content_type.objects.filter(app_label="audit", model=model).exists():
            content_type.objects.filter(app_label="recordings", model=model).update(
                app_label="audit"
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
                    name="AuditChainHead",
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
                        ("seq", models.PositiveBigIntegerField(default=0)),
                        (
                            "hash",
                            models.CharField(
                                default="0000000000000000000000000000000000000000000000000000000000000000",
                                max_length=64,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "recordings_auditchainhead",
                        "default_permissions": (),
                    },
                ),
                migrations.CreateModel(
                    name="AuditEvent",
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
                        ("created_at", models.DateTimeField(db_index=True, verbose_name="quando")),
                        (
                            "actor_username",
                            models.CharField(blank=True, max_length=150, verbose_name="usuário"),
                        ),
                        (
                            "action",
                            models.CharField(
                                choices=[
                                    ("login", "entrada"),
                                    ("login_failed", "entrada recusada"),
                                    ("logout", "saída"),
                                    ("search", "consulta"),
                                    ("export", "exportação"),
                                    ("play", "reprodução"),
                                    ("download", "download"),
                                    ("access_denied", "acesso negado"),
                                    ("deletion_requested", "exclusão pedida"),
                                    ("deletion_approved", "exclusão aprovada"),
                                    ("deletion_rejected", "exclusão rejeitada"),
                                    ("deletion_cancelled", "exclusão cancelada"),
                                    ("deletion_expired", "exclusão expirada"),
                                    ("deletion_started", "exclusão iniciada"),
                                    ("deletion_finished", "exclusão concluída"),
                                ],
                                db_index=True,
                                max_length=32,
                                verbose_name="ação",
                            ),
                        ),
                        (
                            "record_ids",
                            models.JSONField(blank=True, default=list, verbose_name="gravações"),
                        ),
                        (
                            "customer_id",
                            models.PositiveIntegerField(
                                blank=True, null=True, verbose_name="assinante"
                            ),
                        ),
                        (
                            "details",
                            models.JSONField(blank=True, default=dict, verbose_name="detalhes"),
                        ),
                        (
                            "ip",
                            models.GenericIPAddressField(blank=True, null=True, verbose_name="IP"),
                        ),
                        (
                            "user_agent",
                            models.CharField(blank=True, max_length=300, verbose_name="navegador"),
                        ),
                        (
                            "request_id",
                            models.CharField(blank=True, max_length=64, verbose_name="requisição"),
                        ),
                        (
                            "outcome",
                            models.CharField(default="ok", max_length=32, verbose_name="resultado"),
                        ),
                        (
                            "seq",
                            models.PositiveBigIntegerField(unique=True, verbose_name="sequência"),
                        ),
                        ("prev_hash", models.CharField(max_length=64)),
                        ("hash", models.CharField(max_length=64, unique=True)),
                        (
                            "actor",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="quem",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "recordings_auditevent",
                        "verbose_name": "evento de auditoria",
                        "verbose_name_plural": "eventos de auditoria",
                        "ordering": ("-seq",),
                        "default_permissions": ("view",),
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, migrations.RunPython.noop),
    ]
