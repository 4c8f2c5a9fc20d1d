from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecordingsConfig(AppConfig):
    name = "recordings"
    verbose_name = _("Gravações")

    def ready(self) -> None:
        from recordings import checks, signals, vono  # noqa: F401 - checks register on import
        from recordings.redaction import install_record_redaction

        install_record_redaction()
        vono.connect_settings_signal()
        signals.connect()
