"""Deletion requests against an upstream that caps ``limit``: the preview and the approval
still see every recording (the list pages and the export have their own capped runs)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from deletions import services as deletions
from deletions.models import DeletionItem
from recordings import vono
from tests.conftest import make_user
from tests.simulator import SimulatorProcess


def _all_ids(sim: SimulatorProcess, query: str, path: str = "") -> list[int]:
    ids: list[int] = []
    while True:
        page = sim.list(f"{query}&start={len(ids)}&limit=500", path=path)
        ids += [r["record_id"] for r in page["data"]]
        if not page["data"] or len(ids) >= page["total_records"]:
            return ids


@pytest.mark.parametrize("cap", [5, 50])
def test_the_filter_preview_shows_its_rows_under_a_cap(
    supervisor_client: Client, sim: SimulatorProcess, cap: int
) -> None:
    sim.configure(max_limit=cap)
    response = supervisor_client.get("/deletions/new?all=1&date_ini=&date_end=")
    assert response.status_code == 200
    preview = response.context["preview"]
    assert preview.count == 2400
    first_ten = _all_ids(sim, "date_ini=&date_end=")[:10]
    assert [row["record_id"] for row in preview.rows] == first_ten


def test_a_filter_becomes_every_explicit_id_under_a_cap(db: None, sim: SimulatorProcess) -> None:
    sim.configure(max_limit=50)
    asker, approver = make_user("s-cap", "Supervisores"), make_user("a-cap", "Administradores")
    end = timezone.localdate() - dt.timedelta(days=2)
    start = end - dt.timedelta(days=9)
    filters = vono.RecordingFilter(date_ini=start, date_end=end, customer_id=3)
    deletion = deletions.deletion_request_create(actor=asker, reason="cap", filters=filters)
    expected = _all_ids(sim, f"date_ini={start}&date_end={end}", path="/3")
    assert len(expected) > 50, "more than one capped page"
    options: dict[str, Any] = {"typed_count": str(deletion.count), "auth_age_seconds": 5.0}
    deletions.deletion_request_approve(deletion_id=deletion.pk, actor=approver, **options)
    assert sorted(DeletionItem.objects.values_list("record_id", flat=True)) == sorted(expected)
