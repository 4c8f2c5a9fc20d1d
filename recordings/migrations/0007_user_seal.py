"""Each user carries a keyed seal over their reach (accounts.seal); every existing user is
sealed here, with the key in settings at migrate time, so existing deployments keep working.

The seal is computed by accounts.seal itself: a migration's own copy could drift from the
form the running app verifies. It reads only through the historical models it is given."""

from typing import Any

from django.db import migrations, models


def seal_every_user(apps: Any, schema_editor: Any) -> None:
    from accounts import seal

    seal.reseal_all(apps.get_model("recordings", "User"))


class Migration(migrations.Migration):
    dependencies = [
        ("recordings", "0006_user_extensions"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="seal",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                editable=False,
                max_length=100,
                verbose_name="selo da conta",
            ),
        ),
        migrations.RunPython(seal_every_user, migrations.RunPython.noop, elidable=False),
    ]
