from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AudioConfig(AppConfig):
    name = "audio"
    verbose_name = _("Áudio")

    def ready(self) -> None:
        from audio import cache

        cache.connect_settings_signal()
