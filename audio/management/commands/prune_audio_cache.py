from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from audio.cache import get_cache


class Command(BaseCommand):
    help = (
        "Delete cached recordings older than AUDIO_CACHE_HOURS and the least recently used "
        "beyond AUDIO_CACHE_MB. Each download prunes too; run this from cron (hourly) so an "
        "idle portal keeps no recording past its age."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = get_cache().prune()
        self.stdout.write(f"expired: {result['expired']}, evicted: {result['evicted']}")
