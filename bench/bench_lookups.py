"""Checking N explicit ids (a deletion request created, opened or approved) at 100 ms latency.

The API looks up one ``id_record`` per call. Baseline: ``VonoClient.get_recordings`` with one
call per id, VONO_LOOKUP_CONCURRENCY at a time (the way before the index placed ids).
Now: ``index.selectors.recordings_by_id``, which lists the windows of time where the index
says the recordings were made (one call per window) and looks up the rest one by one.
Both in the same run, against the simulator with a 100 ms latency fault on every list call,
on a fresh SQLite database whose index holds the simulator's 2,400 recordings.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from harness import KEY, ROOT, TOKEN, simulator

sys.path.insert(0, str(ROOT))


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="vonobench-lookups-"))
    with simulator() as port:
        base = f"http://127.0.0.1:{port}"
        os.environ.update(
            {
                "DJANGO_SETTINGS_MODULE": "vonoportal.settings",
                "SECRET_KEY": "bench",
                "AUDIT_HMAC_KEY": "bench-audit-key",
                "DATABASE_URL": os.environ.get(
                    "BENCH_DATABASE_URL", f"sqlite:///{workdir}/bench.sqlite3"
                ),
                "VONO_BASE_URL": f"{base}/api",
                "VONO_API_TOKEN": TOKEN,
                "VONO_API_KEY": KEY,
                "VONO_READ_TIMEOUT": "60",
                "LOG_LEVEL": "WARNING",
            }
        )
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.utils import timezone

        from index import selectors, sync
        from recordings import vono

        call_command("migrate", verbosity=0)
        client = vono.get_client()
        recordings = list(client.iter_recordings(vono.RecordingFilter()))
        sync.upsert_page(recordings, timezone.now())  # the index after a full sync
        newest = [r.record_id for r in recordings[:500]]
        outside = recordings[:1000] + recordings[1500:]
        spread = sorted(random.Random(9).sample([r.record_id for r in outside], 500))
        day_of = {r.record_id: r.calldate.date() for r in recordings}
        # 50 of another 500 deleted on the upstream after they were indexed.
        others = [r.record_id for r in recordings[1000:1500]]
        gone = set(others[::10])
        for record_id in gone:
            request = urllib.request.Request(
                f"{base}/api/recording/{TOKEN}/{KEY}?type=id&ids[]={record_id}", method="DELETE"
            )
            urllib.request.urlopen(request).close()
        fault = json.dumps({"kind": "latency", "target": "list", "seconds": 0.1}).encode()
        urllib.request.urlopen(urllib.request.Request(f"{base}/_sim/faults", data=fault))

        def calls() -> int:
            with urllib.request.urlopen(f"{base}/_sim/stats") as r:
                return int(json.loads(r.read())["requests"].get("list", 0))

        concurrency = settings.VONO_LOOKUP_CONCURRENCY
        results: dict[str, dict[str, float]] = {}
        for name, ids in (
            ("newest", newest),
            ("at random", spread),
            ("50 gone upstream", others),
        ):
            present = len(set(ids) - gone)
            case = f"{len(ids)} {name}, {len({day_of[i] for i in ids})} days"
            for label, check in (
                (
                    f"one call per id, {concurrency} at a time (before)",
                    lambda ids=ids: client.get_recordings(ids, concurrency=concurrency),
                ),
                (
                    "windows from the index (now)",
                    lambda ids=ids: selectors.recordings_by_id(ids, customer_id=None),
                ),
            ):
                before = calls()
                started = time.perf_counter()
                found = check()
                elapsed = time.perf_counter() - started
                assert len(found) == present, (case, label, len(found))
                sent = calls() - before
                results[f"{case} / {label}"] = {"seconds": round(elapsed, 2), "calls": sent}
                print(f"{case:<30} {label:<42} {elapsed:6.2f} s {sent:4d} calls", flush=True)
        load = os.getloadavg()
        print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        out = Path(ROOT / "bench" / "results")
        out.mkdir(exist_ok=True)
        (out / "lookups.json").write_text(json.dumps({"results": results, "load": load}, indent=2))


if __name__ == "__main__":
    main()
