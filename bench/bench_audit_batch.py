"""A ZIP's download events: one ``record_event`` per file against one ``record_events``.

Before its first byte, a ZIP of N recordings writes N audit events (one per file, each a
download). Both ways write the same events in one transaction; they differ in round trips
(one head lock, insert and head update per event, or one of each per batch). Alternated,
BENCH_ROUNDS rounds, on SQLite (a fresh file) and, with BENCH_DATABASE_URL, PostgreSQL.

    cd bench && BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/vp_audit_bench \\
        ../.venv/bin/python bench_audit_batch.py

The database named is migrated and written to. Results: bench/results/audit_batch.json.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import AUDIT_KEY, PYTHON, ROOT

FILES = (200, 500)
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def child(database_url: str) -> dict[str, object]:
    """Runs in its own process (one database per Django setup); prints its figures."""
    os.environ.update(
        {
            "SECRET_KEY": secrets.token_urlsafe(40),
            "AUDIT_HMAC_KEY": AUDIT_KEY,
            "AUDIT_CHECKPOINT_DIR": tempfile.mkdtemp(prefix="bench-checkpoints-"),
            "DEBUG": "false",
            "DATABASE_URL": database_url,
            "VONO_BASE_URL": "http://127.0.0.1:9/api",
            "VONO_API_TOKEN": "t",
            "VONO_API_KEY": "k",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "vonoportal.settings",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from audit import services as audit

    call_command("migrate", verbosity=0)

    def details(n: int, files: int) -> dict[str, object]:
        return {"zip": "2026-12-01_gravacoes.zip", "files": files, "n": n}

    def one_by_one(files: int) -> None:
        with transaction.atomic():
            for n in range(files):
                audit.record_event(
                    action=audit.Action.DOWNLOAD,
                    record_ids=[n],
                    customer_id=7,
                    details=details(n, files),
                )

    def together(files: int) -> None:
        audit.record_events(
            action=audit.Action.DOWNLOAD,
            entries=[([n], 7, details(n, files)) for n in range(files)],
        )

    figures: dict[str, object] = {}
    for files in FILES:
        samples: dict[str, list[float]] = {"one_by_one": [], "together": []}
        for _ in range(ROUNDS):
            for name, write in (("one_by_one", one_by_one), ("together", together)):
                started = time.perf_counter()
                write(files)
                samples[name].append(time.perf_counter() - started)
        figures[str(files)] = {
            name: round(sorted(values)[len(values) // 2] * 1000, 1)
            for name, values in samples.items()
        }
    verified = audit.verify_chain()
    figures["chain_intact"] = verified.broken is None
    return figures


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2])))
        return
    databases = {"sqlite": f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"}
    if os.environ.get("BENCH_DATABASE_URL"):
        databases["postgresql"] = os.environ["BENCH_DATABASE_URL"]
    results: dict[str, object] = {"rounds": ROUNDS, "load_average": os.getloadavg()}
    for name, url in databases.items():
        run = subprocess.run(
            [PYTHON, __file__, "--child", url], check=True, capture_output=True, text=True
        )
        results[name] = json.loads(run.stdout.strip().splitlines()[-1])
        print(name, results[name], flush=True)
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "audit_batch.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
