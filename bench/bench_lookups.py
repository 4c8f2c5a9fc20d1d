"""Checking N explicit ids (a deletion request created, opened or approved) at 100 ms latency.

Each id is one list call (the API looks up one ``id_record`` at a time). Before: one call
after another. Now: ``VonoClient.get_recordings`` runs them VONO_LOOKUP_CONCURRENCY at a time.
Both in the same run, against the simulator with a 100 ms latency fault on every list call.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from pathlib import Path

from harness import KEY, ROOT, TOKEN, simulator

sys.path.insert(0, str(ROOT))


def main() -> None:
    with simulator() as port:
        base = f"http://127.0.0.1:{port}"
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "vonoportal.settings",
                "SECRET_KEY": "bench",
                "AUDIT_HMAC_KEY": "bench-audit-key",
                "VONO_BASE_URL": f"{base}/api",
                "VONO_API_TOKEN": TOKEN,
                "VONO_API_KEY": KEY,
            }
        )
        import django

        django.setup()
        from django.conf import settings

        from recordings import vono

        with urllib.request.urlopen(f"{base}/api/recording/{TOKEN}/{KEY}?limit=500") as r:
            ids = [row["record_id"] for row in json.loads(r.read())["data"]]
        fault = json.dumps({"kind": "latency", "target": "list", "seconds": 0.1}).encode()
        urllib.request.urlopen(urllib.request.Request(f"{base}/_sim/faults", data=fault))
        client = vono.get_client()
        results = {}
        for label, count, concurrency in (
            ("sequential (before)", 500, 1),
            ("VONO_LOOKUP_CONCURRENCY=8", 500, 8),
            ("VONO_LOOKUP_CONCURRENCY=16", 500, 16),
            ("VONO_LOOKUP_CONCURRENCY=32", 500, 32),
            (f"VONO_LOOKUP_CONCURRENCY={settings.VONO_LOOKUP_CONCURRENCY} (default)", 500, 48),
        ):
            started = time.perf_counter()
            found = client.get_recordings(ids[:count], concurrency=concurrency)
            elapsed = time.perf_counter() - started
            assert len(found) == count
            results[label] = round(elapsed, 2)
            print(f"{label:<45} {count} ids: {elapsed:6.2f} s", flush=True)
        out = Path(ROOT / "bench" / "results")
        out.mkdir(exist_ok=True)
        (out / "lookups.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
